"""Routing rules in the database: list, add, change (a new immutable version each time, audited with the actor
in its transaction), history."""

from __future__ import annotations

from typing import Any, Literal

import psycopg
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, Field, model_validator

from geo_api.audit import Actor, record_by
from geo_api.db import fetch_all, fetch_one
from geo_api.errors import InvalidParameter, NotFound
from layers.catalog import published_columns

_FIELDS = ("nama", "layanan_kode", "wilayah", "wilayah_kode", "layer_id", "atribut_filter", "jarak_m", "opd_kode",
           "ke_kantor", "prioritas", "aktif", "alasan")


class RuleSpec(BaseModel):
    """What a rule says: category × where → OPD, with a priority (higher is evaluated first)."""

    model_config = ConfigDict(extra="forbid")

    nama: str = Field(min_length=1, max_length=200)
    layanan_kode: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,39}$",
                                     description="Category; null = every category")
    wilayah: Literal["kota", "kecamatan", "kelurahan", "layer"]
    wilayah_kode: str | None = Field(default=None, max_length=20, description="Kecamatan/kelurahan Kemendagri kode")
    layer_id: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,62}$", description="Published layer")
    atribut_filter: dict[str, list[str]] = Field(default_factory=dict,
                                                 description='Feature predicate, e.g. {"status": ["nasional"]}')
    jarak_m: float = Field(default=0, ge=0, le=5000, description="Within this many metres of a matching feature")
    opd_kode: str | None = Field(default=None, max_length=40)
    ke_kantor: Literal["kecamatan", "kelurahan"] | None = Field(
        default=None, description="Send to the office of the kecamatan/kelurahan the point lies in")
    prioritas: int = Field(ge=-1000, le=100000)
    aktif: bool = True
    alasan: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _consistent(self) -> RuleSpec:
        if (self.opd_kode is None) == (self.ke_kantor is None):
            raise ValueError("give exactly one of opd_kode or ke_kantor")
        if (self.wilayah in ("kecamatan", "kelurahan")) != (self.wilayah_kode is not None):
            raise ValueError("wilayah_kode is required for kecamatan/kelurahan rules, and only for them")
        if (self.wilayah == "layer") != (self.layer_id is not None):
            raise ValueError("layer_id is required for layer rules, and only for them")
        if self.wilayah != "layer" and (self.atribut_filter or self.jarak_m):
            raise ValueError("atribut_filter and jarak_m only apply to layer rules")
        if len(self.atribut_filter) > 10 or any(len(v) > 50 or not v for v in self.atribut_filter.values()):
            raise ValueError("atribut_filter: at most 10 columns, each with 1-50 values")
        return self


def _params(spec: RuleSpec, rule_id: int, versi: int, oleh: str) -> dict[str, Any]:
    p = spec.model_dump()
    p.update(rule_id=rule_id, versi=versi, diubah_oleh=oleh[:200], atribut_filter=Jsonb(spec.atribut_filter))
    return p


async def validate(conn: psycopg.AsyncConnection, spec: RuleSpec) -> None:
    """Check the names a rule refers to against the database (category, OPD, wilayah, layer and columns)."""
    refs = await fetch_one(conn, "routing_check_refs", {"layanan_kode": spec.layanan_kode, "opd_kode": spec.opd_kode})
    if not refs["layanan_ada"]:
        raise InvalidParameter("layanan_kode", f"Unknown category {spec.layanan_kode!r}")
    if not refs["opd_ada"]:
        raise InvalidParameter("opd_kode", f"Unknown or inactive OPD {spec.opd_kode!r}")
    if spec.wilayah in ("kecamatan", "kelurahan"):
        row = await fetch_one(conn, "routing_check_wilayah", {"kode": spec.wilayah_kode, "wilayah": spec.wilayah})
        if not row["ada"]:
            raise InvalidParameter("wilayah_kode", f"No {spec.wilayah} with kode {spec.wilayah_kode!r} in the city")
    if spec.layer_id:
        cols = set((await published_columns(conn, [spec.layer_id])).get(spec.layer_id, ()))
        if not cols:
            raise InvalidParameter("layer_id", f"No published layer {spec.layer_id!r}")
        missing = sorted(set(spec.atribut_filter) - cols)
        if missing:
            raise InvalidParameter("atribut_filter", f"Layer {spec.layer_id!r} has no column(s) {', '.join(missing)}")


async def add(conn: psycopg.AsyncConnection, spec: RuleSpec, actor: Actor, kunci: str | None = None
              ) -> dict[str, Any]:
    """Create a rule (version 1) with its audit row in one transaction; returns it."""
    await validate(conn, spec)
    async with conn.transaction():
        rule_id = (await fetch_one(conn, "routing_rule_head_insert", {"kunci": kunci}))["id"]
        await fetch_one(conn, "routing_rule_versi_insert", _params(spec, rule_id, 1, actor.label))
        rule = await get(conn, rule_id)
        await record_by(conn, actor, action="rule.add", target=f"rule:{rule_id}", after=current(rule))
    return rule


async def change(conn: psycopg.AsyncConnection, rule_id: int, changes: dict[str, Any], actor: Actor
                 ) -> dict[str, Any]:
    """Write a new version with these fields changed, audited in the same transaction; laporan keep pointing at
    the version that routed them. Nothing changed: no version, no audit row."""
    unknown = set(changes) - set(_FIELDS)
    if unknown:
        raise InvalidParameter(sorted(unknown)[0], f"Unknown rule field(s): {', '.join(sorted(unknown))}")
    async with conn.transaction():
        current_row = await fetch_one(conn, "routing_rule_get", {"rule_id": rule_id})
        if current_row is None:
            raise NotFound(f"No routing rule {rule_id}")
        merged = {k: current_row[k] for k in _FIELDS} | changes
        try:
            spec = RuleSpec.model_validate(merged)
        except ValueError as exc:
            raise InvalidParameter("rule", str(exc).splitlines()[-1] if str(exc) else "invalid rule") from exc
        await validate(conn, spec)
        if spec.model_dump() == RuleSpec.model_validate({k: current_row[k] for k in _FIELDS}).model_dump():
            return await get(conn, rule_id)  # nothing changed: no new version
        before = current(await get(conn, rule_id))
        versi = (await fetch_one(conn, "routing_rule_next_versi", {"rule_id": rule_id}))["versi"]
        await fetch_one(conn, "routing_rule_versi_insert", _params(spec, rule_id, versi, actor.label))
        await fetch_one(conn, "routing_rule_set_versi", {"rule_id": rule_id, "versi": versi})
        rule = await get(conn, rule_id)
        await record_by(conn, actor, action="rule.change", target=f"rule:{rule_id}", before=before,
                        after=current(rule))
    return rule


def current(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule as the audit log keeps it: the current version, without the history it already holds."""
    return {k: v for k, v in rule.items() if k != "riwayat"}


async def get(conn: psycopg.AsyncConnection, rule_id: int) -> dict[str, Any]:
    """One rule at its current version, with its history."""
    history = await fetch_all(conn, "routing_rule_history", {"rule_id": rule_id})
    if not history:
        raise NotFound(f"No routing rule {rule_id}")
    head = await fetch_one(conn, "routing_rule_read", {"rule_id": rule_id})  # a read: no row lock
    return {**_public(head), "riwayat": [_public(h) for h in history]}


async def list_rules(conn: psycopg.AsyncConnection, layanan: str | None = None) -> list[dict[str, Any]]:
    """Every rule at its current version (optionally those that can route one category)."""
    return [_public(r) for r in await fetch_all(conn, "routing_rule_list", {"layanan": layanan})]


def _public(row: dict[str, Any]) -> dict[str, Any]:
    out = {"id": row["rule_id"], "versi": row["versi"], "kunci": row.get("kunci")}
    out.update({k: row[k] for k in _FIELDS})
    out.update(diubah_oleh=row["diubah_oleh"], diubah_pada=row["diubah_pada"])
    return out
