"""apikeys.authenticate, the one place a presented key is hashed and looked up, over the real test database."""

from __future__ import annotations

import uuid

from geo_api.apikeys import MAX_KEY_LEN, authenticate, key_hash, new_key
from tests.conftest import run_async


def _insert(settings, role: str, *, opd: str | None = None, revoked: bool = False) -> tuple[str, str]:
    from geo_api.db import connect

    key, name = new_key(), f"auth-{role}-{uuid.uuid4().hex[:8]}"
    with connect(settings) as db:
        if opd is None and role == "opd_officer":
            opd = db.execute("SELECT kode FROM opd ORDER BY kode LIMIT 1").fetchone()["kode"]
        db.execute("INSERT INTO api_key (name, role, key_hash, opd_kode, revoked_at) "
                   "VALUES (%s, %s, %s, %s, CASE WHEN %s THEN now() END)",
                   (name, role, key_hash(key), opd, revoked))
        db.commit()
    return name, key


def test_authenticate_valid_revoked_unknown_none(settings, katalog):
    name, key = _insert(settings, "opd_officer")
    _, revoked = _insert(settings, "citizen_app", revoked=True)

    async def check(conn):
        return (await authenticate(conn, key), await authenticate(conn, revoked),
                await authenticate(conn, new_key()), await authenticate(conn, None),
                await authenticate(conn, ""), await authenticate(conn, "x" * (MAX_KEY_LEN + 1)))

    live, gone, unknown, none, empty, too_long = run_async(settings, check)
    assert live is not None
    assert (live["name"], live["role"], live["semua_opd"], live["device_unique_id"]) == \
        (name, "opd_officer", False, None)
    assert live["opd_kode"] is not None
    assert gone is None and unknown is None and none is None and empty is None and too_long is None
