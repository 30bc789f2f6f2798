"""Route a laporan against the database: the rule set (cached per stamp), where the point is, layer facts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg

from geo_api.db import fetch_all, fetch_one
from geo_api.routing.evaluate import evaluate
from geo_api.routing.facts import layer_facts
from geo_api.routing.lokasi import locate
from geo_api.routing.model import Keputusan, LayerFakta, Rule, RuleSet
from layers.catalog import published_columns

if TYPE_CHECKING:
    from geo_api.geocoding.reverse import ReverseIndex


@dataclass
class Routing:
    """The loaded rule set and the columns of the layers it names; reloaded when the database stamp moves."""

    ruleset: RuleSet
    layer_columns: dict[str, dict[str, str]] = field(default_factory=dict)
    statements: dict[tuple[int, ...], str | None] = field(default_factory=dict)
    evidence: Any = None  # async (conn, layanan, lat, lon, keputusan): waste complaints' TPS record (fleet/evidence)


async def load(conn: psycopg.AsyncConnection, triase_opd: str, stamp: str = "") -> Routing:
    """Read the rules in force, OPD and category names, and the columns of the layers the rules name."""
    rules = tuple(Rule.from_row(r) for r in await fetch_all(conn, "routing_rules_aktif"))
    opd = {r["kode"]: r["nama"] for r in await fetch_all(conn, "routing_opd_nama")}
    layanan = {r["kode"]: r["nama"] for r in await fetch_all(conn, "routing_layanan_nama")}
    layers = sorted({r.layer_id for r in rules if r.layer_id})
    cols = await published_columns(conn, layers)
    return Routing(RuleSet(rules, opd, layanan, triase_opd, stamp), cols)


class RoutingCache:
    """The app's rule set, reloaded only when the stamp (rules, OPDs, categories, layers) changes."""

    def __init__(self, triase_opd: str, evidence: Any = None):
        """Start empty; the first call loads."""
        self.triase_opd = triase_opd
        self.evidence = evidence
        self._current: Routing | None = None
        self._lock = asyncio.Lock()

    async def get(self, conn: psycopg.AsyncConnection) -> Routing:
        """The current rule set (one tiny stamp query when nothing changed)."""
        stamp = (await fetch_one(conn, "routing_stamp"))["stamp"]
        if self._current is not None and self._current.ruleset.stamp == stamp:
            return self._current
        async with self._lock:
            if self._current is None or self._current.ruleset.stamp != stamp:
                self._current = await load(conn, self.triase_opd, stamp)
                self._current.evidence = self.evidence
        return self._current

    def invalidate(self) -> None:
        """Reload on next use even if the stamp looks unchanged (a notification said the rules moved)."""
        self._current = None


async def route(conn: psycopg.AsyncConnection, routing: Routing, reverse: ReverseIndex, layanan_kode: str,
                lat: float, lon: float, *, titik_kasar: str = "") -> Keputusan:
    """Decide the OPD for one laporan, with reasons (in-memory location, at most one layer query).

    titik_kasar: why the point is only approximate (e.g. located from an address): distance rules then
    do not apply, since metres from a road mean nothing at a kelurahan's label point.
    """
    lokasi = locate(reverse, lat, lon)
    rules = routing.ruleset.for_layanan(layanan_kode)
    fakta = {}
    if titik_kasar:
        fakta = {r.rule_id: LayerFakta(r.layer_id or "", catatan=titik_kasar) for r in rules if r.layer_id}
    elif lokasi.di_kota and layanan_kode in routing.ruleset.layanan_nama:
        fakta = await layer_facts(conn, lat, lon, rules, routing.layer_columns, routing.statements)
    k = evaluate(layanan_kode, lokasi, routing.ruleset, fakta)
    if routing.evidence is not None and lokasi.di_kota:
        await routing.evidence(conn, layanan_kode, lat, lon, k)  # a waste complaint: the nearest TPS's record
    return k
