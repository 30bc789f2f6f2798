"""Raw ASGI handling of OsmAnd requests (no framework on the hot path: it must reach ≥10k fixes/s).

Answers are the app's one problem+json shape (geo_api.errors.problem_bytes); the per-device rate is the app's
one token bucket (geo_api.ratelimit.TokenBuckets, held by the FleetRuntime).
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import psycopg

from geo_api import metrics
from geo_api.errors import ServiceUnavailable, problem_bytes
from geo_api.fleet.runtime import FleetRuntime
from ingestion.fleet_writer import FixRejected, is_transient
from ingestion.osmand import DecodeError, Fix, decode_request

log = logging.getLogger("satupeta.fleet")

MAX_BODY = 64 * 1024


class Answer(NamedTuple):
    """What the ingest answers: status, and for errors the problem detail, parameter and extra headers."""

    status: int
    detail: str = ""
    parameter: str | None = None
    headers: tuple[tuple[bytes, bytes], ...] = ()


OK = Answer(200)


async def ingest(rt: FleetRuntime, query_string: str, body: bytes, content_type: str | None) -> Answer:
    """Decode, check the device and its rate, and wait for the group commit: the whole OsmAnd exchange."""
    try:
        fix = decode_request(query_string, body, content_type)
    except DecodeError as exc:
        return Answer(400, exc.detail, exc.parameter)
    try:
        return await _accept(rt, fix)
    except Exception as exc:
        if is_transient(exc):
            return Answer(503, "The fix was not stored; retry.", None, ((b"retry-after", b"1"),))
        if isinstance(exc, FixRejected):
            return Answer(400, exc.detail, exc.parameter)
        raise


async def _accept(rt: FleetRuntime, fix: Fix) -> Answer:
    try:
        denied = await rt.trackers.check(fix)
        device_id = await rt.device_id(fix.unique_id)
    except ServiceUnavailable as exc:
        raise psycopg.OperationalError(exc.detail) from exc
    if denied is not None:
        return Answer(denied[0], denied[1], "key")
    if device_id is None:
        if rt.settings.fleet_unknown_device == "hold":
            await rt.hold(fix)
            return OK
        # Traccar answers 400 to the query/form and 404 to the JSON form for an unknown device.
        return Answer(404 if fix.json_form else 400, f"Unknown device {fix.unique_id!r}: register it first",
                      "device_id" if fix.json_form else "id")
    wait = rt.throttle(fix.unique_id)
    if wait is not None:
        return Answer(429, "Too many fixes from this device; slow down.", "id",
                      ((b"retry-after", str(max(1, round(wait))).encode()),))
    await rt.writer.submit(device_id, fix)
    return OK


async def _read_body(receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            return b""
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not msg.get("more_body"):
            return b"".join(chunks)


async def _respond(send, answer: Answer, path: str) -> None:
    if answer.status == 200:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
        return
    body = problem_bytes(answer.status, answer.detail, instance=path, parameter=answer.parameter)
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
               *answer.headers]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def handle_osmand(rt: FleetRuntime, scope, receive, send) -> None:
    """Answer one OsmAnd request: GET or POST (query, form or JSON body), 200 once its batch has committed."""
    method = scope["method"]
    path = scope.get("path", "/")
    if method not in ("GET", "POST", "HEAD"):
        await _respond(send, Answer(405, f"{method} is not accepted; use GET or POST", None,
                                    ((b"allow", b"GET, POST"),)), path)
        return
    body = b""
    if method == "POST":
        body = await _read_body(receive)
        if body is None:
            await _respond(send, Answer(413, f"body: larger than {MAX_BODY} bytes", "body"), path)
            return
    ctype = None
    for k, v in scope.get("headers", ()):
        if k == b"content-type":
            ctype = v.decode("latin-1")
            break
    try:
        answer = await ingest(rt, scope.get("query_string", b"").decode("latin-1"), body, ctype)
    except Exception:
        log.exception("OsmAnd ingest failed")
        answer = Answer(500, "An unexpected error occurred; it has been logged.")
    metrics.osmand_answer(answer.status, answer.detail)
    await _respond(send, answer, path)


class OsmAndFastPath:
    """ASGI middleware of the main app: `/osmand` is answered here, before routing (the hot path)."""

    def __init__(self, app, path: str = "/osmand"):
        self.app = app
        self.path = path

    async def __call__(self, scope, receive, send) -> None:
        """Serve OsmAnd requests with the app's FleetRuntime; pass everything else on."""
        if scope["type"] == "http" and scope["path"] == self.path:
            await handle_osmand(scope["app"].state.services.fleet, scope, receive, send)
        else:
            await self.app(scope, receive, send)
