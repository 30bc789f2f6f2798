"""Annotated dependencies: settings, a pooled connection and the caller's API key, read like signatures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import psycopg
from fastapi import Depends, Request

from geo_api.apikeys import key_hash
from geo_api.db import fetch_one, pooled
from geo_api.errors import Forbidden, Unauthorized
from geo_api.settings import Settings


def _settings(request: Request) -> Settings:
    return request.app.state.settings


async def _conn(request: Request) -> AsyncIterator[psycopg.AsyncConnection]:
    async with pooled(request.app.state.pool) as conn:
        yield conn


AppSettings = Annotated[Settings, Depends(_settings)]
Conn = Annotated[psycopg.AsyncConnection, Depends(_conn)]


async def _api_key(request: Request, conn: Conn) -> dict:
    """The caller's live API key from `X-API-Key` (or `Authorization: Bearer`), else a 401 problem."""
    key = request.headers.get("x-api-key")
    auth = request.headers.get("authorization", "")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    if not key or len(key) > 200:
        raise Unauthorized("An API key is required (header X-API-Key)")
    row = await fetch_one(conn, "layers_api_key_lookup", {"key_hash": key_hash(key)})
    if row is None:
        raise Unauthorized("The API key is unknown or revoked")
    return row


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
AdminKey = Annotated[dict, Depends(_admin_key)]
# The platform's roles: citizen apps post laporan; OPD officers move their OPD's laporan (the OPD binding is
# checked per laporan by the routing router); GIS admins publish layers and edit rules and the catalogue;
# trackers send positions for their own device (checked by the OsmAnd ingest, which has no headers to spare).
OfficerKey = Annotated[dict, require_role("opd_officer", "gis_admin")]
CitizenKey = Annotated[dict, require_role("citizen_app", "gis_admin")]
