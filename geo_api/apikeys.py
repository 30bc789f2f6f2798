"""API keys: random tokens shown once, stored as SHA-256 hashes, each with one role (e.g. gis_admin).

The writes (create, bind, rotate, revoke) take the actor and write their audit row in their own transaction.
An `opd_officer` key acts for the one OPD it is bound to, or for every OPD only when that was chosen explicitly
(`semua_opd`, e.g. the LAKSA desk); an officer key bound to neither acts on no laporan. Keys are looked up in
the database on every request (nothing caches them), so a rotated or revoked key stops at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import TYPE_CHECKING, Any

from geo_api.errors import InvalidParameter, NotFound

if TYPE_CHECKING:
    import psycopg

    from geo_api.audit import Actor

ROLE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
ROLES = ("citizen_app", "opd_officer", "gis_admin", "tracker")
PREFIX = "sp_"


def new_key() -> str:
    """A fresh key (256 bits of randomness); the only time it exists in clear is when it is printed."""
    return PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    """The stored form of a key. A fast hash suffices: keys are random, not passwords."""
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


MAX_KEY_LEN = 200  # longer than any key new_key() makes; refused before hashing


async def authenticate(conn: psycopg.AsyncConnection, key: str | None) -> dict[str, Any] | None:
    """The live key row for this key in clear (id, name, role, opd_kode, semua_opd, device_unique_id), or None.

    The one place a presented key is hashed and looked up (deps.py's X-API-Key, Open311's api_key). None when no
    key was given, it is longer than MAX_KEY_LEN, unknown, or revoked; each caller answers that in its own words.
    """
    if not key or len(key) > MAX_KEY_LEN:
        return None
    from geo_api.db import fetch_one

    return await fetch_one(conn, "layers_api_key_lookup", {"key_hash": key_hash(key)})


def check_binding(role: str, opd: str | None, device: str | None, semua_opd: bool) -> None:
    """What a key of this role must be bound to: officers one OPD or, explicitly, all; trackers one device."""
    if not ROLE.match(role):
        raise InvalidParameter("role", f"role must be lowercase letters, digits and _ (the platform's roles: "
                                       f"{', '.join(ROLES)})")
    if (device is not None) != (role == "tracker"):
        raise InvalidParameter("device", "tracker keys need --device, and only tracker keys take it")
    if role != "opd_officer":
        if opd is not None or semua_opd:
            raise InvalidParameter("opd", "only opd_officer keys are bound to an OPD")
        return
    if opd is not None and semua_opd:
        raise InvalidParameter("opd", "give --opd KODE or --semua-opd, not both")
    if opd is None and not semua_opd:
        raise InvalidParameter("opd", "opd_officer keys need --opd KODE (the OPD they act for) or --semua-opd "
                                      "(every OPD, e.g. the LAKSA desk)")


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in ("id", "name", "role", "opd_kode", "semua_opd", "device_unique_id")}


def _write(conn: psycopg.Connection, name: str, opd: str | None, sql_name: str, params: dict[str, Any]):
    import psycopg

    from sql import query

    try:
        return conn.execute(query(sql_name), params).fetchone()
    except psycopg.errors.ForeignKeyViolation:
        raise InvalidParameter("opd", f"unknown OPD {opd!r}") from None
    except psycopg.errors.UniqueViolation:
        raise InvalidParameter("name", f"a key named {name!r} exists already") from None
    except psycopg.errors.CheckViolation:
        raise InvalidParameter("name", "name must be 1-100 characters") from None


def create(conn: psycopg.Connection, actor: Actor, name: str, role: str, *, opd: str | None = None,
           device: str | None = None, semua_opd: bool = False) -> tuple[str, dict[str, Any]]:
    """Store a new key with its binding and audit row in one transaction; returns (the key in clear, its row)."""
    from geo_api.audit import record_sync

    check_binding(role, opd, device, semua_opd)
    key = new_key()
    with conn.transaction():
        row = _write(conn, name, opd, "trust_key_insert",
                     {"name": name, "role": role, "key_hash": key_hash(key), "opd_kode": opd, "device": device,
                      "semua_opd": semua_opd})
        record_sync(conn, action="key.create", target=f"key:{name}", after=_public(row), actor=actor)
    return key, row


def bind(conn: psycopg.Connection, actor: Actor, name: str, *, opd: str | None = None, device: str | None = None,
         semua_opd: bool = False) -> dict[str, Any]:
    """Change what a live key is bound to (an officer's OPD or every OPD, a tracker's device), audited."""
    from geo_api.audit import record_sync
    from sql import query

    with conn.transaction():
        before = conn.execute(query("trust_key_get"), {"name": name}).fetchone()
        if before is None or before["revoked_at"] is not None:
            raise NotFound(f"no live key named {name!r}")
        check_binding(before["role"], opd, device, semua_opd)
        row = _write(conn, name, opd, "trust_key_bind",
                     {"id": before["id"], "opd_kode": opd, "device": device, "semua_opd": semua_opd})
        record_sync(conn, action="key.bind", target=f"key:{name}", before=_public(before), after=_public(row),
                    actor=actor)
    return row


def rotate(conn: psycopg.Connection, actor: Actor, name: str) -> tuple[str, dict[str, Any]]:
    """Replace a live key's secret (the old one stops at once; name, role, bindings stay), audited."""
    from geo_api.audit import record_sync
    from sql import query

    key = new_key()
    with conn.transaction():
        row = conn.execute(query("trust_key_rotate"), {"name": name, "key_hash": key_hash(key)}).fetchone()
        if row is None:
            raise NotFound(f"no live key named {name!r}")
        record_sync(conn, action="key.rotate", target=f"key:{name}", after=_public(row), actor=actor)
    return key, row


def revoke(conn: psycopg.Connection, actor: Actor, name: str) -> None:
    """Revoke a live key (it stops at once), audited."""
    from geo_api.audit import record_sync
    from sql import query

    with conn.transaction():
        if conn.execute(query("layers_api_key_revoke"), {"name": name}).fetchone() is None:
            raise NotFound(f"no live key named {name!r}")
        record_sync(conn, action="key.revoke", target=f"key:{name}", before={"name": name, "revoked": False},
                    after={"name": name, "revoked": True}, actor=actor)
