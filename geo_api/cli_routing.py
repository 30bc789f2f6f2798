"""`satupeta routing ...`: load the OPD/category catalogue, list/add/change routing rules, explain, demo set-up."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from geo_api.cli_common import console, guard, load_settings, out

app = typer.Typer(help="LAKSA routing: OPD catalogue, routing rules (versioned), dry runs, demo key.",
                  no_args_is_help=True)
rules_app = typer.Typer(help="Routing rules: list, add, change (each change is a new version), history.",
                        no_args_is_help=True)
app.add_typer(rules_app, name="aturan")
DEMO_KEY_FILE = Path(".demo_api_key")


def _run(job) -> Any:
    """Run `job(conn, settings)` on a connection of the platform's async pool (the API's code path)."""
    from geo_api.db import open_pool, pooled

    settings = load_settings()

    async def go():
        pool = open_pool(settings.model_copy(update={"pool_min_size": 1, "pool_max_size": 1}))
        await pool.open(wait=True, timeout=15)
        try:
            async with pooled(pool) as conn:
                return await job(conn, settings)
        finally:
            await pool.close()
    return asyncio.run(go())


def _json_arg(name: str, text: str | None) -> Any:
    from geo_api.errors import InvalidParameter

    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidParameter(name, f"--{name} is not JSON: {exc.msg}") from None


@app.command("muat-katalog")
@guard
def load_catalogue(
    path: Annotated[Path | None, typer.Option(help="Catalogue YAML (default: settings.routing_katalog_path)")] = None,
    timpa: Annotated[bool, typer.Option(help="Also change existing rules to match the file (new versions)")] = False,
    jalan_sintetis: Annotated[bool, typer.Option(help="Publish the SYNTHETIC demo roads layer first")] = True,
) -> None:
    """Load OPDs, categories and rules from the catalogue file (idempotent; every change audited as you)."""
    from geo_api import catalogue
    from geo_api.audit import Actor

    async def job(conn, settings):
        if path is not None:
            settings = settings.model_copy(update={"routing_katalog_path": path})
        return await catalogue.setup(conn, settings, synthetic_roads=jalan_sintetis, overwrite_rules=timpa,
                                     actor=Actor.cli())
    counts = _run(job)
    console.print("katalog dimuat: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@app.command("demo")
@guard
def demo(key_file: Annotated[Path, typer.Option(help="Where the local demo key is written")] = DEMO_KEY_FILE) -> None:
    """Catalogue + synthetic roads, and a local citizen_app API key for POST requests (printed, written to a file);
    every write audited as you."""
    from geo_api import apikeys, catalogue
    from geo_api.audit import Actor
    from geo_api.db import connect
    from sql import query

    actor = Actor.cli()
    _run(lambda conn, settings: catalogue.setup(conn, settings, actor=actor))
    old = key_file.read_text().strip() if key_file.is_file() else ""
    with connect(load_settings()) as conn:
        if old and conn.execute(query("layers_api_key_lookup"), {"key_hash": apikeys.key_hash(old)}).fetchone():
            key = old
        else:
            key, _ = apikeys.create(conn, actor, f"laksa-demo-{os.urandom(3).hex()}", "citizen_app")
            key_file.write_text(key + "\n")
            key_file.chmod(0o600)
    console.print(f"demo API key (role citizen_app) in {key_file}; POST /open311/v2/requests.json with api_key=")
    out.print(key, markup=False, highlight=False)


@app.command("kunci-petugas")
def officer_key(name: Annotated[str, typer.Argument(help="Who uses the key")],
                opd: Annotated[str, typer.Option(help="OPD kode the officer acts for")]) -> None:
    """Create an opd_officer API key acting for one OPD (same as `satupeta keys create NAME --role opd_officer`)."""
    from geo_api.cli_layers import key_create

    key_create(name, role="opd_officer", opd=opd, device=None)


@app.command("explain")
@guard
def explain(kategori: str, lat: float, lon: float,
            as_json: Annotated[bool, typer.Option("--json", help="Print the structured evidence")] = False) -> None:
    """Dry run: which OPD would get this laporan, and why."""
    from geo_api.routing.lokasi import load_reverse_index
    from geo_api.routing.service import load, route

    async def job(conn, settings):
        return await route(conn, await load(conn, settings.routing_triase_opd),
                           await load_reverse_index(conn, settings), kategori, lat, lon)
    k = _run(job)
    out.print(f"{k.opd_kode} ({k.keputusan})", markup=False)
    out.print(k.teks, markup=False, highlight=False)
    if as_json:
        out.print_json(json.dumps(k.alasan, default=str))


@rules_app.command("list")
@guard
def rules_list(layanan: Annotated[str | None, typer.Option(help="Only rules that can route this category")] = None
               ) -> None:
    """The rules at their current version, highest priority first."""
    from geo_api.routing import store

    rows = _run(lambda conn, _s: store.list_rules(conn, layanan))
    table = Table("id", "v", "prio", "kategori", "wilayah", "tujuan", "aktif", "nama")
    for r in rows:
        where = r["wilayah"] + (f" {r['wilayah_kode']}" if r["wilayah_kode"] else "") + (
            f" {r['layer_id']} {json.dumps(r['atribut_filter'])} ≤{r['jarak_m']:g} m" if r["layer_id"] else "")
        table.add_row(str(r["id"]), str(r["versi"]), str(r["prioritas"]), r["layanan_kode"] or "*", where,
                      r["opd_kode"] or f"kantor {r['ke_kantor']}", "ya" if r["aktif"] else "tidak", r["nama"])
    out.print(table)


@rules_app.command("add")
@guard
def rules_add(
    nama: Annotated[str, typer.Option(help="Name of the rule")],
    wilayah: Annotated[str, typer.Option(help="kota | kecamatan | kelurahan | layer")],
    prioritas: Annotated[int, typer.Option(help="Higher is evaluated first")],
    layanan: Annotated[str | None, typer.Option(help="Category (default: every category)")] = None,
    wilayah_kode: Annotated[str | None, typer.Option(help="Kecamatan/kelurahan kode")] = None,
    layer: Annotated[str | None, typer.Option(help="Published layer id")] = None,
    filter_: Annotated[str | None, typer.Option("--filter", help='JSON, e.g. {"status": ["nasional"]}')] = None,
    jarak_m: Annotated[float, typer.Option(help="Within this many metres of a matching feature")] = 0,
    opd: Annotated[str | None, typer.Option(help="OPD kode")] = None,
    ke_kantor: Annotated[str | None, typer.Option(help="kecamatan | kelurahan: the local office")] = None,
    alasan: Annotated[str, typer.Option(help="Why the rule exists")] = "",
) -> None:
    """Add a rule."""
    from pydantic import ValidationError

    from geo_api.audit import Actor
    from geo_api.errors import InvalidParameter
    from geo_api.routing import store

    try:
        spec = store.RuleSpec(nama=nama, wilayah=wilayah, prioritas=prioritas, layanan_kode=layanan,
                              wilayah_kode=wilayah_kode, layer_id=layer,
                              atribut_filter=_json_arg("filter", filter_) or {}, jarak_m=jarak_m, opd_kode=opd,
                              ke_kantor=ke_kantor, alasan=alasan)
    except ValidationError as exc:
        raise InvalidParameter("rule", exc.errors()[0]["msg"]) from None
    r = _run(lambda conn, _s: store.add(conn, spec, Actor.cli()))
    console.print(f"aturan {r['id']} versi {r['versi']} ditambahkan")


@rules_app.command("change")
@guard
def rules_change(rule_id: int, changes: Annotated[str, typer.Argument(help='JSON, e.g. {"opd_kode": "dlh"}')]) -> None:
    """Change a rule (a new version; laporan already routed keep theirs)."""
    from geo_api.audit import Actor
    from geo_api.errors import InvalidParameter
    from geo_api.routing import store

    data = _json_arg("changes", changes)
    if not isinstance(data, dict):
        raise InvalidParameter("changes", "changes must be a JSON object")
    r = _run(lambda conn, _s: store.change(conn, rule_id, data, Actor.cli()))
    console.print(f"aturan {r['id']} sekarang versi {r['versi']}")


@rules_app.command("riwayat")
@guard
def rules_history(rule_id: int) -> None:
    """Every version of a rule."""
    from geo_api.routing import store

    r = _run(lambda conn, _s: store.get(conn, rule_id))
    out.print_json(json.dumps(r["riwayat"], default=str))
