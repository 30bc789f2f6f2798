"""The audit log: every write, who did it, when, and the state before and after, in the write's own transaction.

`record` (async, the API) and `record_sync` (the CLI) insert one row and refuse to run outside a transaction,
so an audit row exists exactly when the write it describes committed. `audited` wraps a write in that
transaction for routers whose domain functions commit on their own (their inner transactions become
savepoints of this one). Reporters' contact details never go into before/after.
"""

from __future__ import annotations

import getpass
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
from fastapi import Request
from psycopg.pq import TransactionStatus
from psycopg.types.json import Jsonb

from geo_api import notify
from geo_api.db import fetch_one
from sql import query

# Never copied into an audit row, whatever a caller passes in before/after.
PERSONAL = frozenset({"email", "phone", "first_name", "last_name", "pelapor_email", "pelapor_telepon",
                      "pelapor_nama_depan", "pelapor_nama_belakang", "address_string", "device_id", "account_id"})


def _clean(value: Any) -> Any:
    """JSON-safe copy with personal fields dropped (dates and the like become strings)."""
    if value is None:
        return None
    plain = orjson.loads(orjson.dumps(value, default=str))
    return _strip(plain)


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in PERSONAL}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _params(who: str, action: str, target: str, before: Any, after: Any, key_id: int | None,
            address: str | None) -> dict[str, Any]:
    return {"oleh": who[:200], "api_key_id": key_id, "alamat": (address or None) and address[:100],
            "aksi": action, "objek": target[:200], "sebelum": Jsonb(_clean(before)), "sesudah": Jsonb(_clean(after))}


def who(key: dict[str, Any] | None) -> str:
    """The actor's name as the audit log writes it: api_key:NAME for a key, cli:USER for the command line."""
    if key:
        return f"api_key:{key['name']}"
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


@dataclass(frozen=True)
class Actor:
    """Who writes: an API key (kind "api_key", with its id and client address) or a command-line user ("cli")."""

    kind: str
    name: str
    key_id: int | None = None
    address: str | None = None

    @classmethod
    def from_key(cls, key: dict[str, Any], request: Request | None = None) -> Actor:
        """The actor behind an authenticated API key."""
        return cls("api_key", key["name"], key["id"], client_address(request))

    @classmethod
    def cli(cls) -> Actor:
        """The operating-system user running the command line."""
        return cls("cli", who(None).removeprefix("cli:"))

    @property
    def label(self) -> str:
        """kind:name, as the audit log's `oleh` column writes it."""
        return f"{self.kind}:{self.name}"


async def record_by(conn: psycopg.AsyncConnection, actor: Actor, *, action: str, target: str, before: Any = None,
                    after: Any = None) -> int:
    """Insert one audit row for `actor` in the transaction of the write it records (refused outside one)."""
    if conn.info.transaction_status != TransactionStatus.INTRANS:
        raise RuntimeError("audit.record_by must run inside the write's transaction")
    row = await fetch_one(conn, "trust_audit_insert",
                          _params(actor.label, action, target, before, after, actor.key_id, actor.address))
    await _notify(conn, action, target)
    return row["id"]


async def record(conn: psycopg.AsyncConnection, *, action: str, target: str, key: dict[str, Any] | None,
                 before: Any = None, after: Any = None, address: str | None = None) -> int:
    """Insert one audit row in the transaction of the write it records (refused outside one)."""
    if conn.info.transaction_status != TransactionStatus.INTRANS:
        raise RuntimeError("audit.record must run inside the write's transaction")
    row = await fetch_one(conn, "trust_audit_insert",
                          _params(who(key), action, target, before, after, key and key["id"], address))
    await _notify(conn, action, target)
    return row["id"]


def record_sync(conn: psycopg.Connection, *, action: str, target: str, key: dict[str, Any] | None = None,
                before: Any = None, after: Any = None, actor: Actor | None = None) -> int:
    """The same for the CLI's synchronous connection (not autocommit: commits with the write); `actor` says who
    (default: the key's holder when given, else the CLI user)."""
    if conn.info.transaction_status != TransactionStatus.INTRANS:
        raise RuntimeError("audit.record_sync must run inside the write's transaction")
    actor = actor or (Actor("api_key", key["name"], key["id"]) if key else Actor.cli())
    row = conn.execute(query("trust_audit_insert"), _params(actor.label, action, target, before, after,
                                                           actor.key_id, actor.address)).fetchone()
    text = notify.topic_for(action, target)
    if text:
        conn.execute(query("notify_changed"), {"channel": notify.CHANNEL, "payload": text})
    return row["id"]


async def _notify(conn: psycopg.AsyncConnection, action: str, target: str) -> None:
    """Every audited write that other processes cache tells them, in the same transaction (geo_api/notify.py)."""
    text = notify.topic_for(action, target)
    if text:
        await conn.execute(query("notify_changed"), {"channel": notify.CHANNEL, "payload": text})


@dataclass
class Entry:
    """What an audited block fills in: the state after the write (and, if not known up front, before)."""

    before: Any = None
    after: Any = None
    target: str = ""


def client_address(request: Request | None) -> str | None:
    """The client's address as the server saw it (no proxy headers are trusted)."""
    return request.client.host if request is not None and request.client else None


@asynccontextmanager
async def audited(conn: psycopg.AsyncConnection, *, action: str, target: str, key: dict[str, Any] | None,
                  request: Request | None = None, before: Any = None) -> AsyncIterator[Entry]:
    """One transaction around a write and its audit row; if the write fails, neither is kept."""
    entry = Entry(before=before, target=target)
    async with conn.transaction():
        yield entry
        await record(conn, action=action, target=entry.target, key=key, before=entry.before, after=entry.after,
                     address=client_address(request))
