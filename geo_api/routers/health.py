"""GET /health: is the database there, which PostGIS, and what is loaded."""

from __future__ import annotations

from datetime import datetime

import psycopg
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from geo_api.db import fetch_all, fetch_one, pooled, read_pool
from geo_api.deps import Conn
from geo_api.errors import ServiceUnavailable

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
