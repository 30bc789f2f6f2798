"""Annotated dependencies: settings, a pooled connection, the caller's API key and the app's services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import psycopg
from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool

from geo_api.apikeys import MAX_KEY_LEN, authenticate
from geo_api.db import pooled, read_pool
from geo_api.errors import Forbidden, Unauthorized
from geo_api.fleet.runtime import FleetRuntime
from geo_api.geocoding import Geocoder
from geo_api.media import MediaStore
from geo_api.routing.service import RoutingCache
from geo_api.services import HeavyWork, Services
from geo_api.services import services as services_of
from geo_api.settings import Settings
from layers.catalog import Catalog as LayerCatalog
from layers.service import LayerService


def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _conn(request: Request) -> AsyncIterator[psycopg.AsyncConnection]:
    async with pooled(request.app.state.pool) as conn:
        yield conn


async def _read_conn(request: Request) -> AsyncIterator[psycopg.AsyncConnection]:
    async with pooled(read_pool(request.app.state)) as conn:
        yield conn


AppSettings = Annotated[Settings, Depends(_settings)]
Conn = Annotated[psycopg.AsyncConnection, Depends(_conn)]
# Read-only work: a streaming replica when database_replica_url is set (behind by its replication lag), else
# the primary. Whatever a client must see right after its own write (GET requests/{id}) keeps using Conn.
ReadConn = Annotated[psycopg.AsyncConnection, Depends(_read_conn)]


def read_conn_unless(*params: str):
    """A connection type: the read connection, but the primary when the query names one of these parameters.

    A lookup by id is how a client reads back what it just wrote (Open311 `service_request_id`): it must not
    miss its own write by the replica's lag, and one indexed row costs the primary little.
    """
    async def conn(request: Request) -> AsyncIterator[psycopg.AsyncConnection]:
        state = request.app.state
        pool = state.pool if any(p in request.query_params for p in params) else read_pool(state)
        async with pooled(pool) as c:
            yield c

    return Annotated[psycopg.AsyncConnection, Depends(conn)]


async def _api_key(request: Request, conn: Conn) -> dict:
    """The caller's live API key from `X-API-Key` (or `Authorization: Bearer`), else a 401 problem."""
    key = request.headers.get("x-api-key")
    auth = request.headers.get("authorization", "")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    if not key or len(key) > MAX_KEY_LEN:
        raise Unauthorized("An API key is required (header X-API-Key)")
    row = await authenticate(conn, key)
    if row is None:
        raise Unauthorized("The API key is unknown or revoked")
    return row


async def _api_key_brief(request: Request) -> dict:
    """The caller's key, checked on a connection that is given back at once (see BriefKey)."""
    async with pooled(request.app.state.pool) as conn:
        return await _api_key(request, conn)


def _pool(request: Request) -> AsyncConnectionPool:
    return request.app.state.pool


async def _admin_key(key: Annotated[dict, Depends(_api_key)]) -> dict:
    """The caller's key, which must have the gis_admin role (403 otherwise)."""
    if key["role"] != "gis_admin":
        raise Forbidden(f"This needs the gis_admin role; key {key['name']!r} has {key['role']!r}")
    return key


def require_role(*roles: str):
    """A dependency: the caller's key, which must have one of these roles (401 without a key, 403 otherwise)."""
    allowed = frozenset(roles)

    async def check(key: Annotated[dict, Depends(_api_key)]) -> dict:
        if key["role"] not in allowed:
            raise Forbidden(f"This needs the {' or '.join(sorted(allowed))} role; key {key['name']!r} has "
                            f"{key['role']!r}")
        return key

    return Depends(check)


CurrentKey = Annotated[dict, Depends(_api_key)]
# For routes that do CPU work (photo decoding) before their write: the key is checked on a connection given back
# at once, and the route borrows from Pool (`async with pooled(pool) as conn`) only for its short transaction,
# so no pooled connection waits on a decode.
BriefKey = Annotated[dict, Depends(_api_key_brief)]
Pool = Annotated[AsyncConnectionPool, Depends(_pool)]
AdminKey = Annotated[dict, Depends(_admin_key)]
# The platform's roles: citizen apps post laporan; OPD officers move their OPD's laporan (the OPD binding is
# checked per laporan by the routing router); GIS admins publish layers and edit rules and the catalogue;
# trackers send positions for their own device (checked by the OsmAnd ingest, which has no headers to spare).
OfficerKey = Annotated[dict, require_role("opd_officer", "gis_admin")]
CitizenKey = Annotated[dict, require_role("citizen_app", "gis_admin")]


# ---- the app's services (geo_api/services.py), one Annotated alias each ----------------------------------------
def _services(request: Request) -> Services:
    return services_of(request.app.state)


async def _geocoder(request: Request) -> Geocoder:
    return await services_of(request.app.state).geocoder.get()


def _layers(request: Request) -> LayerService:
    return services_of(request.app.state).layers


def _catalog(request: Request) -> LayerCatalog:
    return services_of(request.app.state).layers.catalog


def _routing(request: Request) -> RoutingCache:
    return services_of(request.app.state).routing


def _fleet(request: Request) -> FleetRuntime:
    return services_of(request.app.state).fleet


def _heavy(request: Request) -> HeavyWork:
    return services_of(request.app.state).heavy


def _media(request: Request) -> MediaStore:
    return services_of(request.app.state).media


ServicesDep = Annotated[Services, Depends(_services)]
# The built geocoder (reverse and forward indexes, streets); the first request of a process builds it.
GeocoderDep = Annotated[Geocoder, Depends(_geocoder)]
Layers = Annotated[LayerService, Depends(_layers)]          # catalog + tile cache; .changed(id) after a publish
Catalog = Annotated[LayerCatalog, Depends(_catalog)]        # the one way to collections and their columns
RoutingRules = Annotated[RoutingCache, Depends(_routing)]   # the OPD rule set in force
Fleet = Annotated[FleetRuntime, Depends(_fleet)]            # device registry, sites, the group-commit writer
Heavy = Annotated[HeavyWork, Depends(_heavy)]               # CPU-heavy work in bounded worker threads
MediaStoreDep = Annotated[MediaStore, Depends(_media)]      # laporan photos on disk (geo_api/media.py)
