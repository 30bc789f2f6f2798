"""Plain data of routing: a rule version, where a point lies, layer facts, and the decision with evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Wilayah = Literal["kota", "kecamatan", "kelurahan", "layer"]
KOTA_KODE = "36.71"


def kantor_kode(jenis: str, kode: str) -> str:
    """The OPD kode of a territorial office: kec-<kode>, kel-<kode> or kab-<kode> (Kemendagri kode)."""
    prefix = {"kecamatan": "kec", "kelurahan": "kel", "kabkota_tetangga": "kab"}[jenis]
    return f"{prefix}-{kode}"


@dataclass(frozen=True)
class Rule:
    """One version of a routing rule, as stored in routing_rule_versi."""

    rule_id: int
    versi: int
    nama: str
    layanan_kode: str | None
    wilayah: Wilayah
    prioritas: int
    opd_kode: str | None = None
    ke_kantor: str | None = None
    wilayah_kode: str | None = None
    layer_id: str | None = None
    atribut_filter: dict[str, list[str]] = field(default_factory=dict)
    jarak_m: float = 0.0
    alasan: str = ""
    kunci: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Rule:
        """Build from a routing_rule_aktif / routing_rule_versi row."""
        return cls(rule_id=row["rule_id"], versi=row["versi"], nama=row["nama"], layanan_kode=row["layanan_kode"],
                   wilayah=row["wilayah"], prioritas=row["prioritas"], opd_kode=row["opd_kode"],
                   ke_kantor=row["ke_kantor"], wilayah_kode=row["wilayah_kode"], layer_id=row["layer_id"],
                   atribut_filter={k: [str(x) for x in v] for k, v in (row["atribut_filter"] or {}).items()},
                   jarak_m=float(row["jarak_m"]), alasan=row.get("alasan") or "", kunci=row.get("kunci"))

    def ringkas(self) -> dict[str, Any]:
        """The rule as structured evidence."""
        out: dict[str, Any] = {"id": self.rule_id, "versi": self.versi, "nama": self.nama,
                               "prioritas": self.prioritas, "wilayah": self.wilayah}
        if self.wilayah_kode:
            out["wilayah_kode"] = self.wilayah_kode
        if self.layer_id:
            out.update(layer=self.layer_id, atribut_filter=self.atribut_filter, jarak_m=self.jarak_m)
        out["tujuan"] = self.opd_kode or f"kantor {self.ke_kantor} setempat"
        return out


@dataclass(frozen=True)
class Lokasi:
    """Where a point lies: its kelurahan and kecamatan in the city, or the kab/kota outside it."""

    lat: float
    lon: float
    di_kota: bool
    kelurahan_kode: str | None = None
    kelurahan_nama: str | None = None
    kecamatan_kode: str | None = None
    kecamatan_nama: str | None = None
    kabkota_kode: str | None = None
    kabkota_nama: str | None = None
    geocode: str = ""  # the reverse geocoding decision (inside, gap, overlap, tetangga, ...)
    pesan: str = ""  # its sentence

    def ringkas(self) -> dict[str, Any]:
        """The location facts as structured evidence."""
        out: dict[str, Any] = {"lat": self.lat, "lon": self.lon, "di_kota": self.di_kota,
                               "geocode": {"keputusan": self.geocode, "pesan": self.pesan}}
        if self.kelurahan_kode:
            out["kelurahan"] = {"kode": self.kelurahan_kode, "nama": self.kelurahan_nama}
        if self.kecamatan_kode:
            out["kecamatan"] = {"kode": self.kecamatan_kode, "nama": self.kecamatan_nama}
        if self.kabkota_kode:
            out["kabkota"] = {"kode": self.kabkota_kode, "nama": self.kabkota_nama}
        return out


@dataclass(frozen=True)
class LayerFakta:
    """The nearest feature of a layer that matches a rule's predicate (None fields: no such feature)."""

    layer_id: str
    tersedia: bool = True  # False: the layer is not published (or lacks a column the rule names)
    catatan: str = ""  # why the fact could not be established, when not for the layer's sake
    fid: str | None = None
    jarak_m: float | None = None
    atribut: dict[str, Any] = field(default_factory=dict)

    def ringkas(self) -> dict[str, Any]:
        """The layer fact as structured evidence."""
        out: dict[str, Any] = {"layer": self.layer_id, "tersedia": self.tersedia}
        if self.catatan:
            out["catatan"] = self.catatan
        if self.fid is not None:
            out.update(fid=self.fid, jarak_m=round(self.jarak_m or 0.0, 1), atribut=self.atribut)
        return out


@dataclass(frozen=True)
class RuleSet:
    """The rules in force and the OPD names, as loaded at one moment (stamp identifies that moment)."""

    rules: tuple[Rule, ...]
    opd_nama: dict[str, str]
    layanan_nama: dict[str, str]
    triase_opd: str
    stamp: str = ""

    def __post_init__(self) -> None:
        # Evaluation order is part of the meaning: highest priority first, then the older rule.
        object.__setattr__(self, "rules", tuple(sorted(self.rules, key=lambda r: (-r.prioritas, r.rule_id))))

    def for_layanan(self, kode: str) -> list[Rule]:
        """The rules that may route this category, highest priority first."""
        return [r for r in self.rules if r.layanan_kode in (None, kode)]


@dataclass(frozen=True)
class Keputusan:
    """The routing decision: which OPD, how it was decided, by which rule version, and why."""

    opd_kode: str
    opd_nama: str
    keputusan: Literal["aturan", "triase", "serah_terima"]
    alasan: dict[str, Any]
    teks: str
    rule_id: int | None = None
    rule_versi: int | None = None
    lokasi: Lokasi | None = None
