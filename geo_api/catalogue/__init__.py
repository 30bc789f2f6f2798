"""The OPD and complaint-category catalogue: a YAML file the city edits, loaded into opd/layanan/routing_rule."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any, Literal

import psycopg
import yaml
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from geo_api.audit import Actor, record_by
from geo_api.db import fetch_all, fetch_one
from geo_api.errors import DataError
from geo_api.routing import store
from geo_api.routing.model import kantor_kode
from layers.catalog import published_columns

log = logging.getLogger("satupeta.catalogue")

DEFAULT_PATH = Path(__file__).with_name("katalog_opd.yaml")
SYNTHETIC_ROADS = Path(__file__).with_name("jalan_sintetis.geojson")
KODE = r"^[a-z0-9][a-z0-9._-]{0,39}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpdEntry(_Strict):
    """One OPD as the file writes it."""

    kode: str = Field(pattern=KODE)
    nama: str = Field(min_length=1, max_length=200)
    singkatan: str = ""
    jenis: Literal["dinas", "badan", "satuan", "bumd", "triase", "instansi_luar"]
    luar_kota: bool = False
    kontak: str = ""
    catatan: str = ""
    perlu_konfirmasi: bool = False


class KantorTemplate(_Strict):
    """How to name the office of each kecamatan/kelurahan (or the hand-off entry of a kab/kota)."""

    nama: str
    perlu_konfirmasi: bool = False


class LayananEntry(_Strict):
    """One complaint category (Open311 service)."""

    kode: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    nama: str = Field(min_length=1, max_length=200)
    grup: str = ""
    deskripsi: str = ""
    kata_kunci: list[str] = Field(default_factory=list)
    opd: str = Field(pattern=KODE)
    atribut: list[dict[str, Any]] = Field(default_factory=list)
    duplikat_radius_m: int = Field(default=250, ge=0, le=5000)
    duplikat_hari: int = Field(default=30, ge=0, le=365)
    # target in working days (hari kerja, geo_api/laksa/kalender.py); perkiraan_hari is its older name
    sla_hari_kerja: int | None = Field(default=None, ge=1, le=365)
    perkiraan_hari: int | None = Field(default=None, ge=1, le=365)
    service_notice: str = ""
    perlu_konfirmasi: bool = False

    @model_validator(mode="after")
    def _sla(self) -> LayananEntry:
        if self.sla_hari_kerja is None:
            self.sla_hari_kerja = self.perkiraan_hari
        self.perkiraan_hari = self.sla_hari_kerja
        return self


class CutiBersama(_Strict):
    """One cuti bersama day (decreed yearly by SKB 3 Menteri): not a working day for the LAKSA clock."""

    tanggal: date
    keterangan: str = Field(default="", max_length=200)
    perlu_konfirmasi: bool = False

    @model_validator(mode="after")
    def _weekday(self) -> CutiBersama:
        if not 2000 <= self.tanggal.year <= 2100:
            raise ValueError(f"tanggal {self.tanggal} is outside 2000..2100")
        if self.tanggal.weekday() >= 5:
            raise ValueError(f"tanggal {self.tanggal} is a weekend day, never a cuti bersama")
        return self


class AturanEntry(_Strict):
    """One routing rule with a stable key."""

    kunci: str = Field(pattern=KODE)
    nama: str
    layanan: str | None = None
    wilayah: Literal["kota", "kecamatan", "kelurahan", "layer"]
    wilayah_kode: str | None = None
    layer: str | None = None
    atribut_filter: dict[str, list[str]] = Field(default_factory=dict)
    jarak_m: float = 0
    opd: str | None = None
    ke_kantor: Literal["kecamatan", "kelurahan"] | None = None
    prioritas: int
    alasan: str = ""
    perlu_konfirmasi: bool = False

    def spec(self) -> store.RuleSpec:
        """The rule as the store takes it."""
        alasan = self.alasan + (" [perlu konfirmasi]" if self.perlu_konfirmasi else "")
        return store.RuleSpec(nama=self.nama, layanan_kode=self.layanan, wilayah=self.wilayah,
                              wilayah_kode=self.wilayah_kode, layer_id=self.layer, atribut_filter=self.atribut_filter,
                              jarak_m=self.jarak_m, opd_kode=self.opd, ke_kantor=self.ke_kantor,
                              prioritas=self.prioritas, alasan=alasan)


class Katalog(_Strict):
    """The whole file."""

    opd: list[OpdEntry]
    kantor_wilayah: dict[Literal["kecamatan", "kelurahan", "kabkota_tetangga"], KantorTemplate]
    layanan: list[LayananEntry]
    aturan: list[AturanEntry] = Field(default_factory=list)
    cuti_bersama: list[CutiBersama] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cuti_unique(self) -> Katalog:
        days = [c.tanggal for c in self.cuti_bersama]
        twice = sorted({d for d in days if days.count(d) > 1})
        if twice:
            raise ValueError(f"cuti_bersama lists {', '.join(map(str, twice))} more than once")
        return self


def read(path: Path = DEFAULT_PATH) -> Katalog:
    """Parse and check the catalogue file (clear DataError on any mistake)."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        kat = Katalog.model_validate(doc)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DataError(f"{path}: {where}: {first['msg']} ({exc.error_count()} error(s))") from exc
    dupes = {e.kode for e in kat.opd if [x.kode for x in kat.opd].count(e.kode) > 1}
    if dupes:
        raise DataError(f"{path}: duplicate OPD kode(s) {', '.join(sorted(dupes))}")
    if not any(e.jenis == "triase" for e in kat.opd):
        raise DataError(f"{path}: no OPD with jenis 'triase' (the default desk)")
    return kat


def _opd_rows(kat: Katalog, wilayah: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [{**e.model_dump(), "wilayah_kode": None} for e in kat.opd]
    for w in wilayah:
        tpl = kat.kantor_wilayah.get(w["jenis"])
        if tpl is None:
            continue
        rows.append({"kode": kantor_kode(w["jenis"], w["kode"]), "nama": tpl.nama.format(nama=w["nama"]),
                     "singkatan": "", "jenis": w["jenis"], "wilayah_kode": w["kode"],
                     "luar_kota": w["jenis"] == "kabkota_tetangga", "kontak": "", "catatan": "",
                     "perlu_konfirmasi": tpl.perlu_konfirmasi})
    return rows


def _base_rule(e: LayananEntry) -> AturanEntry:
    """Every category's city-wide rule at priority 0: its responsible OPD when nothing more specific applies."""
    return AturanEntry(kunci=f"dasar-{e.kode}".replace("_", "-"), nama=f"{e.nama}: penanggung jawab seluruh kota",
                       layanan=e.kode, wilayah="kota", opd=e.opd, prioritas=0,
                       alasan="OPD penanggung jawab kategori ini di seluruh kota", perlu_konfirmasi=e.perlu_konfirmasi)


async def load(conn: psycopg.AsyncConnection, kat: Katalog, actor: Actor, *, overwrite_rules: bool = False,
               source: str = "katalog") -> dict[str, int]:
    """Upsert OPDs and categories (one audit row, katalog.load); add missing rules (and change existing ones only
    with overwrite_rules), each audited by the rule store."""
    counts = {"opd": 0, "layanan": 0, "aturan_baru": 0, "aturan_diubah": 0, "aturan_dilewati": 0}
    wilayah = await fetch_all(conn, "routing_wilayah_kantor")
    known_opd = {e.kode for e in kat.opd} | {kantor_kode(w["jenis"], w["kode"]) for w in wilayah}
    for e in kat.layanan:
        if e.opd not in known_opd:
            raise DataError(f"layanan {e.kode}: unknown opd {e.opd!r}")
    changed: dict[str, list[str]] = {"opd": [], "layanan": []}
    async with conn.transaction():
        for row in _opd_rows(kat, wilayah):
            if (up := await fetch_one(conn, "routing_opd_upsert", row)) is not None:
                changed["opd"].append(up["kode"])
        for e in kat.layanan:
            row = {**e.model_dump(exclude={"opd"}), "atribut": Jsonb(e.atribut)}
            if (up := await fetch_one(conn, "routing_layanan_upsert", row)) is not None:
                changed["layanan"].append(up["kode"])
        if changed["opd"] or changed["layanan"]:  # an idempotent reload writes nothing, and audits nothing
            await record_by(conn, actor, action="katalog.load", target=f"katalog:{source}"[:200], after=changed)
    counts["opd"], counts["layanan"] = len(changed["opd"]), len(changed["layanan"])
    for a in [_base_rule(e) for e in kat.layanan] + kat.aturan:
        await _load_rule(conn, a, overwrite_rules, actor, counts)
    return counts


async def _load_rule(conn: psycopg.AsyncConnection, a: AturanEntry, overwrite: bool, actor: Actor,
                     counts: dict[str, int]) -> None:
    try:
        spec = a.spec()
    except ValidationError as exc:
        raise DataError(f"aturan {a.kunci}: {exc.errors()[0]['msg']}") from exc
    if spec.layer_id and not await published_columns(conn, [spec.layer_id]):
        # Rules on a layer not yet published are kept out until it is (load again after publishing).
        log.warning("aturan %s: layer %s is not published; skipped", a.kunci, spec.layer_id)
        counts["aturan_dilewati"] += 1
        return
    existing = await fetch_one(conn, "routing_rule_by_kunci", {"kunci": a.kunci})
    try:
        if existing is None:
            await store.add(conn, spec, actor, kunci=a.kunci)
            counts["aturan_baru"] += 1
        elif overwrite:
            before = existing["versi"]
            after = (await store.change(conn, existing["rule_id"], spec.model_dump(), actor))["versi"]
            counts["aturan_diubah"] += after != before
    except Exception as exc:  # InvalidParameter from validation: name the rule
        detail = getattr(exc, "detail", None)
        if detail is None:
            raise
        raise DataError(f"aturan {a.kunci}: {detail}") from exc


async def publish_synthetic_roads(conn: psycopg.AsyncConnection, settings: Any, workdir: Path,
                                  actor: Actor | None = None) -> dict[str, Any]:
    """Publish the hand-made SYNTHETIC roads layer `jalan_sintetis` through the layers publish function (audited
    as layer.publish by `actor`, default the CLI user)."""
    from layers.publish import LayerMeta, Limits, prepare, publish

    prep = prepare(SYNTHETIC_ROADS, SYNTHETIC_ROADS.name, workdir, Limits.from_settings(settings))
    meta = LayerMeta(id="jalan_sintetis", title="Jalan SINTETIS (uji/demo, bukan data resmi)", opd="diskominfo",
                     description="Empat ruas jalan buatan tangan dengan status nasional/provinsi/kota/lingkungan, "
                                 "untuk menguji dan memperagakan aturan routing sampai jaringan jalan kota tersedia.",
                     licence="CC0-1.0", attribution="Satu Peta (data sintetis)", published_by="katalog")
    return await publish(conn, prep, meta, actor or Actor.cli())


async def synthetic_roads_published(conn: psycopg.AsyncConnection) -> bool:
    """Whether published."jalan_sintetis" is live."""
    return bool(await published_columns(conn, ["jalan_sintetis"]))


async def setup(conn: psycopg.AsyncConnection, settings: Any, *, synthetic_roads: bool = True,
                overwrite_rules: bool = False, actor: Actor | None = None) -> dict[str, Any]:
    """Publish the synthetic roads (if asked and absent), then load the catalogue: the demo and test set-up.
    Every write is audited with `actor` (default: the CLI user)."""
    import tempfile

    actor = actor or Actor.cli()
    out: dict[str, Any] = {}
    if synthetic_roads and not await synthetic_roads_published(conn):
        with tempfile.TemporaryDirectory(prefix="satupeta-katalog-") as tmp:
            out["jalan_sintetis"] = (await publish_synthetic_roads(conn, settings, Path(tmp), actor))["version"]
    path = Path(settings.routing_katalog_path)
    out.update(await load(conn, read(path), actor, overwrite_rules=overwrite_rules, source=path.name))
    return out
