"""`satupeta katalog ...`: the node's metadata catalogue (SNI 8843-1 records, CSW)."""

from __future__ import annotations

from typing import Annotated

import typer

from geo_api.cli_common import console, fail, guard, load_settings, out

app = typer.Typer(help="Metadata catalogue: SNI 8843-1 records of every layer (CSW /csw, OGC API - Records).",
                  no_args_is_help=True)


def _run(job):
    from geo_api.cli_layers import _run as run_on_pool

    return run_on_pool(job)


@app.command("validate")
@guard
def validate_cmd(strict: Annotated[bool, typer.Option(help="Exit 1 when any record lacks an element")] = False,
                 ) -> None:
    """Print, per layer in the catalogue, which required SNI 8843-1 elements its record lacks."""
    from layers.katalog import metadata as md
    from layers.katalog import store

    settings = load_settings()

    async def job(conn):  # reads only: bundled records not yet written are judged as they would be written
        stale = {f.collection_id: f for f in await store.stale_bundled(conn, settings)}
        rows = [r for r in await store.all_records(conn) if not (r["kind"] == "bundled" and
                                                                 r["collection_id"] in stale)]
        node = md.Node.from_settings(settings)
        rows += [{"collection_id": f.collection_id, "kind": "bundled", "version": 0,
                  "identifier": node.identifier(f.collection_id), "facts": f} for f in stale.values()]
        return sorted(rows, key=lambda r: (r["kind"], r["collection_id"]))

    rows = _run(job)
    incomplete = 0
    for row in rows:
        missing = (row.get("facts") or store.facts_of(row)).missing()
        incomplete += bool(missing)
        state = "lengkap" if not missing else f"{len(missing)} elemen kurang"
        out.print(f"{row['collection_id']}  {row['kind']}  v{row['version']}  {row['identifier']}  {state}",
                  markup=False, highlight=False)
        for path, message in missing:
            out.print(f"    - {path}  ({message})", markup=False, highlight=False)
    console.print(f"{len(rows)} records, {incomplete} incomplete", markup=False)
    if strict and incomplete:
        fail(f"{incomplete} records lack required SNI 8843-1 elements")


@app.command("kugi")
@guard
def kugi_cmd() -> None:
    """The KUGI feature-type codes this node accepts."""
    from layers.katalog.metadata import kugi_codes

    for code, name in kugi_codes().items():
        out.print(f"{code}\t{name}", markup=False, highlight=False)
