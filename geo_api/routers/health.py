"""GET /health: is the database there, which PostGIS, and what is loaded."""

from __future__ import annotations

from datetime import datetime

import psycopg
from fastapi import APIRouter
from pydantic import BaseModel

from geo_api.db import fetch_all, fetch_one
from geo_api.deps import Conn

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


class Health(BaseModel):
    """The answer of /health."""

    status: str
    database: DatabaseHealth
    layers: list[LayerHealth]


@router.get("/health", response_model=Health, summary="Database reachability, PostGIS version, loaded layers")
async def health(conn: Conn) -> Health:
    """Report the database, its PostGIS version and the row count of every loaded layer."""
    version = await fetch_one(conn, "postgis_version")
    try:
        rows = await fetch_all(conn, "health_layers")
    except psycopg.errors.UndefinedTable:
        rows = []  # not migrated yet: reachable, but nothing loaded
    layers = [LayerHealth(rows=r["feature_count"], **{k: r[k] for k in
                          ("id", "title", "source_file", "licence", "attribution", "loaded_at")}) for r in rows]
    return Health(status="ok" if layers else "empty",
                  database=DatabaseHealth(reachable=True, **version), layers=layers)
