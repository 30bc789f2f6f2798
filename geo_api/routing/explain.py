"""Sentences in Bahasa Indonesia that explain a routing decision to the citizen and the OPD."""

from __future__ import annotations

from typing import Any

from geo_api.routing.model import LayerFakta, Lokasi, Rule


def fitur(rule: Rule) -> str:
    """How to name the features a layer rule looks for, e.g. 'fitur dengan status nasional'."""
    if not rule.atribut_filter:
        return "fitur"
    parts = [f"{col} {'/'.join(vals)}" for col, vals in rule.atribut_filter.items()]
    return "fitur dengan " + " dan ".join(parts)


def nama_fitur(f: LayerFakta, what: str) -> str:
    """The feature's own name when it has one, else its kind and fid."""
    for key in ("nama", "name", "nama_jalan"):
        if f.atribut.get(key):
            return str(f.atribut[key])
    return f"{what} #{f.fid}"


def tempat(lokasi: Lokasi) -> str:
    """'Kelurahan X, Kecamatan Y' or the kab/kota, for sentences."""
    if lokasi.kelurahan_nama and lokasi.di_kota:
        return f"Kelurahan {lokasi.kelurahan_nama}, Kecamatan {lokasi.kecamatan_nama}"
    if lokasi.kelurahan_nama:
        return f"{lokasi.kelurahan_nama}, {lokasi.kabkota_nama}"
    return lokasi.kabkota_nama or f"titik {lokasi.lat:.5f}, {lokasi.lon:.5f}"


def kalimat_aturan(kategori: str, lokasi: Lokasi, rule: Rule, opd_nama: str, why: str,
                   tidak_berlaku: list[dict[str, Any]]) -> str:
    """The sentence for a decision by a rule."""
    teks = (f"Laporan \"{kategori}\" di {tempat(lokasi)} diteruskan ke {opd_nama} "
            f"berdasarkan aturan \"{rule.nama}\" (versi {rule.versi}) karena {why}.")
    if tidak_berlaku:
        lewat = "; ".join(f"\"{t['nama']}\": {t['alasan']}" for t in tidak_berlaku)
        teks += f" Aturan berprioritas lebih tinggi yang tidak berlaku: {lewat}."
    return teks


def kalimat_kategori_tak_dikenal(kode: str) -> str:
    """The sentence for a category not in the catalogue."""
    return f"Kategori \"{kode}\" tidak dikenal dalam katalog layanan."


def kalimat_tanpa_aturan(kategori: str, lokasi: Lokasi) -> str:
    """The sentence when no rule applies at this place."""
    return f"Tidak ada aturan untuk \"{kategori}\" yang berlaku di {tempat(lokasi)}."


def kalimat_serah_terima(lokasi: Lokasi, opd_nama: str) -> str:
    """The sentence for a hand-off to a neighbouring kab/kota."""
    return (f"Titik laporan berada di luar Kota Tangerang ({tempat(lokasi)}); laporan ditandai untuk "
            f"diserahterimakan kepada {opd_nama}.")


def kalimat_luar_wilayah(lokasi: Lokasi) -> str:
    """The sentence for a point outside the city and outside every known neighbour."""
    teks = (f"Titik {lokasi.lat:.5f}, {lokasi.lon:.5f} berada di luar Kota Tangerang dan di luar kab/kota "
            "tetangga yang dikenal.")
    return f"{teks} ({lokasi.pesan})" if lokasi.pesan else teks
