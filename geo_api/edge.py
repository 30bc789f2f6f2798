"""The HTTP edge: what every request passes before any router, and how the server itself is configured.

- `EdgeMiddleware` (outermost ASGI middleware):
  * client address: `X-Forwarded-For` is honoured only when the socket peer is one of `trusted_proxies`
    (empty by default), so the rate limiter and the audit log see the real peer otherwise;
  * CORS: public reads (GET/HEAD and their preflights) from any origin, writes (and their preflights) only from
    `cors_write_origins`; a write whose Origin is neither configured nor the server's own is refused (403);
  * bodies: every body, chunked or not, is read completely and capped *before* the app sees it (413 naming the
    limit; per-route limits from settings), within `http_body_timeout_s` (408), spooled to disk beyond 1 MiB.
    So no router (and no pooled connection it borrows) ever waits on a slow client; a client that disconnects
    mid-body is one quiet log line.
- `uvicorn_options(settings)`: the server's own settings (no proxy headers of its own, keep-alive timeout,
  header size cap, access log with secret and personal query parameters redacted).
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import logging
import re
import tempfile
import time
from urllib.parse import unquote_to_bytes

import orjson

from geo_api.errors import PROBLEM_TYPE_BASE
from geo_api.open311_format import MAX_BODY as OPEN311_MAX
from geo_api.requestlog import with_request_id
from geo_api.settings import Settings
from layers.ows.exceptions import OwsError, ows_report
from layers.ows.xmlpost import MAX_POST as OWS_MAX_POST

log = logging.getLogger("satupeta.edge")

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
READ_METHODS = frozenset({"GET", "HEAD"})
_SPOOL_MEMORY = 1024 * 1024  # bodies above this wait on disk, not in memory
_REPLAY_CHUNK = 64 * 1024
ALLOW_HEADERS = "Accept, Accept-Language, Content-Type, X-API-Key, Authorization, Last-Event-ID, If-None-Match"
EXPOSE_HEADERS = "Link, ETag, Retry-After, Content-Crs, X-Geocode-Errors, OGC-NumberMatched, OGC-NumberReturned"


# ---------------------------------------------------------------------------------------------------- limits
# Routes that take photos (multipart `media`): POST requests.{json,xml}, an OPD's status change, the citizen form
# /lapor and the reporter's comment /lacak/{id}/komentar
PHOTO_ROUTES = re.compile(r"^/open311/v2/requests\.(json|xml)$|^/routing/laporan/[0-9]{1,18}/status$"
                          r"|^/lapor$|^/lacak/[0-9]{1,18}/komentar$")


def photo_body_max(settings: Settings) -> int:
    """The largest body of a route that takes photos: every photo at its largest, plus the form's fields."""
    return settings.media_max_files * (settings.media_max_bytes + 1024) + OPEN311_MAX


def photo_limit_hint(settings: Settings) -> str:
    """The sentence a 413 on a photo route adds, so the citizen app can say what to send instead."""
    return (f" Photos: at most {settings.media_max_files} files (media) of at most {settings.media_max_bytes} "
            f"bytes each, JPEG, PNG or WebP.")


def body_limits(settings: Settings) -> list[tuple[str, int]]:
    """(path prefix, most bytes) for the routes that accept more than the default; longest prefix first.
    (A multipart body on a PHOTO_ROUTES path has photo_body_max instead.)"""
    table = [
        ("/layers", settings.layers_upload_max_mb * 1024 * 1024),
        ("/geocode/reverse/batch", settings.geocode_batch_max_bytes),
        ("/open311/", OPEN311_MAX),
        ("/ows", OWS_MAX_POST),
    ]
    return sorted(table, key=lambda t: -len(t[0]))


def limit_for(path: str, table: list[tuple[str, int]], default: int) -> int:
    """The body limit of a path: the longest matching prefix of the table, else the default."""
    for prefix, limit in table:
        if path.startswith(prefix):
            return limit
    return default


# ---------------------------------------------------------------------------------------------------- helpers
def _header(scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return v.decode("latin-1")
    return None


def _networks(values) -> tuple:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def _in(addr: str | None, nets: tuple) -> bool:
    if not addr or not nets:
        return False
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in n for n in nets)


def real_client(peer: str | None, xff: str | None, proxies: tuple) -> str | None:
    """The client address: the socket peer, unless it is a trusted proxy; then the right-most address of
    X-Forwarded-For that is not itself a trusted proxy (what the nearest untrusted hop said)."""
    if not xff or not _in(peer, proxies):
        return peer
    hops = [h.strip() for h in xff.split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a forged or garbled hop: do not guess
        if not _in(hop, proxies):
            return hop
    return hops[0] if hops else peer


async def _send_error(send, path: str, status: int, title: str, detail: str, extra: dict | None = None,
                      headers: list | None = None) -> None:
    if path.startswith("/open311/"):  # the spec's error array, as everywhere under /open311/
        body = orjson.dumps([{"code": status, "description": detail}])
        ctype = b"application/json; charset=utf-8"
    elif path == "/ows":  # WMS/WFS clients read an OWS ExceptionReport, not problem+json
        body, media = ows_report(OwsError("InvalidParameterValue", str((extra or {}).get("parameter") or "request"),
                                          detail, status), "2.0.0")
        ctype = media.encode()
    else:
        doc = {"type": PROBLEM_TYPE_BASE + "-".join(title.lower().split()), "title": title, "status": status,
               "detail": detail, "instance": with_request_id(path), **(extra or {})}
        body = orjson.dumps(doc)
        ctype = b"application/problem+json"
    hdrs = [(b"content-type", ctype), (b"content-length", str(len(body)).encode()), (b"connection", b"close"),
            *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body})


def _nul_parameter(query: bytes) -> str | None:
    """The name of the first query parameter whose name or value holds a NUL, or None."""
    if b"%00" not in query and b"\x00" not in query:
        return None
    for pair in query.split(b"&"):
        name, _, value = pair.partition(b"=")
        if b"\x00" in unquote_to_bytes(name) + unquote_to_bytes(value):
            return unquote_to_bytes(name).replace(b"\x00", b"").decode("utf-8", "replace")[:100] or "query"
    return "query"


class _BodyError(Exception):
    def __init__(self, status: int, title: str, detail: str, extra: dict):
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


class _Disconnected(Exception):
    pass


# ---------------------------------------------------------------------------------------------------- middleware
class EdgeMiddleware:
    """Client address, CORS and bounded bodies for every HTTP request (see the module docstring)."""

    def __init__(self, app, settings: Settings):
        self.app = app
        self.proxies = _networks(settings.trusted_proxies)
        self.write_origins = frozenset(o.rstrip("/") for o in settings.cors_write_origins)
        self.public_reads = settings.cors_public_reads
        self.default_limit = settings.http_body_max_bytes
        self.limits = body_limits(settings)
        self.photo_limit = photo_body_max(settings)
        self.photo_hint = photo_limit_hint(settings)
        self.body_timeout = settings.http_body_timeout_s

    async def __call__(self, scope, receive, send) -> None:
        """Resolve the client, answer preflights, bound the body, then hand on with CORS headers added."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = self._with_client(scope)
        method, path = scope["method"], scope["path"]
        origin = _header(scope, b"origin")
        if origin is not None:
            if method == "OPTIONS" and _header(scope, b"access-control-request-method") is not None:
                await self._preflight(scope, origin, send)
                return
            if method not in READ_METHODS and method != "OPTIONS" and not self._write_allowed(scope, origin):
                await _send_error(send, path, 403, "Forbidden",
                                  f"Writes from origin {origin[:200]!r} are not allowed (cors_write_origins).",
                                  {"parameter": "Origin"})
                return
            send = self._cors_send(scope, send, method, origin)
        nul = _nul_parameter(scope.get("query_string") or b"")
        if nul is not None:  # PostgreSQL text cannot hold NUL: a 400 naming it, not a database error without one
            await _send_error(send, path, 400, "Bad Request", f"{nul}: a NUL character (%00) is not allowed",
                              {"parameter": nul})
            return
        if method in BODY_METHODS:
            try:
                receive = await self._bounded_body(scope, receive)
            except _Disconnected:
                log.info("client %s disconnected before sending the whole body of %s %s",
                         (scope.get("client") or ("-",))[0], method, path)
                return
            except _BodyError as exc:
                await _send_error(send, path, exc.status, exc.title, exc.detail, exc.extra)
                return
        await self.app(scope, receive, send)

    # -- client address
    def _with_client(self, scope):
        client = scope.get("client")
        peer = client[0] if client else None
        real = real_client(peer, _header(scope, b"x-forwarded-for"), self.proxies)
        if real == peer:
            return scope
        return {**scope, "client": (real, 0)}

    # -- CORS
    def _same_origin(self, scope, origin: str) -> bool:
        host = _header(scope, b"host")
        return bool(host) and origin.rstrip("/") in (f"http://{host}", f"https://{host}")

    def _write_allowed(self, scope, origin: str) -> bool:
        return origin.rstrip("/") in self.write_origins or "*" in self.write_origins or \
            self._same_origin(scope, origin)

    def _origin_ok(self, scope, method: str, origin: str) -> bool:
        if method in READ_METHODS:
            return self.public_reads or self._write_allowed(scope, origin)
        return self._write_allowed(scope, origin)

    async def _preflight(self, scope, origin: str, send) -> None:
        wanted = (_header(scope, b"access-control-request-method") or "").strip().upper()
        if not self._origin_ok(scope, wanted, origin):
            await _send_error(send, scope["path"], 403, "Forbidden",
                              f"{wanted or 'This method'} from origin {origin[:200]!r} is not allowed "
                              "(public reads from any origin; writes only from cors_write_origins).",
                              {"parameter": "Origin"})
            return
        methods = "GET, HEAD, OPTIONS" if wanted in READ_METHODS else "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
        headers = [(b"access-control-allow-origin", origin.encode("latin-1")),
                   (b"access-control-allow-methods", methods.encode()),
                   (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
                   (b"access-control-max-age", b"600"), (b"vary", b"Origin"), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    def _cors_send(self, scope, send, method: str, origin: str):
        if method in READ_METHODS and self.public_reads:
            value, vary = b"*", False
        elif self._write_allowed(scope, origin):  # writes from other origins were refused (403) already
            value, vary = origin.encode("latin-1"), True
        else:
            return send  # a read from an unlisted origin with public reads off: no CORS header, browser withholds

        async def cors_send(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"access-control-allow-origin"]
                headers += [(b"access-control-allow-origin", value),
                            (b"access-control-expose-headers", EXPOSE_HEADERS.encode())]
                if vary:
                    headers.append((b"vary", b"Origin"))
                message = {**message, "headers": headers}
            await send(message)

        return cors_send

    # -- bodies
    async def _bounded_body(self, scope, receive):
        path = scope["path"]
        limit = limit_for(path, self.limits, self.default_limit)
        hint = ""
        if PHOTO_ROUTES.match(path) and (_header(scope, b"content-type") or "").lower().startswith("multipart/"):
            limit, hint = self.photo_limit, self.photo_hint  # photos come only as multipart parts
        declared = _header(scope, b"content-length")
        if declared and declared.strip().isdigit() and int(declared) > limit:
            raise _BodyError(413, "Payload Too Large",
                             f"The request body is larger than {limit} bytes, the most accepted here "
                             f"({int(declared)} declared).{hint}",
                             {"parameter": "body", "limit": limit})
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY)
        size = 0
        deadline = time.monotonic() + self.body_timeout
        try:
            while True:
                left = deadline - time.monotonic()
                try:
                    if left <= 0:
                        raise TimeoutError
                    msg = await asyncio.wait_for(receive(), left)
                except TimeoutError:
                    raise _BodyError(408, "Request Timeout",
                                     f"The request body did not arrive within {self.body_timeout:g} s.",
                                     {"parameter": "body", "limit_s": self.body_timeout}) from None
                if msg["type"] == "http.disconnect":
                    raise _Disconnected
                chunk = msg.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise _BodyError(413, "Payload Too Large",
                                     f"The request body is larger than {limit} bytes, the most accepted here."
                                     f"{hint}", {"parameter": "body", "limit": limit})
                spool.write(chunk)
                if not msg.get("more_body"):
                    break
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return _replay(spool, receive)


def _replay(spool, receive):
    """A receive() handing the spooled body on in chunks, then the real stream (for the disconnect)."""
    done = False

    async def replay():
        nonlocal done
        if done:
            return await receive()
        chunk = spool.read(_REPLAY_CHUNK)
        more = bool(chunk) and spool.tell() < _spool_size(spool)
        if not more:
            done = True
            spool.close()
        return {"type": "http.request", "body": chunk, "more_body": more}

    return replay


def _spool_size(spool) -> int:
    pos = spool.tell()
    spool.seek(0, 2)
    end = spool.tell()
    spool.seek(pos)
    return end


# ---------------------------------------------------------------------------------------------------- logging
class RedactFilter(logging.Filter):
    """Replaces the values of secret and personal query parameters in every log line by `***`."""

    def __init__(self, params=None):
        super().__init__()
        from geo_api.settings import get_settings

        names = params if params is not None else get_settings().log_redact_params
        alt = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
        # a name after ? or & (or %3F/%26 escaped), up to the next separator
        self.pattern = re.compile(rf"((?:[?&;]|%3[Ff]|%26)(?:{alt})=)[^&;\s\"']*", re.IGNORECASE)

    def redact(self, text: str) -> str:
        """The text with every listed parameter's value replaced."""
        return self.pattern.sub(r"\1***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the message and its arguments in place; never drops a record."""
        if isinstance(record.msg, str):
            record.msg = self.redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self.redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: self.redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def log_config(settings: Settings) -> dict:
    """uvicorn's logging config with the redaction filter on every handler (server, access, our loggers)."""
    from uvicorn.config import LOGGING_CONFIG

    cfg = copy.deepcopy(LOGGING_CONFIG)
    cfg["filters"] = {"redact": {"()": RedactFilter, "params": list(settings.log_redact_params)}}
    for handler in cfg["handlers"].values():
        handler["filters"] = ["redact"]
    cfg["loggers"]["satupeta"] = {"handlers": ["default"], "level": settings.log_level.upper(),
                                  "propagate": False}
    if settings.log_format == "json":  # one JSON object per line (geo_api.requestlog.JsonFormatter)
        cfg["formatters"] = {name: {"()": "geo_api.requestlog.JsonFormatter"} for name in cfg["formatters"]}
    # everything else (alembic, psycopg, the CLI's modules) goes to the same handler, redacted alike
    cfg["root"] = {"handlers": ["default"], "level": "WARNING"}
    return cfg


def configure_logging(settings: Settings) -> None:
    """The one logging configuration of the server, the OsmAnd listener and the CLI (log_config, applied now)."""
    import logging.config

    logging.config.dictConfig(log_config(settings))


def install_log_redaction(settings: Settings) -> None:
    """Put the redaction filter on every handler of the root logger (the CLI's logging.basicConfig)."""
    flt = RedactFilter(settings.log_redact_params)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactFilter) for f in handler.filters):
            handler.addFilter(flt)


def uvicorn_options(settings: Settings) -> dict:
    """Keyword arguments for uvicorn.run / uvicorn.Config: the server's side of the edge."""
    return {
        "proxy_headers": False,  # EdgeMiddleware decides, from trusted_proxies only
        "timeout_keep_alive": settings.http_keepalive_timeout_s,
        "h11_max_incomplete_event_size": 16 * 1024,  # header block cap (h11)
        "log_config": log_config(settings),
        "log_level": settings.log_level.lower(),
    }
