"""The exception hierarchy and its single mapping to RFC 9457 problem details."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from geo_api.open311_format import render_errors
from geo_api.requestlog import with_request_id

log = logging.getLogger("satupeta.errors")

PROBLEM_TYPE_BASE = "https://satupeta.tangerangkota.go.id/problems/"


class SatuPetaError(Exception):
    """Base error: carries its HTTP status, a problem type and a message safe to show the user."""

    status = 500
    code = "internal-error"
    title = "Internal Server Error"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None, log_message: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}
        self.log_message = log_message


class BadRequest(SatuPetaError):
    """The request is malformed (400)."""

    status, code, title = 400, "bad-request", "Bad Request"


class InvalidParameter(SatuPetaError):
    """A parameter has a value we cannot accept (422); names the parameter."""

    status, code, title = 422, "invalid-parameter", "Invalid Parameter"

    def __init__(self, parameter: str, detail: str, **kw: Any):
        super().__init__(detail, **kw)
        self.extra.setdefault("parameter", parameter)


class NotFound(SatuPetaError):
    """The resource does not exist (404)."""

    status, code, title = 404, "not-found", "Not Found"


class Unauthorized(SatuPetaError):
    """Credentials are missing or wrong (401)."""

    status, code, title = 401, "unauthorized", "Unauthorized"


class Forbidden(SatuPetaError):
    """The caller may not do this (403)."""

    status, code, title = 403, "forbidden", "Forbidden"


class Conflict(SatuPetaError):
    """The resource's state does not allow this (409): a transition its status forbids, a second rating."""

    status, code, title = 409, "conflict", "Conflict"


class PayloadTooLarge(SatuPetaError):
    """The body or query is larger than we accept (413)."""

    status, code, title = 413, "payload-too-large", "Payload Too Large"


class ServiceUnavailable(SatuPetaError):
    """A dependency (the database) is not reachable (503); the client may retry."""

    status, code, title = 503, "service-unavailable", "Service Unavailable"


class DataError(SatuPetaError):
    """Input data (a file to load or publish) is not acceptable; used by the CLI and uploads."""

    status, code, title = 422, "invalid-data", "Invalid Data"


class Open311Error(SatuPetaError):
    """An Open311 GeoReport v2 error: the spec's [{"code", "description"}] (JSON or XML), not problem+json."""

    code = "open311"
    title = "Open311 Error"

    def __init__(self, status: int, detail: str, **kw: Any):
        super().__init__(detail, **kw)
        self.status = status


def _open311_error(request: Request, status: int, detail: str) -> Response:
    """The spec's error array for paths under /open311/ (format from the path suffix; JSON by default)."""
    return render_errors(request.url.path, status, detail)


class ProblemResponse(Response):
    """application/problem+json, serialised with orjson."""

    media_type = "application/problem+json"

    def render(self, content: Any) -> bytes:
        """Serialise the problem document."""
        return orjson.dumps(content, default=str)


# Titles of the statuses raw ASGI paths answer (OsmAnd ingest), so their problems match the framework's.
STATUS_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                 405: "Method Not Allowed", 408: "Request Timeout", 413: "Payload Too Large",
                 422: "Invalid Parameter", 429: "Too Many Requests", 500: "Internal Server Error",
                 503: "Service Unavailable"}


def problem_doc(status: int, title: str, detail: str, *, code: str | None = None, instance: str | None = None,
                **extra: Any) -> dict[str, Any]:
    """The RFC 9457 problem document (extra members with a None value are left out)."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (code or _slug(title)),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = with_request_id(instance)  # the path, with the request's id as its fragment
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem(status: int, title: str, detail: str, *, code: str | None = None, instance: str | None = None,
            **extra: Any) -> ProblemResponse:
    """Build one application/problem+json response (RFC 9457)."""
    return ProblemResponse(problem_doc(status, title, detail, code=code, instance=instance, **extra),
                           status_code=status)


def problem_bytes(status: int, detail: str, *, instance: str | None = None, **extra: Any) -> bytes:
    """The serialised problem document for a raw ASGI answer (title from STATUS_TITLES)."""
    title = STATUS_TITLES.get(status, "Error")
    return orjson.dumps(problem_doc(status, title, detail, instance=instance, **extra), default=str)


def _slug(title: str) -> str:
    return "-".join(title.lower().split()) or "about:blank"


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        where = loc[0] if loc else ""
        name = ".".join(loc[1:]) if len(loc) > 1 else where
        errors.append({"in": where, "name": name, "detail": err.get("msg", "invalid")})
    return errors


def install_error_handlers(app: FastAPI) -> None:
    """Map every error the app can raise to problem+json; nothing leaks as a bare 500 page."""

    @app.exception_handler(SatuPetaError)
    async def _domain(request: Request, exc: SatuPetaError):
        if request.url.path.startswith("/open311/"):
            return _open311_error(request, exc.status, exc.detail)
        if exc.status >= 500:
            log.error("%s: %s", exc.code, exc.log_message or exc.detail)
        return problem(exc.status, exc.title, exc.detail, code=exc.code, instance=request.url.path, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        if request.url.path.startswith("/open311/"):
            return _open311_error(request, 400, "; ".join(f"{e['name']}: {e['detail']}"
                                                          for e in _validation_errors(exc)))
        errors = _validation_errors(exc)
        names = ", ".join(sorted({e["name"] for e in errors if e["name"]})) or "request"
        detail = f"Invalid value for {names}: " + "; ".join(f"{e['name']}: {e['detail']}" for e in errors)
        parameter = next((e["name"] for e in errors if e["name"]), "request")
        return problem(422, "Invalid Parameter", detail, code="invalid-parameter",
                       instance=request.url.path, parameter=parameter, errors=errors)

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect):
        # nobody is left to read an answer: one quiet line, no traceback
        log.info("client disconnected during %s %s", request.method, request.url.path)
        return Response(status_code=499)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith("/open311/"):
            return _open311_error(request, exc.status_code, str(exc.detail))
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        title = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, "HTTP Error")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No resource at {request.url.path}"
        return problem(exc.status_code, title, detail, instance=request.url.path)

    # psycopg.DataError, not errors.DataException: the SQLSTATE 22 classes (NumericValueOutOfRange, ...)
    # derive from the DB-API class, not from DataException.
    @app.exception_handler(psycopg.DataError)
    async def _db_value(request: Request, exc: psycopg.DataError):
        # Safety net: a request value the database cannot hold (a number past bigint, a year 0924 date)
        # is the client's error; routers should have bounded it, so it is logged to be fixed there.
        log.warning("database rejected a request value on %s: %s", request.url.path, str(exc).splitlines()[0])
        detail = f"A value in the request is out of range: {str(exc).splitlines()[0]}"
        if request.url.path.startswith("/open311/"):
            return _open311_error(request, 400, detail)
        return problem(400, "Bad Request", detail, code="bad-request", instance=request.url.path)

    @app.exception_handler(psycopg.OperationalError)
    async def _db_down(request: Request, exc: psycopg.OperationalError):
        log.error("database unavailable on %s: %s", request.url.path, str(exc).splitlines()[0] if str(exc) else exc)
        detail = "The database is not reachable now; retry later."
        if request.url.path.startswith("/open311/"):
            return _open311_error(request, 503, detail)
        return problem(503, "Service Unavailable", detail, code="service-unavailable", instance=request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s", request.url.path)
        return problem(500, "Internal Server Error", "An unexpected error occurred; it has been logged.",
                       code="internal-error", instance=request.url.path)


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "parameter": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
OPEN311_ERRORS_SCHEMA = {
    "type": "array",
    "items": {"type": "object", "required": ["code", "description"],
              "properties": {"code": {"type": "integer"}, "description": {"type": "string"}}},
}


def document_problems(app: FastAPI) -> None:
    """Declare the error responses every operation can give in /openapi.json (problem+json; Open311's array)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema and app.openapi_schema.get("x-problems-documented"):
            return app.openapi_schema
        schema = original()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        problem_content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        open311_content = {"application/json": {"schema": OPEN311_ERRORS_SCHEMA},
                           "application/xml": {"schema": {"type": "string"}}}
        for path, operations in schema.get("paths", {}).items():
            content = open311_content if path.startswith("/open311/") else problem_content
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if "422" in responses:  # FastAPI documents its own validation shape; ours is a problem
                    responses["422"] = {"description": "Invalid parameter", "content": content}
                responses.setdefault("4XX", {"description": "Client error", "content": content})
                responses.setdefault("503", {"description": "Database not reachable; retry later",
                                             "content": content})
        schema["x-problems-documented"] = True
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
