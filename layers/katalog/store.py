"""Metadata records in PostgreSQL: written for bundled layers from their load facts and SOURCES.md, and for
published layers inside the publish transaction; read as rendered ISO 19139 / Records JSON (cached per row)."""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg import sql

from geo_api.db import fetch_all, fetch_one
from layers.katalog import metadata as md

log = logging.getLogger("satupeta.katalog")

LICENCE_URLS = {"MIT": "https://opensource.org/license/mit",
                "ODbL-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
                "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/"}


# ---------------------------------------------------------------- SOURCES.md facts for the bundled layers

def sources_facts(data_dir: Path) -> dict[str, dict[str, str]]:
    """Per data file named in SOURCES.md's contents table: what it is, its source and that source's snapshot date."""
    try:
        text = (data_dir / "SOURCES.md").read_text(encoding="utf-8")
    except OSError:
        return {}
    dates = {m.group(1): m.group(2) for m in re.finditer(
        r"^\|\s*([\w.-]+/[\w.-]+)\s*\|\s*[0-9a-f]{7,40}\s*\((\d{4}-\d{2}-\d{2})\)", text, re.MULTILINE)}
    out = {}
    for m in re.finditer(r"^\|\s*`([^`]+)`\s*\|([^|]*)\|([^|]*)\|([^|]*)\|", text, re.MULTILINE):
        source = m.group(4).strip()
        repo = re.match(r"[\w.-]+/[\w.-]+", source)
        out[m.group(1)] = {"what": m.group(2).strip(), "source": source,
                           "date": dates.get(repo.group(0), "") if repo else ""}
    return out


async def _extent(conn: psycopg.AsyncConnection, schema: str, table: str) -> list[float] | None:
    q = sql.SQL("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                "(SELECT ST_Extent(geom)::box2d AS e FROM {}) AS x").format(sql.Identifier(schema, table))
    async with conn.cursor(row_factory=psycopg.rows.tuple_row) as cur:
        await cur.execute(q)
        row = await cur.fetchone()
    return [round(float(v), 7) for v in row] if row and row[0] is not None else None


def bundled_facts(row: dict[str, Any], src: dict[str, str], node: md.Node, bbox: list[float] | None) -> md.Facts:
    """The record of one bundled layer: data_layer's load facts, SOURCES.md's lineage, bundled.yaml's codes."""
    extra = md.bundled_facts().get(row["id"], {})
    what = src.get("what") or row["title"]
    lineage = (f"Sumber: {row['source']}. Berkas {row['source_file']} (sha256 {row['sha256'][:16]}…, "
               f"{row['feature_count']} fitur) dari data bersama proyek, dijelaskan di SOURCES.md: {what}; "
               f"sumber menurut SOURCES.md: {src.get('source') or row['source']}. Dikonversi dengan skrip _build/ "
               f"proyek (tanpa menyalin kode sumber), dimuat ke PostGIS oleh `satupeta load` pada "
               f"{md.instant(row['loaded_at'])} UTC setelah diperiksa.")
    return md.Facts(
        collection_id=row["id"], kind="bundled", version=0, title=row["title"],
        abstract=(f"{row['title']}: {row['feature_count']} fitur. Kode wilayah Kemendagri (bukan BPS) kecuali kolom "
                  f"bertanda bps. Menurut SOURCES.md: \u201c{what}\u201d. Sumber: {row['source']}."),
        purpose=extra.get("purpose", ""), topic=extra.get("topic", ""), kugi=extra.get("kugi", ""),
        keywords=list(extra.get("keywords", [])), opd=node.organisation, contact_email=node.email,
        created=src.get("date", ""), published=md.instant(row["loaded_at"]), revised=md.instant(row["loaded_at"]),
        bbox=bbox, geometry_type=row["geometry_type"], feature_count=row["feature_count"],
        scale=extra.get("scale"), lineage=lineage, licence=row["licence"],
        licence_url=LICENCE_URLS.get(row["licence"], ""), attribution=row["attribution"],
        frequency=extra.get("frequency", ""))


async def sync_bundled(conn: psycopg.AsyncConnection, settings: Any) -> int:
    """Write the record of every bundled layer loaded since its record was made; returns how many were written.

    Cheap when nothing changed (one indexed query), so readers call it before they read."""
    stale = await stale_bundled(conn, settings)
    node = md.Node.from_settings(settings)
    for facts in stale:
        await upsert(conn, facts, node, {})
    if stale:
        log.info("catalogue records written for %d bundled layers", len(stale))
    return len(stale)


async def stale_bundled(conn: psycopg.AsyncConnection, settings: Any) -> list[md.Facts]:
    """The records the bundled layers loaded since their record was made should have (read only)."""
    stale = await fetch_all(conn, "katalog_bundled_stale")
    if not stale:
        return []
    node = md.Node.from_settings(settings)
    sources = sources_facts(Path(settings.data_dir))
    out = []
    for row in stale:
        bbox = await _extent(conn, "public", row["id"]) if row["geometry_type"] else None
        out.append(bundled_facts(row, sources.get(row["source_file"], {}), node, bbox))
    return out


async def revise(conn: psycopg.AsyncConnection, settings: Any, layer_id: str, given: dict[str, Any],
                 actor: Any) -> tuple[int, md.Facts]:
    """Revise the live version's record of a published layer with a document's elements, audited in the same
    transaction; NotFound when the layer is not published."""
    from geo_api.audit import record_by
    from geo_api.errors import NotFound

    async with conn.transaction():
        row = await record(conn, layer_id)
        if row is None or row["kind"] != "published":
            raise NotFound(f"No published layer {layer_id!r}", extra={"parameter": "layer_id"})
        before = sorted((row["mcf"] or {}).get("given", {}))
        facts = await write_published(conn, settings, layer_id, row["version"], given, keep_own=True)
        await record_by(conn, actor, action="layer.metadata", target=f"layer:{layer_id}",
                        before={"version": row["version"], "elements": before},
                        after={"version": row["version"], "elements": sorted(given)})
    return row["version"], facts


# ---------------------------------------------------------------- writes

async def upsert(conn: psycopg.AsyncConnection, facts: md.Facts, node: md.Node, given: dict[str, Any]) -> None:
    """Store one record (revising the same version's)."""
    kugi_name = md.kugi_codes().get(facts.kugi, "")
    anytext = " ".join(str(x) for x in (facts.title, facts.abstract, facts.purpose, facts.topic, facts.kugi,
                                        kugi_name, " ".join(facts.keywords), facts.opd, facts.lineage,
                                        facts.attribution, facts.licence, " ".join(md.PLACES), facts.collection_id))
    b = facts.bbox or [None] * 4
    await fetch_one(conn, "katalog_upsert", {
        "collection_id": facts.collection_id, "version": facts.version, "kind": facts.kind,
        "identifier": node.identifier(facts.collection_id), "title": facts.title, "abstract": facts.abstract,
        "opd": facts.opd, "topic": facts.topic, "kugi": facts.kugi, "keywords": facts.keywords,
        "minx": b[0], "miny": b[1], "maxx": b[2], "maxy": b[3], "created": facts.created or None,
        "revised": facts.revised, "anytext": anytext,
        "mcf": orjson.dumps({"facts": facts.to_dict(), "given": given}).decode()})


def _publish_lineage(row: dict[str, Any]) -> str:
    rep = row["report"] or {}
    return (f"Diunggah oleh {row['opd']} ({row['published_by'] or 'tanpa nama'}) dari berkas {row['source_file']} "
            f"({rep.get('format', '?')}, CRS asal {rep.get('source_crs', '?')}); {rep.get('features_in', '?')} fitur "
            f"dibaca, {row['feature_count']} diterbitkan, {rep.get('repaired_count', 0)} geometri diperbaiki, "
            f"{rep.get('rejected_count', 0)} ditolak; diubah ke EPSG:4326 dan Multi-geometri oleh Satu Peta.")


async def write_published(conn: psycopg.AsyncConnection, settings: Any, layer_id: str, version: int,
                          given: dict[str, Any], keep_own: bool = False) -> md.Facts:
    """The record of a just-published version, in the caller's transaction: the previous version's given
    elements kept (`keep_own`: this version's own, when its record is revised), the new ones over them, extent
    and counts from the new data."""
    node = md.Node.from_settings(settings)
    row = await fetch_one(conn, "katalog_layer_version", {"id": layer_id, "version": version})
    prev = await fetch_one(conn, "katalog_previous", {"id": layer_id, "version": version + 1 if keep_own else version})
    kept = dict((prev["mcf"] or {}).get("given", {})) if prev else {}
    kept.update(given)
    created = kept.get("created") or (str(prev["date_creation"]) if prev and prev["date_creation"] else
                                      row["created_at"].date().isoformat())
    bbox = await _extent(conn, "published", row["table_name"])
    facts = md.Facts(
        collection_id=layer_id, kind="published", version=version, title=row["title"],
        abstract=kept.get("abstract") or row["description"] or "", purpose=kept.get("purpose", ""),
        topic=kept.get("topic", ""), kugi=kept.get("kugi", ""), keywords=list(kept.get("keywords", [])),
        opd=row["opd"], contact_email=kept.get("contact_email", ""), created=created,
        published=md.instant(row["created_at"]), revised=md.instant(row["version_at"]), bbox=bbox,
        geometry_type=row["geometry_type"], feature_count=row["feature_count"], scale=kept.get("scale"),
        lineage=kept.get("lineage") or _publish_lineage(row), licence=row["licence"] or kept.get("licence", ""),
        licence_url=kept.get("licence_url", "") or LICENCE_URLS.get(row["licence"], ""),
        attribution=row["attribution"], frequency=kept.get("frequency") or "asNeeded")
    await upsert(conn, facts, node, kept)
    return facts


# ---------------------------------------------------------------- reads and renderings

class Renderings:
    """ISO 19139 and Records JSON per (record, revision, base URL): pygeometa's Jinja run once per revision."""

    def __init__(self, size: int = 512):
        self.size = size
        self._cache: OrderedDict[tuple, Any] = OrderedDict()

    def _get(self, key: tuple, make: Any) -> Any:
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        value = make()
        self._cache[key] = value
        if len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return value

    def iso(self, row: dict[str, Any], node: md.Node, base: str, ows: bool) -> bytes:
        """The row's ISO 19139 document."""
        return self._get(("iso", row["identifier"], row["version"], _stamp(row), base, ows),
                         lambda: md.iso19139(md.mcf(facts_of(row), node, base, ows)))

    def record(self, row: dict[str, Any], node: md.Node, base: str, ows: bool) -> dict[str, Any]:
        """The row's OGC API - Records item."""
        return self._get(("rec", row["identifier"], row["version"], _stamp(row), base, ows),
                         lambda: md.records_json(md.mcf(facts_of(row), node, base, ows)))


def _stamp(row: dict[str, Any]) -> str:
    u = row.get("updated_at")
    return u.isoformat() if isinstance(u, datetime) else str(u)


def facts_of(row: dict[str, Any]) -> md.Facts:
    """The Facts stored in a record row."""
    return md.Facts.from_dict(row["mcf"]["facts"])


RENDERINGS = Renderings()


async def record(conn: psycopg.AsyncConnection, ident: str) -> dict[str, Any] | None:
    """The record in force of a collection id or record identifier (None: unknown or unpublished)."""
    return await fetch_one(conn, "katalog_record", {"id": ident})


async def all_records(conn: psycopg.AsyncConnection) -> list[dict[str, Any]]:
    """Every record in force."""
    return await fetch_all(conn, "katalog_all")


_ROW = sql.SQL("collection_id, version, kind, identifier, mcf, updated_at")


async def search(conn: psycopg.AsyncConnection, cond: sql.Composable, values: list[Any], order: sql.Composable,
                 limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    """Records in force matching a composed condition (values bound): how many, and one page of them."""
    async with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        await cur.execute(sql.SQL("SELECT count(*) AS n FROM katalog_current WHERE {}").format(cond), values)
        matched = (await cur.fetchone())["n"]
        rows: list[dict[str, Any]] = []
        if limit > 0 and offset < matched:
            await cur.execute(sql.SQL("SELECT {} FROM katalog_current WHERE {} ORDER BY {} LIMIT {} OFFSET {}")
                              .format(_ROW, cond, order, sql.Literal(limit), sql.Literal(offset)), values)
            rows = await cur.fetchall()
    return matched, rows


async def extent(conn: psycopg.AsyncConnection) -> list[float] | None:
    """The extent of every record in force (the catalogue collection's)."""
    row = await fetch_one(conn, "katalog_extent")
    return [row["minx"], row["miny"], row["maxx"], row["maxy"]] if row and row["minx"] is not None else None
