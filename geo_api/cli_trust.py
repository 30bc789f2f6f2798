"""`satupeta keys rotate|bind NAME` and `satupeta audit list`: key rotation, bindings and the audit log."""

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
    from geo_api import apikeys
    from geo_api.audit import Actor
    from geo_api.db import connect

    with connect(load_settings()) as conn:
        key, row = apikeys.rotate(conn, Actor.cli(), name)
    console.print(f"key {name!r} ({row['role']}) rotated; the new key is shown only now:")
    out.print(key, markup=False, highlight=False)


@keys_app.command("bind")
@guard
def key_bind(name: Annotated[str, typer.Argument(help="Key name")],
             opd: Annotated[str | None, typer.Option(help="opd_officer keys: the OPD kode they act for")] = None,
             semua_opd: Annotated[bool, typer.Option("--semua-opd", help="opd_officer keys: act for every OPD "
                                                     "(e.g. the LAKSA desk)")] = False,
             device: Annotated[str | None, typer.Option(help="tracker keys: the device identifier")] = None) -> None:
    """Change what a live key is bound to: an officer key's OPD (or, explicitly, every OPD), a tracker's device."""
    from geo_api import apikeys
    from geo_api.audit import Actor
    from geo_api.db import connect

    with connect(load_settings()) as conn:
        row = apikeys.bind(conn, Actor.cli(), name, opd=opd, device=device, semua_opd=semua_opd)
    scope = row["opd_kode"] or ("semua OPD" if row["semua_opd"] else row["device_unique_id"])
    console.print(f"key {name!r} ({row['role']}) now bound to {scope}")


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
