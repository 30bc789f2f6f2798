"""Rate limits on write endpoints, per client address and per API key: token buckets shared in PostgreSQL.

With `ratelimit_shared` (the default) the buckets are rows of the UNLOGGED table ratelimit_bucket, taken by
one atomic upsert per write (sql/queries/ratelimit_take.sql) on the server's clock: the configured rate holds
for the whole deployment (N workers on M machines together allow `ratelimit_key_per_s` per key, not N×M
times it), and an app restart keeps the buckets (a PostgreSQL crash empties the UNLOGGED table: every client
starts again with a full burst). While the database is unreachable each process falls back to its own
in-process buckets (then N processes allow up to N times the rate), as does `ratelimit_shared=false`.
The OsmAnd per-device bucket (`TokenBuckets`, fleet_device_rate) stays per process: with N processes a device
may send N × fleet_device_rate fixes/s at most, and the fix filters (PostgreSQL-backed) flag duplicates anyway.
Reads are not limited here. OsmAnd
ingest (/osmand) is exempt by default: it has its own per-device bucket, and many trucks share a carrier NAT.
Over the limit: 429 with Retry-After, as problem+json (Open311 paths: the spec's error array).
"""

from __future__ import annotations

import logging
import math
import time
from urllib.parse import parse_qs

import orjson

from geo_api.apikeys import key_hash
from geo_api.errors import problem_bytes
from geo_api.settings import Settings
from sql import query

log = logging.getLogger("satupeta.ratelimit")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM = b"application/x-www-form-urlencoded"
_PEEK_MAX = 64 * 1024  # Open311 bodies are at most this large (the router refuses larger ones with 413)


class TokenBuckets:
    """Token buckets by name: `rate` tokens per second up to `burst`; memory bounded by `max_entries`."""

    def __init__(self, rate: float, burst: int, max_entries: int = 100_000):
        self.rate, self.burst, self.max_entries = rate, float(burst), max_entries
        self._b: dict[str, tuple[float, float]] = {}

    def take(self, name: str, now: float | None = None) -> float | None:
        """Take one token: None when allowed, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        tokens, last = self._b.get(name, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._b[name] = (tokens, now)
            return (1.0 - tokens) / self.rate
        if len(self._b) >= self.max_entries and name not in self._b:
            self._prune(now)
        self._b[name] = (tokens - 1.0, now)
        return None

    def _prune(self, now: float) -> None:
        """Forget buckets that have refilled (they would start full anyway); else forget all."""
        full = [k for k, (t, last) in self._b.items() if t + (now - last) * self.rate >= self.burst]
        for k in full:
            del self._b[k]
        if len(self._b) >= self.max_entries:
            self._b.clear()


def key_bucket_name(raw_key: str) -> str:
    """Buckets are named by a hash of the key, so no secret is kept in memory longer than the request.

    The same hash as apikeys.key_hash (shortened); the limiter runs before any handler and does not look the
    key up (apikeys.authenticate does that, in the handler), so an unknown key is limited like a known one.
    """
    return key_hash(raw_key)[:32]


class SharedBuckets:
    """Token buckets in PostgreSQL (ratelimit_bucket), one atomic upsert per take; see the module docstring.

    Every take also prunes its prefix's refilled buckets, at most once a minute per process and prefix (the
    timer is the class's, so a SharedBuckets made per request, as /lapor does, prunes no more often)."""

    PRUNE_EVERY_S = 60.0
    _pruned: dict[str, float] = {}

    def __init__(self, kind: str, rate: float, burst: int):
        # The limits are part of the bucket's name: processes configured alike share buckets, and a changed
        # limit starts from full buckets instead of inheriting tokens counted under another rate.
        self.prefix, self.rate, self.burst = f"{kind}/{rate:g}/{burst}", rate, burst

    async def take(self, conn, name: str) -> float | None:
        """Take one token: None when allowed, else the seconds until one is back."""
        cur = await conn.execute(query("ratelimit_take"),
                                 {"name": f"{self.prefix}:{name}", "rate": self.rate, "burst": self.burst})
        row = await cur.fetchone()
        tokens, ok = (row["tokens"], row["ok"]) if isinstance(row, dict) else row
        await self.prune(conn)
        if ok:
            return None
        return max(0.0, 1.0 - tokens) / self.rate

    async def prune(self, conn) -> None:
        """Drop buckets that have refilled (they would start full anyway), at most once a minute per process."""
        now = time.monotonic()
        if now - self._pruned.get(self.prefix, -self.PRUNE_EVERY_S) < self.PRUNE_EVERY_S:
            return
        self._pruned[self.prefix] = now
        await conn.execute(query("ratelimit_prune"),
                           {"prefix": self.prefix + ":", "full_after_s": self.burst / self.rate})


class RateLimiter:
    """The app's buckets (per address, per key), built from Settings: shared in PostgreSQL, or in-process."""

    def __init__(self, settings: Settings):
        self.enabled = settings.ratelimit_enabled
        self.shared = settings.ratelimit_shared
        self.exempt = tuple(settings.ratelimit_exempt_paths)
        self.by_address = TokenBuckets(settings.ratelimit_address_per_s, settings.ratelimit_address_burst)
        self.by_key = TokenBuckets(settings.ratelimit_key_per_s, settings.ratelimit_key_burst)
        self.shared_address = SharedBuckets("address", settings.ratelimit_address_per_s,
                                            settings.ratelimit_address_burst)
        self.shared_key = SharedBuckets("key", settings.ratelimit_key_per_s, settings.ratelimit_key_burst)
        self._warned = False

    def applies(self, method: str, path: str) -> bool:
        """Only writes are limited, and not on exempt paths."""
        return self.enabled and method in WRITE_METHODS and not path.startswith(self.exempt)

    def check(self, address: str | None, raw_key: str | None) -> tuple[float, str] | None:
        """In-process buckets: None when allowed, else (seconds to wait, which limit)."""
        if raw_key:
            wait = self.by_key.take(key_bucket_name(raw_key))
            if wait is not None:
                return wait, "key"
        wait = self.by_address.take(address or "-")
        return (wait, "address") if wait is not None else None

    async def check_shared(self, pool, address: str | None, raw_key: str | None) -> tuple[float, str] | None:
        """The deployment's buckets in PostgreSQL; the in-process ones while the database is unreachable."""
        if not self.shared or pool is None:
            return self.check(address, raw_key)
        try:
            async with pool.connection(timeout=2) as conn:
                if raw_key:
                    wait = await self.shared_key.take(conn, key_bucket_name(raw_key))
                    if wait is not None:
                        return wait, "key"
                wait = await self.shared_address.take(conn, address or "-")
                await self.shared_address.prune(conn)
                await self.shared_key.prune(conn)
                self._warned = False
                return (wait, "address") if wait is not None else None
        except Exception as exc:  # the database is away: the process's own buckets stand in
            if not self._warned:
                log.warning("shared rate limits unavailable (%s); in-process buckets until it is back",
                            (str(exc).splitlines() or [type(exc).__name__])[0])
                self._warned = True
            return self.check(address, raw_key)


def _header(scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return v.decode("latin-1")
    return None


def _key_from_headers(scope) -> str | None:
    key = _header(scope, b"x-api-key")
    auth = _header(scope, b"authorization") or ""
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    if not key:
        qs = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        key = (qs.get("api_key") or [None])[0]
    return key or None


async def _buffer_body(receive) -> tuple[bytes, bool]:
    """Read the body up to _PEEK_MAX; (body, complete)."""
    chunks, size = [], 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            return b"".join(chunks), False
        chunk = msg.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not msg.get("more_body") or size > _PEEK_MAX:
            return b"".join(chunks), not msg.get("more_body")


def _replay(body: bytes, complete: bool, receive):
    """A receive() that hands the buffered body on, then continues with the real stream."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replay


def _too_many(path: str, wait: float, which: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    retry = str(max(1, math.ceil(wait))).encode()
    detail = f"Too many writes from this {'API key' if which == 'key' else 'address'}; retry after {retry.decode()} s"
    if path.startswith("/open311/"):
        body = orjson.dumps([{"code": 429, "description": detail}])
        ctype = b"application/json; charset=utf-8"
    else:
        body = problem_bytes(429, detail, instance=path, limit=which)
        ctype = b"application/problem+json"
    return 429, [(b"content-type", ctype), (b"retry-after", retry), (b"content-length", str(len(body)).encode())], body


class RateLimitMiddleware:
    """ASGI middleware: writes over the per-key or per-address rate get 429 before reaching any handler."""

    def __init__(self, app, settings: Settings):
        self.app = app
        self.limiter = RateLimiter(settings)

    async def __call__(self, scope, receive, send) -> None:
        """Check the buckets of a write; pass everything else on untouched."""
        if scope["type"] != "http" or not self.limiter.applies(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        key = _key_from_headers(scope)
        if key is None and scope["path"].startswith("/open311/") and \
                (_header(scope, b"content-type") or "").encode().startswith(_FORM):
            body, complete = await _buffer_body(receive)  # Open311 sends api_key in the form body
            if complete:
                key = (parse_qs(body.decode("latin-1")).get("api_key") or [None])[0]
            receive = _replay(body, complete, receive)
        client = scope.get("client")
        app = scope.get("app")
        pool = getattr(getattr(app, "state", None), "pool", None)
        verdict = await self.limiter.check_shared(pool, client[0] if client else None, key)
        if verdict is None:
            await self.app(scope, receive, send)
            return
        status, headers, body = _too_many(scope["path"], *verdict)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
