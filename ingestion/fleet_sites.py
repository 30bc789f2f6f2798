"""Disposal sites (TPS, TPA) from the layer the city publishes, as geofences for visit detection."""

from __future__ import annotations

from typing import Any

import psycopg
import shapely
from psycopg import sql

from ingestion.trips import Site
from layers.catalog import published_columns


def site_from(fid: Any, nama: str | None, jenis: str | None, geom, radius_tps: float, radius_tpa: float,
              jadwal: str | None = None, kendaraan: str | None = None, kecamatan_kode: str | None = None) -> Site:
    """A geofence for one site: polygons as drawn; points get a radius by jenis (TPA larger than TPS)."""
    kind = (jenis or "TPS").strip().upper()
    radius = radius_tpa if kind.startswith("TPA") else radius_tps
    return Site(fid=str(fid), nama=nama or str(fid), jenis=kind, geom=geom, radius_m=radius,
                jadwal=(jadwal or None) and jadwal.strip() or None, kendaraan=(kendaraan or "").strip() or None,
                kecamatan_kode=kecamatan_kode)


_COLUMNS = ("fid", "nama", "jenis", "jadwal", "kendaraan", "kecamatan_kode", "wkb")


async def load_sites(conn: psycopg.AsyncConnection, layer: str, radius_tps: float,
                     radius_tpa: float) -> list[Site] | None:
    """Read the sites layer's live view `published."<layer>"`; None when it is not published.

    Optional columns: `jadwal` (collection schedule), `kendaraan` (plate). The kecamatan is where the site lies
    (the kecamatan polygon containing its point on surface)."""
    async with conn.cursor() as cur:
        cols = set((await published_columns(conn, [layer])).get(layer, ()))
        if not {"fid", "geom"} <= cols:
            return None
        def col(name: str) -> sql.Composable:
            return sql.SQL("s.{}").format(sql.Identifier(name)) if name in cols else sql.SQL("NULL::text")
        stmt = sql.SQL("SELECT s.fid::text AS fid, {}::text AS nama, {}::text AS jenis, {}::text AS jadwal, "
                       "{}::text AS kendaraan, k.kode AS kecamatan_kode, "
                       "ST_AsBinary(ST_Force2D(s.geom)) AS wkb FROM published.{} s "
                       "LEFT JOIN LATERAL (SELECT kode FROM kecamatan "
                       "WHERE ST_Intersects(kecamatan.geom, ST_PointOnSurface(s.geom)) ORDER BY kode LIMIT 1) k "
                       "ON true WHERE s.geom IS NOT NULL").format(
            col("nama"), col("jenis"), col("jadwal"), col("kendaraan"), sql.Identifier(layer))
        await cur.execute(stmt)
        rows = await cur.fetchall()
    out = []
    for r in rows:
        r = r if isinstance(r, dict) else dict(zip(_COLUMNS, r, strict=True))
        geom = shapely.from_wkb(bytes(r["wkb"]))
        if geom.geom_type == "MultiPoint" and len(geom.geoms) == 1:
            geom = geom.geoms[0]
        out.append(site_from(r["fid"], r["nama"], r["jenis"], geom, radius_tps, radius_tpa,
                             r["jadwal"], r["kendaraan"], r["kecamatan_kode"]))
    return out


async def publish_synthetic_sites(conn: psycopg.AsyncConnection, settings: Any, sites_geojson: dict[str, Any],
                                  workdir: Any) -> dict[str, Any]:
    """Publish the simulator's SYNTHETIC sites as the sites layer through the layers publish function."""
    from pathlib import Path

    import orjson

    from layers.publish import LayerMeta, Limits, prepare, publish

    path = Path(workdir) / "lokasi_tps_tpa_sintetis.geojson"
    path.write_bytes(orjson.dumps(sites_geojson))
    prep = prepare(path, path.name, Path(workdir), Limits.from_settings(settings))
    meta = LayerMeta(id=settings.fleet_sites_layer, title="Lokasi TPS/TPA SINTETIS (simulator Si Lacak)", opd="dlh",
                     description="Lokasi TPS dan TPA buatan simulator armada sampah untuk uji dan peragaan; "
                                 "BUKAN data resmi DLH. TPA Rawa Kucing: titik perkiraan (Kel. Kedaung Wetan, "
                                 "Kec. Neglasari).",
                     licence="CC0-1.0", attribution="Satu Peta (data sintetis)", published_by="satupeta fleet")
    return await publish(conn, prep, meta)
