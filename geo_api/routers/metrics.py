"""GET /metrics: the Prometheus text format (geo_api/metrics.py), open to metrics_open_networks, else a key."""

from __future__ import annotations

import ipaddress
import logging

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import Response

from geo_api import metrics
from geo_api.apikeys import MAX_KEY_LEN, authenticate
from geo_api.db import fetch_all, fetch_one, pooled
from geo_api.errors import Forbidden, ServiceUnavailable, Unauthorized

log = logging.getLogger("satupeta.metrics")
router = APIRouter(tags=["health"])


def _open_to(request: Request) -> bool:
    """Whether the client (as EdgeMiddleware resolved it from trusted proxies only) may scrape without a key."""
    nets = getattr(request.app.state, "metrics_networks", None)
    if nets is None:
        nets = request.app.state.metrics_networks = tuple(
            ipaddress.ip_network(n, strict=False) for n in request.app.state.settings.metrics_open_networks)
    host = request.client.host if request.client else None
    try:
        ip = ipaddress.ip_address(host) if host else None
    except ValueError:
        return False
    return ip is not None and any(ip in n for n in nets)


async def _require_admin(request: Request, conn: psycopg.AsyncConnection) -> None:
    key = request.headers.get("x-api-key")
    auth = request.headers.get("authorization", "")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    if not key or len(key) > MAX_KEY_LEN:
        raise Unauthorized("GET /metrics from outside metrics_open_networks needs a gis_admin key "
                           "(X-API-Key or Authorization: Bearer)")
    row = await authenticate(conn, key)
    if row is None:
        raise Unauthorized("The API key is unknown or revoked")
    if row["role"] != "gis_admin":
        raise Forbidden(f"GET /metrics needs the gis_admin role; key {row['name']!r} has {row['role']!r}")


@router.get("/metrics", summary="Prometheus metrics (open on loopback, a gis_admin key elsewhere)",
            response_class=Response, responses={200: {"content": {metrics.CONTENT_TYPE: {}}}})
async def get_metrics(request: Request) -> Response:
    """Request counts and latency per route, OsmAnd fixes, group commits, pools, caches, laporan, replication."""
    families: list = []
    try:
        async with pooled(request.app.state.pool) as conn:
            if not _open_to(request):
                await _require_admin(request, conn)
            families = await _database_facts(conn)
    except ServiceUnavailable:
        if not _open_to(request):
            raise
        log.warning("metrics: database not reachable, serving process metrics only")
    return Response(metrics.render(families), media_type=metrics.CONTENT_TYPE)


async def _database_facts(conn: psycopg.AsyncConnection) -> list:
    laporan = await fetch_all(conn, "metrics_laporan_status")
    overdue = (await fetch_one(conn, "metrics_laporan_overdue"))["n"]
    standbys = await fetch_all(conn, "metrics_replication")
    return metrics.database_families(laporan, overdue, standbys)
