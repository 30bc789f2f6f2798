"""Request ids, one JSON log line per request, the request metrics, and the one logging configuration's formatter.

- `RequestMiddleware` (the outermost ASGI middleware): gives each request an id (a sane `X-Request-ID` from the
  client or a fresh one), answers it in the `X-Request-ID` header, keeps it in a context variable (every log line
  of the request carries it, and problem+json `instance` names it: `/path#request=ID`), times the request and
  counts it under its route template (geo_api.metrics), and logs one JSON line: method, route template, status,
  milliseconds, request id. The raw path and query are not in that line (ids, names, keys); the uvicorn access
  line has them redacted by geo_api.edge.RedactFilter.
- `RouteTag` (the innermost middleware): reads the route FastAPI matched, for the outer one to label by.
- `JsonFormatter`: the JSON-lines formatter of geo_api.edge.log_config (server, listener and CLI alike).
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import time
from typing import Any

import orjson

from geo_api import metrics

log = logging.getLogger("satupeta.request")

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("satupeta_request_id", default=None)
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_HOLDER = "satupeta.request"


def with_request_id(instance: str | None) -> str | None:
    """A problem's `instance`: the path with the request id as its fragment, when a request is being served."""
    rid = request_id.get()
    if not rid or instance is None:
        return instance
    return f"{instance}#request={rid}"


def _incoming_id(scope) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == b"x-request-id":
            text = v.decode("latin-1").strip()
            return text if _SANE_ID.match(text) else None
    return None


class _Holder:
    __slots__ = ("route",)

    def __init__(self):
        self.route: str | None = None


def route_label(scope, holder: _Holder, fixed: tuple[str, ...]) -> str:
    """The bounded route label: the matched template, a fixed fast path, or `unmatched`."""
    if holder.route:
        return holder.route
    path = scope.get("path", "")
    for prefix in fixed:
        if path == prefix:
            return prefix
    return "unmatched"


class RequestMiddleware:
    """Request id, timing, the request metrics and one JSON log line per HTTP request (see the module docstring)."""

    def __init__(self, app, fixed_routes: tuple[str, ...] = ("/osmand", "/")):
        self.app = app
        self.fixed = fixed_routes

    async def __call__(self, scope, receive, send) -> None:
        """Wrap one HTTP request; other scopes pass untouched."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope) or secrets.token_hex(8)
        token = request_id.set(rid)
        holder = _Holder()
        scope = {**scope, _HOLDER: holder}
        started = time.perf_counter()
        status = 500
        header = (b"x-request-id", rid.encode())

        async def tagged_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        try:
            await self.app(scope, receive, tagged_send)
        finally:
            seconds = time.perf_counter() - started
            route = route_label(scope, holder, self.fixed)
            metrics.observe_request(scope["method"], route, status, seconds)
            if route not in self.fixed:  # the GPS hot path is counted, not logged line by line
                log.info("request", extra={"http": {"method": metrics.method_label(scope["method"]),
                                                    "route": route, "status": status,
                                                    "ms": round(seconds * 1000, 2)}})
            request_id.reset(token)


class RouteTag:
    """Innermost middleware: after the router ran, note the route template it matched for RequestMiddleware."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        """Pass on; then read FastAPI's matched route from the scope the router updated."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            holder = scope.get(_HOLDER)
            route = scope.get("route")
            if holder is not None and route is not None:
                holder.route = getattr(route, "path", None)


# ------------------------------------------------------------------------------------------------ logging
_STD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, and any `extra` given."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line (the message already redacted by the handler's RedactFilter)."""
        doc: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id.get()
        if rid:
            doc["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STD and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()

    converter = time.gmtime
