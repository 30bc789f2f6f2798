"""`satupeta keys rotate NAME` and `satupeta audit list`: key rotation and the audit log from the shell."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.table import Table

from geo_api.cli_common import console, guard, load_settings, out
from geo_api.cli_layers import keys_app

audit_app = typer.Typer(help="The audit log: every write, who, when, before/after.", no_args_is_help=True)


@keys_app.command("rotate")
@guard
def key_rotate(name: Annotated[str, typer.Argument(help="Key name")]) -> None:
    """Replace a key's secret (the old one stops working at once); name, role and bindings stay."""
    from geo_api.apikeys import key_hash, new_key
    from geo_api.audit import record_sync
    from geo_api.db import connect
    from geo_api.errors import NotFound
    from sql import query

    key = new_key()
    with connect(load_settings()) as conn:
        row = conn.execute(query("trust_key_rotate"), {"name": name, "key_hash": key_hash(key)}).fetchone()
        if row is None:
            raise NotFound(f"no live key named {name!r}")
        record_sync(conn, action="key.rotate", target=f"key:{name}", after=row)
    console.print(f"key {name!r} ({row['role']}) rotated; the new key is shown only now:")
    out.print(key, markup=False, highlight=False)


@audit_app.command("list")
@guard
def audit_list(objek: Annotated[str | None, typer.Option(help="Only this object, e.g. laporan:42")] = None,
               limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50) -> None:
    """The newest audit rows."""
    from geo_api.db import connect
    from sql import query

    with connect(load_settings()) as conn:
        rows = conn.execute(query("trust_audit_list"), {"objek": objek, "limit": limit}).fetchall()
    table = Table("id", "when", "who", "what", "object", "before → after")
    for r in rows:
        change = f"{orjson.dumps(r['sebelum']).decode()[:80]} → {orjson.dumps(r['sesudah']).decode()[:80]}"
        table.add_row(str(r["id"]), str(r["pada"])[:19], r["oleh"], r["aksi"], r["objek"], change)
    out.print(table)
