"""Evaluate the rules for one laporan: the first applicable rule by priority decides, with its reasons."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from geo_api.routing import explain
from geo_api.routing.model import Keputusan, LayerFakta, Lokasi, Rule, RuleSet, kantor_kode


def check(rule: Rule, lokasi: Lokasi, fakta: Mapping[int, LayerFakta]) -> tuple[bool, str, dict[str, Any]]:
    """Whether the rule applies at this place; a reason in Bahasa Indonesia and the facts it used."""
    if rule.wilayah == "kota":
        return True, "berlaku di seluruh Kota Tangerang", {}
    if rule.wilayah == "kecamatan":
        ok = lokasi.kecamatan_kode == rule.wilayah_kode
        where = f"Kecamatan {lokasi.kecamatan_nama}" if lokasi.kecamatan_nama else "luar kecamatan mana pun"
        return ok, ("titik berada di " if ok else f"aturan hanya untuk kecamatan {rule.wilayah_kode}, "
                    "titik berada di ") + where, {"kecamatan": lokasi.kecamatan_kode}
    if rule.wilayah == "kelurahan":
        ok = lokasi.kelurahan_kode == rule.wilayah_kode
        where = f"Kelurahan {lokasi.kelurahan_nama}" if lokasi.kelurahan_nama else "luar kelurahan mana pun"
        return ok, ("titik berada di " if ok else f"aturan hanya untuk kelurahan {rule.wilayah_kode}, "
                    "titik berada di ") + where, {"kelurahan": lokasi.kelurahan_kode}
    return _check_layer(rule, fakta.get(rule.rule_id))


def _check_layer(rule: Rule, f: LayerFakta | None) -> tuple[bool, str, dict[str, Any]]:
    what = explain.fitur(rule)
    if f is not None and f.catatan:
        return False, f.catatan, f.ringkas()
    if f is None or not f.tersedia:
        return False, f"layer {rule.layer_id} belum terbit atau tidak memiliki kolom yang dirujuk aturan", {
            "layer": rule.layer_id, "tersedia": False}
    if f.fid is None:
        return False, f"tidak ada {what} di layer {rule.layer_id}", f.ringkas()
    jarak = f.jarak_m or 0.0
    if jarak <= rule.jarak_m:
        return True, f"titik berjarak {jarak:.0f} m dari {explain.nama_fitur(f, what)} (batas {rule.jarak_m:.0f} m)", \
            f.ringkas()
    return False, (f"{what} terdekat ({explain.nama_fitur(f, what)}) berjarak {jarak:.0f} m, "
                   f"lebih dari batas {rule.jarak_m:.0f} m"), f.ringkas()


def evaluate(layanan_kode: str, lokasi: Lokasi, ruleset: RuleSet,
             fakta: Mapping[int, LayerFakta] | None = None) -> Keputusan:
    """Route one laporan: unknown category → triage; outside the city → hand-off; else the first rule that applies."""
    fakta = fakta or {}
    dikenal = layanan_kode in ruleset.layanan_nama
    base: dict[str, Any] = {"kategori": {"kode": layanan_kode, "dikenal": dikenal,
                                         "nama": ruleset.layanan_nama.get(layanan_kode)},
                            "lokasi": lokasi.ringkas()}
    if not dikenal:
        return _triase(ruleset, lokasi, base, explain.kalimat_kategori_tak_dikenal(layanan_kode))
    if not lokasi.di_kota:
        return _luar_kota(ruleset, lokasi, base)
    tidak_berlaku: list[dict[str, Any]] = []
    for rule in ruleset.for_layanan(layanan_kode):
        ok, why, used = check(rule, lokasi, fakta)
        if not ok:
            tidak_berlaku.append({**rule.ringkas(), "alasan": why, "fakta": used})
            continue
        opd = _target(rule, lokasi)
        if opd is None:
            why = "kantor wilayah titik ini tidak diketahui"
            tidak_berlaku.append({**rule.ringkas(), "alasan": why, "fakta": used})
            continue
        nama = ruleset.opd_nama.get(opd, opd)
        alasan = {**base, "keputusan": "aturan", "opd": {"kode": opd, "nama": nama},
                  "aturan": {**rule.ringkas(), "alasan": rule.alasan, "kecocokan": why, "fakta": used},
                  "tidak_berlaku": tidak_berlaku}
        teks = explain.kalimat_aturan(ruleset.layanan_nama[layanan_kode], lokasi, rule, nama, why, tidak_berlaku)
        return Keputusan(opd, nama, "aturan", alasan, teks, rule.rule_id, rule.versi, lokasi)
    return _triase(ruleset, lokasi, {**base, "tidak_berlaku": tidak_berlaku},
                   explain.kalimat_tanpa_aturan(ruleset.layanan_nama[layanan_kode], lokasi))


def _target(rule: Rule, lokasi: Lokasi) -> str | None:
    if rule.opd_kode:
        return rule.opd_kode
    kode = lokasi.kecamatan_kode if rule.ke_kantor == "kecamatan" else lokasi.kelurahan_kode
    return kantor_kode(rule.ke_kantor or "kelurahan", kode) if kode else None


def _triase(ruleset: RuleSet, lokasi: Lokasi, base: dict[str, Any], teks: str) -> Keputusan:
    opd = ruleset.triase_opd
    nama = ruleset.opd_nama.get(opd, opd)
    alasan = {**base, "keputusan": "triase", "opd": {"kode": opd, "nama": nama}}
    return Keputusan(opd, nama, "triase", alasan, f"{teks} Laporan diteruskan ke meja triase {nama}.",
                     lokasi=lokasi)


def _luar_kota(ruleset: RuleSet, lokasi: Lokasi, base: dict[str, Any]) -> Keputusan:
    if lokasi.kabkota_kode:
        opd = kantor_kode("kabkota_tetangga", lokasi.kabkota_kode)
        if opd in ruleset.opd_nama:
            nama = ruleset.opd_nama[opd]
            alasan = {**base, "keputusan": "serah_terima", "opd": {"kode": opd, "nama": nama}}
            return Keputusan(opd, nama, "serah_terima", alasan, explain.kalimat_serah_terima(lokasi, nama),
                             lokasi=lokasi)
    return _triase(ruleset, lokasi, base, explain.kalimat_luar_wilayah(lokasi))
