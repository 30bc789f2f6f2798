"""`satupeta layers ...` (publish, list, restore, unpublish) and `satupeta keys ...` (API keys)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from geo_api.cli_common import console, guard, load_settings, out

layers_app = typer.Typer(help="OPD layers: publish a file as a collection and tileset, versions, unpublish.",
                         no_args_is_help=True)
keys_app = typer.Typer(help="API keys (stored hashed; shown once at creation).", no_args_is_help=True)


async def _with_conn(settings, job) -> Any:
    """Run `job(conn)` on a connection of the platform's async pool (the same code path as the API)."""
    from geo_api.db import open_pool, pooled

    pool = open_pool(settings.model_copy(update={"pool_min_size": 1, "pool_max_size": 1}))
    await pool.open(wait=True, timeout=15)
    try:
        async with pooled(pool) as conn:
            return await job(conn)
    finally:
        await pool.close()


def _run(job) -> Any:
    settings = load_settings()
    try:
        return asyncio.run(_with_conn(settings, job))
    except TimeoutError:
        from geo_api.errors import ServiceUnavailable

        raise ServiceUnavailable(f"Cannot reach the database at {settings.dsn}") from None


@layers_app.command("publish")
@guard
def publish_cmd(
    file: Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage, zipped Shapefile or CSV with lon/lat")],
    id: Annotated[str, typer.Option("--id", help="Layer id (a-z, 0-9, _)")],
    title: Annotated[str, typer.Option(help="Title shown in catalogues")],
    opd: Annotated[str, typer.Option(help="Owning OPD")],
    description: Annotated[str, typer.Option(help="Description")] = "",
    licence: Annotated[str, typer.Option(help="Licence")] = "",
    attribution: Annotated[str, typer.Option(help="Attribution")] = "",
    format: Annotated[str | None, typer.Option(help="geojson, gpkg, shapefile or csv")] = None,
    source_layer: Annotated[str | None, typer.Option(help="Layer inside a GeoPackage")] = None,
    csv_crs: Annotated[str, typer.Option(help="CRS of CSV coordinates")] = "EPSG:4326",
    kugi: Annotated[str | None, typer.Option(help="KUGI feature-type code (satupeta katalog kugi)")] = None,
    topic: Annotated[str | None, typer.Option(help="ISO 19115 topic category")] = None,
    keywords: Annotated[str | None, typer.Option(help="Theme keywords, comma-separated")] = None,
    purpose: Annotated[str | None, typer.Option(help="Purpose of the data (metadata)")] = None,
    scale: Annotated[str | None, typer.Option(help="Scale denominator, e.g. 5000")] = None,
    frequency: Annotated[str | None, typer.Option(help="ISO maintenance frequency, e.g. annually")] = None,
    lineage: Annotated[str | None, typer.Option(help="Lineage: source and processing")] = None,
) -> None:
    """Publish FILE as the new live version of layer --id (atomically; the report lists repairs and the SNI
    8843-1 metadata elements still missing; the metadata options given are kept by later versions)."""
    from geo_api.audit import Actor
    from geo_api.errors import DataError, PayloadTooLarge
    from layers import publish as pub

    if not file.is_file():
        raise DataError(f"{file} is not a file")
    settings = load_settings()
    limits = pub.Limits.from_settings(settings)
    if file.stat().st_size > limits.upload_bytes:
        raise PayloadTooLarge(f"{file} is larger than {limits.upload_bytes >> 20} MB")
    meta = pub.LayerMeta(id=id, title=title, opd=opd, description=description, licence=licence,
                         attribution=attribution)
    meta.validate()
    from layers.katalog.metadata import check_form

    given = check_form({"kugi": kugi, "topic": topic, "purpose": purpose, "scale": scale, "frequency": frequency,
                        "lineage": lineage,
                        "keywords": [k.strip() for k in (keywords or "").split(",") if k.strip()]})
    with tempfile.TemporaryDirectory(prefix="satupeta-layer-") as tmp:
        prep = pub.prepare(file, file.name, Path(tmp), limits, fmt=format, source_layer=source_layer,
                           csv_crs=csv_crs)
    result = _run(lambda conn: pub.publish(conn, prep, meta, Actor.cli(),  # audited as cli:<os user>
                                           metadata=given, settings=settings))
    rep = result["report"]
    console.print(f"published {result['id']} version {result['version']}: {result['feature_count']} features "
                  f"({rep['repaired_count']} repaired, {rep['rejected_count']} rejected)")
    for r in rep["rejected"][:20]:
        console.print(f"  rejected feature {r['feature']}: {r['reason']}", markup=False)
    console.print(f"collection: /ogc/collections/{result['id']}")
    for path in result.get("metadata", {}).get("missing", []):
        console.print(f"  metadata element missing (SNI 8843-1): {path}", markup=False)


@layers_app.command("list")
@guard
def list_cmd() -> None:
    """The published layers and their versions."""
    from geo_api.db import fetch_all

    rows = _run(lambda conn: fetch_all(conn, "layers_list", {"id": None}))
    table = Table("id", "title", "opd", "live version", "versions", "updated")
    for r in rows:
        table.add_row(r["id"], r["title"], r["opd"], str(r["current_version"] or "-"),
                      ", ".join(str(v["version"]) for v in r["versions"]), str(r["updated_at"])[:19])
    out.print(table)


@layers_app.command("restore")
@guard
def restore_cmd(layer_id: Annotated[str, typer.Argument(help="Layer id")],
                version: Annotated[int, typer.Option(help="Version to make live")]) -> None:
    """Make a kept version of a layer live again."""
    from geo_api.audit import Actor
    from layers import publish as pub

    result = _run(lambda conn: pub.restore(conn, layer_id, version, Actor.cli()))
    console.print(f"{result['id']} now serves version {result['version']}")


@layers_app.command("unpublish")
@guard
def unpublish_cmd(layer_id: Annotated[str, typer.Argument(help="Layer id")]) -> None:
    """Take a layer off the collections (its versions stay and can be restored)."""
    from geo_api.audit import Actor
    from layers import publish as pub

    _run(lambda conn: pub.unpublish(conn, layer_id, Actor.cli()))
    console.print(f"{layer_id} unpublished")


@keys_app.command("create")
@guard
def key_create(name: Annotated[str, typer.Argument(help="Who or what uses the key")],
               role: Annotated[str, typer.Option(help="Role: citizen_app, opd_officer, gis_admin, tracker")],
               opd: Annotated[str | None, typer.Option(help="opd_officer keys: the OPD kode they act for")] = None,
               semua_opd: Annotated[bool, typer.Option("--semua-opd", help="opd_officer keys: act for every OPD "
                                                       "(e.g. the LAKSA desk), instead of --opd")] = False,
               device: Annotated[str | None, typer.Option(help="tracker keys: the device identifier")] = None,
               ) -> None:
    """Create a key and print it once (only its hash is stored); the role is required, and an opd_officer key
    needs --opd or --semua-opd."""
    from geo_api import apikeys
    from geo_api.audit import Actor
    from geo_api.db import connect

    with connect(load_settings()) as conn:
        key, _ = apikeys.create(conn, Actor.cli(), name, role, opd=opd, device=device, semua_opd=semua_opd)
    console.print(f"key {name!r} ({role}) created; it is shown only now:")
    out.print(key, markup=False, highlight=False)


@keys_app.command("list")
@guard
def key_list() -> None:
    """The keys (names, roles, bindings, dates; never the keys)."""
    from geo_api.db import connect
    from sql import query

    with connect(load_settings()) as conn:
        rows = conn.execute(query("layers_api_key_list")).fetchall()
    table = Table("id", "name", "role", "bound to", "created", "revoked")
    for r in rows:
        table.add_row(str(r["id"]), r["name"], r["role"], _binding(r), str(r["created_at"])[:19],
                      str(r["revoked_at"] or "")[:19])
    out.print(table)


def _binding(r: dict[str, Any]) -> str:
    if r["role"] == "opd_officer":
        return (f"opd {r['opd_kode']}" if r["opd_kode"] else "semua OPD" if r["semua_opd"]
                else "tidak ada OPD (keys bind)")
    return f"device {r['device_unique_id']}" if r["device_unique_id"] else ""


@keys_app.command("revoke")
@guard
def key_revoke(name: Annotated[str, typer.Argument(help="Key name")]) -> None:
    """Revoke a key by name (it stops working at once)."""
    from geo_api import apikeys
    from geo_api.audit import Actor
    from geo_api.db import connect

    with connect(load_settings()) as conn:
        apikeys.revoke(conn, Actor.cli(), name)
    console.print(f"key {name!r} revoked")
