"""Layer facts for layer rules: the nearest matching feature of each rule's published layer, in one statement."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg import sql

from geo_api.routing.model import LayerFakta, Rule

log = logging.getLogger("satupeta.routing.facts")

# How many candidates the index-ordered (degree) KNN hands to the exact metre distance.
_KNN_CANDIDATES = 4


def _rule_sql(rule: Rule, columns: Mapping[str, str]) -> sql.Composable:
    """SELECT of the nearest feature matching the rule's predicate; identifiers come from the catalog only."""
    conds = [sql.SQL("{}::text = ANY({}::text[])").format(sql.Identifier(col), sql.Literal(list(vals)))
             for col, vals in rule.atribut_filter.items()]
    where = sql.SQL(" AND ").join(conds) if conds else sql.SQL("true")
    attrs = [c for c in columns if c != "geom"]
    props = sql.SQL(", ").join(sql.SQL("{}, f.{}").format(sql.Literal(c), sql.Identifier(c)) for c in attrs)
    return sql.SQL(
        "(SELECT jsonb_build_object('fid', c.fid::text, 'jarak_m', c.jarak_m, 'atribut', c.atribut) FROM ("
        "SELECT f.fid, ST_Distance(f.geom::geography, p.g::geography) AS jarak_m,"
        " jsonb_build_object({props}) AS atribut"
        " FROM {layer} f WHERE {where} ORDER BY f.geom <-> p.g LIMIT {k}) c ORDER BY c.jarak_m LIMIT 1)"
    ).format(props=props, layer=sql.Identifier("published", rule.layer_id), where=where,
             k=sql.Literal(_KNN_CANDIDATES))


def usable(rule: Rule, layer_columns: Mapping[str, Mapping[str, str]]) -> bool:
    """Whether the rule's layer is published and has every column its predicate names (and fid, geom)."""
    cols = layer_columns.get(rule.layer_id or "")
    return bool(cols) and {"fid", "geom", *rule.atribut_filter} <= set(cols)


def statement(rules: Sequence[Rule], layer_columns: Mapping[str, Mapping[str, str]]) -> sql.Composable | None:
    """One SELECT answering every usable layer rule at the point %(lon)s, %(lat)s (None: nothing to ask)."""
    parts = [sql.SQL("{} AS {}").format(_rule_sql(r, layer_columns[r.layer_id]), sql.Identifier(f"r{r.rule_id}"))
             for r in rules if r.wilayah == "layer" and usable(r, layer_columns)]
    if not parts:
        return None
    return sql.SQL("SELECT {} FROM (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g) p").format(
        sql.SQL(", ").join(parts))


def parse(rules: Sequence[Rule], row: Mapping[str, Any] | None,
          layer_columns: Mapping[str, Mapping[str, str]]) -> dict[int, LayerFakta]:
    """Turn the statement's row into facts per rule (unusable rules: layer not available)."""
    out: dict[int, LayerFakta] = {}
    for r in rules:
        if r.wilayah != "layer":
            continue
        if not usable(r, layer_columns):
            out[r.rule_id] = LayerFakta(r.layer_id or "", tersedia=False)
            continue
        hit = (row or {}).get(f"r{r.rule_id}")
        out[r.rule_id] = LayerFakta(r.layer_id or "", fid=hit["fid"], jarak_m=float(hit["jarak_m"]),
                                    atribut=hit["atribut"]) if hit else LayerFakta(r.layer_id or "")
    return out


async def layer_facts(conn: psycopg.AsyncConnection, lat: float, lon: float, rules: Sequence[Rule],
                      layer_columns: Mapping[str, Mapping[str, str]],
                      cache: dict[tuple[int, ...], str | None] | None = None) -> dict[int, LayerFakta]:
    """The facts every layer rule needs at this point, in one round trip.

    cache: rendered statements by rule ids, so a rule set renders each once (and the same text lets
    psycopg prepare it server-side after a few runs).
    """
    ids = tuple(r.rule_id for r in rules)
    if cache is not None and ids in cache:
        stmt = cache[ids]
    else:
        composed = statement(rules, layer_columns)
        stmt = composed.as_string(conn) if composed is not None else None
        if cache is not None:
            cache[ids] = stmt
    if stmt is None:
        return parse(rules, None, layer_columns)
    try:
        async with conn.cursor() as cur:
            await cur.execute(stmt, {"lat": lat, "lon": lon})
            row = await cur.fetchone()
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as exc:
        # A layer was unpublished or re-shaped since the catalog was read: its rules cannot apply now.
        log.warning("layer facts unavailable (%s); treating layer rules as not applicable", exc)
        return parse(rules, None, {})
    return parse(rules, row, layer_columns)
