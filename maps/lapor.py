"""The citizen pages' HTML (Bahasa Indonesia, mobile first, no CDN): the report form (/lapor), its result page and
the follow-up page (/lacak/{id}). Plain autoescaped strings; the map and the live hints come from
static/lapor/lapor.js over the vendored Leaflet."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from geo_api.errors import InvalidParameter, SatuPetaError
from maps.base import esc

WIB = timezone(timedelta(hours=7))
_BULAN = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
          "November", "Desember")
_HARI = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
LEAFLET = "/peta/static/vendor/leaflet-1.9.3/"
OWN = "/peta/static/lapor/"
PRIVASI = ("Nama, telepon dan email hanya dilihat petugas OPD yang menangani laporan ini; tidak pernah "
           "ditampilkan kepada publik.")


@dataclass
class FormData:
    """What the form offers: the categories (with their attributes) and the kelurahan list."""

    layanan: list[dict[str, Any]] = field(default_factory=list)
    kelurahan: list[dict[str, Any]] = field(default_factory=list)


def tanggal(t: datetime | None, jam: bool = False) -> str:
    """A date (and time) in WIB, written out in Bahasa: 'Senin, 7 Desember 2026'."""
    if t is None:
        return ""
    w = t.astimezone(WIB)
    out = f"{_HARI[w.weekday()]}, {w.day} {_BULAN[w.month - 1]} {w.year}"
    return out + (f" pukul {w:%H.%M} WIB" if jam else "")


def _head(title: str, leaflet: bool = False) -> str:
    css = f'<link rel="stylesheet" href="{LEAFLET}leaflet.css">' if leaflet else ""
    return ('<!DOCTYPE html><html lang="id"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
            f'<title>{esc(title)}</title>{css}<link rel="stylesheet" href="{OWN}lapor.css"></head>')


def _foot(leaflet: bool = False) -> str:
    js = f'<script src="{LEAFLET}leaflet.js"></script>' if leaflet else ""
    return f'{js}<script src="{OWN}lapor.js"></script></body></html>'


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def _attr_field(kode: str, a: dict[str, Any], typed: dict[str, str]) -> str:
    name = f"attribute[{a['code']}]"
    fid = f"attr-{kode}-{a['code']}"
    label = esc(a.get("description") or a["code"]) + ("" if a.get("required") else " (boleh kosong)")
    value = typed.get(name, "")
    if a.get("values"):
        opts = "".join(f'<option value="{esc(v["key"])}"{" selected" if str(v["key"]) == value else ""}>'
                       f'{esc(v.get("name") or v["key"])}</option>' for v in a["values"])
        ctl = f'<select id="{fid}" name="{esc(name)}"><option value="">— pilih —</option>{opts}</select>'
    else:
        kind = ' inputmode="decimal"' if a.get("datatype") == "number" else ""
        ctl = f'<input id="{fid}" name="{esc(name)}" value="{esc(value)}"{kind} maxlength="500">'
    return f'<div class="sp-isian"><label for="{fid}">{label}</label>{ctl}</div>'


def _kategori(data: FormData, typed: dict[str, str]) -> tuple[str, str]:
    chosen = typed.get("service_code", "")
    groups: dict[str, list[str]] = {}
    attrs = []
    for r in data.layanan:
        sel = " selected" if r["kode"] == chosen else ""
        groups.setdefault(r["grup"] or "Lainnya", []).append(f'<option value="{esc(r["kode"])}"{sel}>'
                                                              f'{esc(r["nama"])}</option>')
        if r["atribut"]:
            off = "" if r["kode"] == chosen else " disabled hidden"
            inner = "".join(_attr_field(r["kode"], a, typed) for a in r["atribut"])
            attrs.append(f'<fieldset class="sp-atribut" data-layanan="{esc(r["kode"])}"{off}>'
                         f'<legend>Keterangan tambahan: {esc(r["nama"])}</legend>{inner}</fieldset>')
    opts = "".join(f'<optgroup label="{esc(g)}">{"".join(o)}</optgroup>' for g, o in groups.items())
    select = (f'<label for="service_code">Kategori masalah</label><select id="service_code" name="service_code" '
              f'aria-describedby="opd-info"><option value="">— pilih kategori —</option>{opts}</select>')
    return select, "".join(attrs)


def _kelurahan_select(data: FormData, typed: dict[str, str]) -> str:
    chosen = typed.get("kelurahan", "")
    groups: dict[str, list[str]] = {}
    for k in data.kelurahan:
        sel = " selected" if k["kode"] == chosen else ""
        groups.setdefault(k["kec_nama"], []).append(
            f'<option value="{esc(k["kode"])}" data-lat="{k["label_lat"]:.6f}" data-lon="{k["label_lon"]:.6f}"{sel}>'
            f'{esc(k["nama"])}</option>')
    opts = "".join(f'<optgroup label="Kecamatan {esc(g)}">{"".join(o)}</optgroup>' for g, o in groups.items())
    return ('<details id="tanpa-peta" class="sp-tanpa-peta"' + (" open" if chosen else "") + '><summary>Tanpa '
            'peta: pilih kelurahan dari daftar</summary><label for="kelurahan">Kelurahan tempat masalah</label>'
            f'<select id="kelurahan" name="kelurahan"><option value="">— pilih kelurahan —</option>{opts}</select>'
            '<p class="sp-kecil">Laporan ditempatkan di tengah kelurahan; tulis patokan di alamat.</p></details>')


def _input(name: str, label: str, typed: dict[str, str], kind: str = "text", extra: str = "") -> str:
    return (f'<div class="sp-isian"><label for="{name}">{label}</label><input id="{name}" name="{name}" '
            f'type="{kind}" value="{esc(typed.get(name, ""))}" maxlength="200"{extra}></div>')


def build_lapor(data: FormData, token: str, tile_url: str | None = None, typed: dict[str, str] | None = None,
                galat: str | None = None) -> str:
    """The report form, with what was typed and the reason it was refused (when it was)."""
    typed = typed or {}
    kategori, atribut = _kategori(data, typed)
    info = {k: {"nama": r["nama"], "sla": r["sla_hari_kerja"]} for r in data.layanan for k in [r["kode"]]}
    alert = f'<p class="sp-galat" role="alert" id="galat" tabindex="-1">{esc(galat)}</p>' if galat else ""
    return (_head("Lapor masalah — Kota Tangerang", leaflet=True) + '<body class="sp-lapor">'
            '<header class="sp-kepala"><h1>Lapor masalah di Kota Tangerang</h1></header>'
            '<main><form id="sp-form" method="post" action="/lapor" enctype="multipart/form-data" novalidate>'
            f'{alert}<input type="hidden" name="csrf" value="{esc(token)}">'
            '<section aria-labelledby="h-lokasi"><h2 id="h-lokasi">1. Di mana masalahnya?</h2>'
            '<div class="sp-cari"><label for="cari">Cari alamat, tempat atau kelurahan</label>'
            '<input id="cari" type="search" autocomplete="off" aria-controls="cari-hasil" maxlength="100">'
            '<ul id="cari-hasil" class="sp-saran" role="listbox" aria-label="Hasil pencarian"></ul></div>'
            '<button type="button" id="lokasi-saya" class="sp-tombol2">Gunakan lokasi saya</button>'
            '<p class="sp-kecil"><a href="#tanpa-peta" id="ke-tanpa-peta">Tanpa peta? Pilih kelurahan dari '
            'daftar</a></p>'
            '<div id="peta" class="sp-peta" role="application" aria-label="Peta: geser penanda ke tempat masalah. '
            'Dengan papan ketik: pilih penanda lalu tekan tombol panah."></div>'
            '<p id="lokasi-info" class="sp-info" aria-live="polite">Geser penanda ke tempat masalah, '
            'atau pilih kelurahan dari daftar di bawah.</p>'
            f'<input type="hidden" id="lat" name="lat" value="{esc(typed.get("lat", ""))}">'
            f'<input type="hidden" id="long" name="long" value="{esc(typed.get("long", ""))}">'
            + _kelurahan_select(data, typed)
            + _input("address_string", "Alamat atau patokan (boleh kosong)", typed) + '</section>'
            '<section aria-labelledby="h-masalah"><h2 id="h-masalah">2. Apa masalahnya?</h2>'
            f'{kategori}<p id="opd-info" class="sp-info" aria-live="polite"></p>{atribut}'
            '<div id="dekat" class="sp-dekat" aria-live="polite" hidden></div>'
            '<div class="sp-isian"><label for="description">Uraian masalah</label>'
            f'<textarea id="description" name="description" rows="4" maxlength="4000">'
            f'{esc(typed.get("description", ""))}</textarea></div>'
            '<div class="sp-isian"><label for="media">Foto (boleh kosong, paling banyak 5)</label>'
            '<input id="media" name="media" type="file" accept="image/jpeg,image/png,image/webp" multiple '
            'aria-describedby="foto-info"><p id="foto-info" class="sp-kecil" aria-live="polite">Foto diperkecil '
            'di ponsel Anda sebelum dikirim; data lokasi di dalam foto dibuang.</p></div></section>'
            '<section aria-labelledby="h-kontak"><h2 id="h-kontak">3. Kontak Anda (boleh kosong)</h2>'
            + _input("first_name", "Nama", typed, extra=' autocomplete="name"')
            + _input("phone", "Nomor telepon", typed, "tel", ' autocomplete="tel"')
            + _input("email", "Email", typed, "email", ' autocomplete="email"')
            + f'<p class="sp-kecil">{PRIVASI}</p></section>'
            '<p id="kirim-info" class="sp-info" aria-live="assertive"></p>'
            '<button type="submit" class="sp-tombol">Kirim laporan</button></form></main>'
            f'<script type="application/json" id="sp-data">{_json({"layanan": info, "tile": tile_url})}</script>'
            + _foot(leaflet=True))


def _param_of(exc: SatuPetaError) -> str:
    return getattr(exc, "parameter", None) or str(exc.extra.get("parameter") or "")


def pesan(exc: SatuPetaError, data: FormData) -> str:
    """A refusal of the intake in plain Bahasa (no codes, no English), naming the field to fix."""
    p = _param_of(exc) if isinstance(exc, InvalidParameter) or exc.extra else ""
    detail = exc.detail or ""
    if p in ("lat", "long") or "location" in detail or "lat and long" in detail:
        return ("Lokasi belum ditentukan atau jauh di luar Kota Tangerang. Geser penanda di peta, atau pilih "
                "kelurahan dari daftar.")
    if p == "description":
        return "Uraian terlalu panjang. Persingkat uraian lalu kirim lagi."
    if p == "email":
        return "Alamat email tidak valid. Perbaiki atau kosongkan isian email."
    if p.startswith("attribute["):
        kode = p[len("attribute["):-1]
        label = next((a.get("description") or kode for r in data.layanan for a in r["atribut"]
                      if a["code"] == kode), kode)
        if "required" in detail:
            return f"Isian \u201c{label}\u201d wajib diisi."
        return f"Isian \u201c{label}\u201d tidak valid. Periksa lalu kirim lagi."
    if p == "media" or "media" in detail:
        return ("Foto tidak dapat dipakai. Gunakan foto JPEG, PNG atau WebP, paling banyak 5 foto dan "
                "masing-masing paling besar 10 MB.")
    if p in ("phone", "first_name", "last_name", "address_string"):
        return "Salah satu isian terlalu panjang. Persingkat lalu kirim lagi."
    return "Laporan belum dapat dikirim. Periksa isian Anda lalu kirim lagi."


def kalimat_pertama(teks: str) -> str:
    """The routing decision's own sentence, without the rules passed over that follow it (those are for officers)."""
    m = re.match(r"^(.*?\.)\s+Aturan\b", teks or "", re.S)
    return m.group(1) if m else (teks or "")


def build_hasil(row: dict[str, Any], got: Any, sla: int | None) -> str:
    """The result page: number, kode_lacak (shown once), OPD, expected date in working days, follow-up link."""
    k = got.keputusan
    rid = row["id"]
    due = tanggal(row.get("expected_at"))
    due_text = f"{due}" + (f" ({sla} hari kerja)" if sla else "") if due else "belum ditentukan"
    dup = ""
    if got.row.get("kemungkinan_duplikat_dari"):
        d = got.row["kemungkinan_duplikat_dari"]
        dup = (f'<p class="sp-info">Laporan ini kemungkinan sama dengan <a href="/lacak/{int(d)}">laporan {int(d)}'
               '</a> yang masih ditangani.</p>')
    foto = f"<li>Foto terlampir: {len(got.photos)}</li>" if got.photos else ""
    return (_head(f"Laporan {rid} diterima") + '<body class="sp-lapor" data-selesai="1">'
            '<header class="sp-kepala"><h1>Laporan diterima</h1></header><main>'
            f'<p class="sp-berhasil" role="status">Terima kasih. Laporan Anda bernomor <strong>{rid}</strong>.</p>'
            '<h2>Kode lacak Anda</h2><p class="sp-kode" id="kode-lacak">' + esc(row.get("kode_lacak") or
                                                                                 got.row.get("kode_lacak")) + '</p>'
            '<p>Simpan kode ini (catat atau ambil tangkapan layar): hanya ditampilkan sekali, dan diperlukan untuk '
            'menambah keterangan atau menilai penanganan.</p><ul class="sp-ringkas">'
            f'<li>Ditangani oleh: <strong id="hasil-opd">{esc(k.opd_nama)}</strong></li>'
            f'<li>Alasannya: {esc(kalimat_pertama(k.teks))}</li>'
            f'<li>Perkiraan selesai: <strong id="hasil-tenggat">{esc(due_text)}</strong></li>{foto}</ul>{dup}'
            f'<p><a class="sp-tombol" id="ke-lacak" href="/lacak/{rid}">Ikuti laporan {rid}</a></p>'
            '<p><a href="/lapor">Laporkan masalah lain</a></p></main>' + _foot())


def _foto(media: list[dict[str, Any]] | None, alt: str) -> str:
    items = "".join(f'<a href="{esc(m["url"])}"><img src="{esc(m.get("thumb_url") or m["url"])}" alt="{esc(alt)}" '
                    f'width="160" loading="lazy"></a>' for m in media or [] if str(m.get("url", "")).startswith("/"))
    return f'<div class="sp-foto">{items}</div>' if items else ""


def build_lacak(row: dict[str, Any], riwayat: list[dict[str, Any]], token: str, typed: dict[str, str],
                galat: str | None = None, info: str | None = None) -> str:
    """The follow-up page: status, OPD, due date, the public history with photos; the reporter's rating form."""
    rid = row["id"]
    steps = []
    for i, r in enumerate(riwayat):
        alt = "Foto dari pelapor" if i == 0 else f"Foto penanganan ({r['status_nama']})"
        steps.append(f'<li><p><strong>{esc(r["status_nama"])}</strong> — <time datetime="{r["pada"].isoformat()}">'
                     f'{esc(tanggal(r["pada"], jam=True))}</time></p>'
                     + (f'<p>{esc(r["catatan"])}</p>' if r.get("catatan") else "") + _foto(r.get("media"), alt)
                     + '</li>')
    alert = f'<p class="sp-galat" role="alert" id="galat" tabindex="-1">{esc(galat)}</p>' if galat else ""
    ok = f'<p class="sp-berhasil" role="status">{esc(info)}</p>' if info else ""
    nilai = _nilai_form(rid, token, typed) if row["status"] == "closed" else (
        '<p class="sp-kecil">Setelah laporan selesai ditangani, Anda dapat menilai penanganannya di sini dengan '
        'kode lacak.</p>')
    return (_head(f"Laporan {rid} — {row['service_name']}") + '<body class="sp-lapor">'
            f'<header class="sp-kepala"><h1>Laporan {rid}</h1></header><main>{alert}{ok}'
            f'<p class="sp-status">Status: <strong id="status">{esc(row["status_nama"])}</strong></p>'
            f'<ul class="sp-ringkas"><li>Kategori: {esc(row["service_name"])}</li>'
            f'<li>Ditangani oleh: <strong>{esc(row["agency_responsible"])}</strong></li>'
            f'<li>Lokasi: {esc(row.get("address") or "")}</li>'
            f'<li>Perkiraan selesai: {esc(tanggal(row.get("expected_at")) or "belum ditentukan")}</li>'
            f'<li>Dilaporkan: {esc(tanggal(row["requested_at"], jam=True))}</li></ul>'
            + (f'<h2>Uraian</h2><p>{esc(row["description"])}</p>' if row.get("description") else "")
            + f'<h2>Riwayat</h2><ol class="sp-riwayat" id="riwayat">{"".join(steps)}</ol>{nilai}'
            + _tanggapan_form(rid, token, typed)
            + '<p><a href="/lapor">Laporkan masalah lain</a></p></main>' + _foot())


def _tanggapan_form(rid: int, token: str, typed: dict[str, str]) -> str:
    return (f'<form method="post" action="/lacak/{rid}/komentar" enctype="multipart/form-data" class="sp-tanggapan">'
            '<h2>Tambah tanggapan atau foto (pelapor)</h2>'
            f'<input type="hidden" name="csrf" value="{esc(token)}">'
            '<div class="sp-isian"><label for="kode_lacak_t">Kode lacak</label><input id="kode_lacak_t" '
            f'name="kode_lacak" value="{esc(typed.get("kode_lacak", ""))}" autocomplete="off" maxlength="64"></div>'
            '<div class="sp-isian"><label for="tanggapan">Tanggapan (tampil di riwayat untuk umum)</label>'
            f'<textarea id="tanggapan" name="tanggapan" rows="3" maxlength="2000">{esc(typed.get("tanggapan", ""))}'
            '</textarea></div><div class="sp-isian"><label for="media_t">Foto (boleh kosong)</label><input '
            'id="media_t" name="media" type="file" accept="image/jpeg,image/png,image/webp" multiple></div>'
            '<button type="submit" class="sp-tombol">Kirim tanggapan</button></form>')


def _nilai_form(rid: int, token: str, typed: dict[str, str]) -> str:
    chosen = typed.get("nilai", "")
    words = {"1": "1 — sangat tidak puas", "2": "2 — tidak puas", "3": "3 — puas", "4": "4 — sangat puas"}
    radios = "".join(f'<label class="sp-pilih"><input type="radio" name="nilai" value="{v}"'
                     f'{" checked" if v == chosen else ""}> {w}</label>' for v, w in words.items())
    buka = " checked" if typed.get("buka_kembali") == "ya" else ""
    return (f'<form method="post" action="/lacak/{rid}/nilai" class="sp-nilai"><h2>Nilai penanganan</h2>'
            f'<input type="hidden" name="csrf" value="{esc(token)}">'
            '<div class="sp-isian"><label for="kode_lacak">Kode lacak</label><input id="kode_lacak" '
            f'name="kode_lacak" value="{esc(typed.get("kode_lacak", ""))}" autocomplete="off" maxlength="64"></div>'
            f'<fieldset><legend>Seberapa puas Anda?</legend>{radios}</fieldset>'
            f'<label class="sp-pilih"><input type="checkbox" name="buka_kembali" value="ya"{buka}> Masalahnya '
            'belum benar-benar beres: buka kembali laporan (hanya dengan nilai 1 atau 2)</label>'
            '<div class="sp-isian"><label for="komentar">Komentar (boleh kosong; hanya dibaca petugas)</label>'
            f'<textarea id="komentar" name="komentar" rows="3" maxlength="2000">{esc(typed.get("komentar", ""))}'
            '</textarea></div><button type="submit" class="sp-tombol">Kirim penilaian</button></form>')


def build_tidak_ada(laporan_id: str) -> str:
    """A laporan that does not exist (or an id that is not one): 404 in Bahasa."""
    return (_head("Laporan tidak ditemukan") + '<body class="sp-lapor"><header class="sp-kepala"><h1>Laporan '
            'tidak ditemukan</h1></header><main><p class="sp-galat" role="alert">Tidak ada laporan dengan nomor '
            f'{esc(laporan_id[:30])}. Periksa nomor laporan Anda.</p><p><a href="/lapor">Laporkan masalah</a></p>'
            '</main></body></html>')


def batas_geojson(rows: list[dict[str, Any]]) -> str:
    """Kelurahan outlines as a GeoJSON FeatureCollection (geometry already GeoJSON text from PostGIS)."""
    feats = ",".join('{"type":"Feature","properties":' + json.dumps({"kode": r["kode"], "nama": r["nama"],
                                                                      "kec": r["kec_nama"]}) +
                     ',"geometry":' + r["geometry"] + "}" for r in rows)
    return '{"type":"FeatureCollection","features":[' + feats + "]}"
