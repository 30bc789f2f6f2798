"""GET /health: is the database there, which PostGIS, and what is loaded; /health/live and /health/ready for a
load balancer (liveness: the process answers; readiness: database reachable, schema at head, indexes built)."""

from __future__ import annotations

import logging
from datetime import datetime

import psycopg
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from geo_api.db import fetch_all, fetch_one, pooled, read_pool
from geo_api.deps import Conn
from geo_api.errors import ServiceUnavailable, problem
from geo_api.schema import HEAD, state_of_async
from geo_api.services import services as services_of

log = logging.getLogger("satupeta.health")
router = APIRouter(tags=["health"])


class LayerHealth(BaseModel):
    """One loaded layer as /health reports it."""

    id: str
    title: str
    rows: int
    source_file: str
    licence: str
    attribution: str
    loaded_at: datetime


class DatabaseHealth(BaseModel):
    """The database part of /health."""

    reachable: bool
    postgresql: str
    postgis: str


class ReplicaHealth(BaseModel):
    """The streaming replica that serves read-only work (database_replica_url), as /health reports it."""

    reachable: bool
    in_recovery: bool | None = None
    replay_lsn: str | None = None
    lag_bytes: int | None = Field(None, description="WAL the primary has written that the replica has not "
                                  "replayed yet (0: reads there see every committed write)")
    lag_s: float | None = Field(None, description="0 when lag_bytes is 0, else seconds since the replica "
                                "last replayed a commit")
    detail: str | None = None


class Health(BaseModel):
    """The answer of /health."""

    status: str
    database: DatabaseHealth
    layers: list[LayerHealth]
    replica: ReplicaHealth | None = Field(None, description="Only when a replica is configured")


@router.get("/health", response_model=Health, summary="Database reachability, PostGIS version, loaded layers")
async def health(request: Request, conn: Conn) -> Health:
    """Report the database, its PostGIS version, the row count of every loaded layer and the replica's lag."""
    version = await fetch_one(conn, "postgis_version")
    try:
        rows = await fetch_all(conn, "health_layers")
    except psycopg.errors.UndefinedTable:
        rows = []  # not migrated yet: reachable, but nothing loaded
    layers = [LayerHealth(rows=r["feature_count"], **{k: r[k] for k in
                          ("id", "title", "source_file", "licence", "attribution", "loaded_at")}) for r in rows]
    replica = await _replica(request, conn)
    status = "ok" if layers else "empty"
    if replica is not None and not (replica.reachable and replica.in_recovery):
        status = "degraded"
    return Health(status=status, database=DatabaseHealth(reachable=True, **version), layers=layers,
                  replica=replica)


def _lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


async def _replica(request: Request, conn: psycopg.AsyncConnection) -> ReplicaHealth | None:
    """Lag of the read replica: its replay position against the primary's WAL (read after it: lag >= 0)."""
    state = request.app.state
    if read_pool(state) is state.pool:
        return None
    try:
        async with pooled(read_pool(state)) as rconn:
            row = await fetch_one(rconn, "replica_replay")
    except ServiceUnavailable as exc:
        return ReplicaHealth(reachable=False, detail=exc.detail)
    if not row["in_recovery"] or row["replay_lsn"] is None:
        return ReplicaHealth(reachable=True, in_recovery=row["in_recovery"],
                             detail="database_replica_url is not a streaming replica")
    primary = await fetch_one(conn, "primary_wal_lsn")
    lag = max(0, _lsn(primary["lsn"]) - _lsn(row["replay_lsn"]))
    since = row["since_replay_s"]
    return ReplicaHealth(reachable=True, in_recovery=True, replay_lsn=row["replay_lsn"], lag_bytes=lag,
                         lag_s=0.0 if lag == 0 else round(max(0.0, since or 0.0), 3))


class Liveness(BaseModel):
    """The answer of /health/live."""

    status: str = Field(description="always `alive`: the process and its event loop answer")


class Readiness(BaseModel):
    """The answer of /health/ready (200 ready; 503 not ready, as problem+json with the same `checks`)."""

    status: str
    checks: dict[str, str] = Field(description="database, schema, indexes: `ok` or what is wrong")


@router.get("/health/live", response_model=Liveness, summary="Liveness: the process answers (no database)")
async def live() -> Liveness:
    """Liveness for a supervisor or load balancer: answers while the process runs, whatever the database does."""
    return Liveness(status="alive")


@router.get("/health/ready", response_model=Readiness, summary="Readiness: database, schema at head, indexes built",
            responses={503: {"description": "Not ready: the checks say which part is not"}})
async def ready(request: Request):
    """Ready to serve: the database answers, its schema is this release's head, the geocoding indexes are built."""
    checks: dict[str, str] = {}
    try:
        async with pooled(request.app.state.pool) as conn:
            checks["database"] = "ok"
            st = await state_of_async(conn)
            checks["schema"] = "ok" if st.state == HEAD else st.sentence()
    except ServiceUnavailable as exc:
        checks["database"] = exc.detail
        checks["schema"] = "unknown: database not reachable"
    checks["indexes"] = await _indexes(request) if checks["database"] == "ok" else "unknown: database not reachable"
    if all(v == "ok" for v in checks.values()):
        return Readiness(status="ready", checks=checks)
    bad = ", ".join(k for k, v in checks.items() if v != "ok")
    return problem(503, "Service Unavailable", f"Not ready: {bad}", code="not-ready",
                   instance=request.url.path, checks=checks)


async def _indexes(request: Request) -> str:
    """Build the geocoding indexes if they are not yet (the first readiness probe warms the process)."""
    try:
        await services_of(request.app.state).geocoder.get()
    except ServiceUnavailable as exc:
        return exc.detail
    except Exception as exc:  # no data loaded yet, a bad layer: not ready, and the log says why
        log.warning("geocoding indexes not built: %s", exc)
        return f"not built: {type(exc).__name__} (see the server log)"
    return "ok"
