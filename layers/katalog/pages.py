"""Geoportal pages in Bahasa Indonesia: the catalogue search (/peta/katalog) and one layer's page with its
metadata, a preview (the layer map), its service URLs and downloads. Jinja2 with autoescape; no script, no
external asset."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment

from layers.katalog import metadata as md

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)

_STYLE = """*{box-sizing:border-box}body{font-family:system-ui,"Segoe UI",Roboto,Arial,sans-serif;margin:0 auto;
max-width:72rem;
padding:.5rem 1rem 2rem;color:#222;line-height:1.45}h1{font-size:1.5rem;margin:.6rem 0}h2{font-size:1.15rem;
margin-top:1.6rem}a{color:#0b5cab}.small{color:#555;font-size:.9rem}nav{font-size:.9rem}
form.cari{display:grid;grid-template-columns:2fr 1fr 1fr 1fr auto;gap:.5rem;align-items:end;background:#f3f5f8;
padding:.8rem;border-radius:6px}form.cari label{font-size:.85rem;display:flex;flex-direction:column;gap:.2rem}
form.cari input,form.cari select,form.cari button{font-size:1rem;padding:.35rem;width:100%;min-width:0}
ul.hasil{list-style:none;padding:0}ul.hasil li{border-bottom:1px solid #ddd;padding:.7rem 0}
.lencana{display:inline-block;background:#e8eef6;border-radius:3px;padding:0 .4rem;font-size:.8rem;margin-right:.3rem}
.kurang{color:#a33}table.meta{border-collapse:collapse;width:100%}table.meta th{text-align:left;width:14rem;
vertical-align:top;padding:.35rem .6rem .35rem 0;font-weight:600}table.meta td{padding:.35rem 0;
word-break:break-word}table.meta tr{border-bottom:1px solid #eee}.dua{display:grid;grid-template-columns:1fr 1fr;
gap:1.5rem}iframe{width:100%;height:420px;border:1px solid #ccc;border-radius:4px}code{word-break:break-all;
font-size:.85rem}@media(max-width:700px){form.cari{grid-template-columns:1fr}.dua{grid-template-columns:1fr}
table.meta th{width:8rem}iframe{height:320px}}"""

_HEAD = """<!DOCTYPE html><html lang="id"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">
<title>{{ judul }} — Katalog Satu Peta Kota Tangerang</title><style>{{ style|safe }}</style></head><body>
<nav><a href="/peta">Peta</a> · <a href="/peta/katalog">Katalog</a> ·
<a href="/csw?service=CSW&amp;request=GetCapabilities">CSW</a> ·
<a href="/ogc/collections/katalog">OGC API – Records</a></nav>
"""

_INDEX = _ENV.from_string(_HEAD + """<h1>Katalog data geospasial</h1>
<p class="small">Simpul Jaringan {{ node.kode_simpul }} — {{ node.organisation }}. Metadata menurut SNI 8843-1:2019;
dipanen oleh Ina-Geoportal melalui CSW 2.0.2.</p>
<form class="cari" method="get" action="/peta/katalog">
<label>Kata kunci<input type="search" name="q" value="{{ f.q }}" placeholder="mis. kelurahan, sekolah"></label>
<label>OPD<select name="opd"><option value="">Semua OPD</option>
{% for o in opds %}<option value="{{ o }}"{% if o == f.opd %} selected{% endif %}>{{ o }}</option>{% endfor %}
</select></label>
<label>Topik<select name="topik"><option value="">Semua topik</option>
{% for t in topiks %}<option value="{{ t }}"{% if t == f.topik %} selected{% endif %}>
{{ topik_nama.get(t, t) }}</option>{% endfor %}
</select></label>
<label>Tempat<select name="tempat"><option value="">Seluruh kota</option>
{% for p in tempat %}<option value="{{ p }}"{% if p == f.tempat %} selected{% endif %}>Kec. {{ p }}</option>{% endfor %}
</select></label>
<button type="submit">Cari</button></form>
<p id="jumlah">{{ matched }} dataset ditemukan
{%- if matched > rows|length %}, {{ rows|length }} ditampilkan{% endif %}.</p>
<ul class="hasil" id="hasil">
{% for r in rows %}<li><a href="/peta/katalog/{{ r.collection_id }}"><strong>{{ r.title }}</strong></a><br>
<span class="lencana">{{ r.opd }}</span>
{% if r.topic %}<span class="lencana">{{ topik_nama.get(r.topic, r.topic) }}</span>{% endif %}
{% if r.kugi %}<span class="lencana">KUGI {{ r.kugi }}</span>{% endif %}
{% if r.missing %}<span class="lencana kurang">{{ r.missing }} elemen metadata kurang</span>{% endif %}
<br><span class="small">{{ r.abstract[:220] }}{% if r.abstract|length > 220 %}…{% endif %}</span></li>
{% else %}<li>Tidak ada dataset yang cocok.</li>{% endfor %}
</ul></body></html>""")

_DETAIL = _ENV.from_string(_HEAD + """<h1>{{ f.title }}</h1>
<p class="small">Pengenal metadata <code>{{ ident }}</code> · versi {{ f.version }} · {{ f.feature_count }} fitur</p>
{% if missing %}<p class="kurang">Elemen SNI 8843-1 yang belum diisi: {{ missing|join(", ") }}.</p>{% endif %}
<div class="dua"><section><h2>Metadata</h2><table class="meta">
{% for label, value in rows %}<tr><th>{{ label }}</th><td>
{% if value %}{{ value }}{% else %}<span class="kurang">belum diisi</span>{% endif %}
</td></tr>{% endfor %}
</table></section>
<section>{% if f.geometry_type %}<h2>Pratinjau</h2>
<iframe src="/peta/layer/{{ f.collection_id }}" title="Peta {{ f.title }}" loading="lazy"></iframe>{% endif %}
<h2>Unduh</h2><ul id="unduh">
{% for d in downloads %}<li><a href="{{ d.url }}" download>{{ d.label }}</a>
{% if d.utm %} · <a href="{{ d.utm }}" download>UTM 48S (EPSG:32748)</a>{% endif %}</li>{% endfor %}
</ul><p class="small">Lisensi dan atribusi ada di dalam berkas (GeoPackage, GeoJSON, KML) atau di berkas BACA.txt
dalam zip Shapefile.</p>
<h2>Layanan</h2><ul id="layanan">
{% for s in services %}<li>{{ s.label }}: <a href="{{ s.url }}"><code>{{ s.url }}</code></a></li>{% endfor %}
</ul></section></div></body></html>""")

TOPIK = {"boundaries": "Batas wilayah", "location": "Lokasi", "structure": "Bangunan dan fasilitas",
         "transportation": "Transportasi", "utilitiesCommunication": "Utilitas", "environment": "Lingkungan",
         "planningCadastre": "Tata ruang dan persil", "society": "Sosial", "health": "Kesehatan",
         "inlandWaters": "Perairan darat", "economy": "Ekonomi", "imageryBaseMapsEarthCover": "Citra dan peta dasar"}
FREKUENSI = {"continual": "terus-menerus", "daily": "harian", "weekly": "mingguan", "monthly": "bulanan",
             "quarterly": "triwulanan", "biannually": "semesteran", "annually": "tahunan", "asNeeded": "bila perlu",
             "irregular": "tidak tentu", "notPlanned": "tidak direncanakan", "unknown": "tidak diketahui"}


def index_page(node: md.Node, filters: dict[str, str], matched: int, rows: list[dict[str, Any]],
               opds: list[str], topiks: list[str], places: list[str]) -> str:
    """The catalogue search page."""
    items = []
    for row in rows:
        f = md.Facts.from_dict(row["mcf"]["facts"])
        items.append({"collection_id": f.collection_id, "title": f.title, "opd": f.opd, "topic": f.topic,
                      "kugi": f.kugi, "abstract": f.abstract, "missing": len(f.missing())})
    return _INDEX.render(judul="Katalog", style=_STYLE, node=node, f=filters, matched=matched, rows=items,
                         opds=opds, topiks=topiks, tempat=places, topik_nama=TOPIK)


def detail_page(node: md.Node, facts: md.Facts, ident: str, links: dict[str, dict[str, Any]]) -> str:
    """One layer's page: its metadata, a preview, its downloads and services."""
    f = facts
    bbox = ", ".join(f"{v:.5f}" for v in f.bbox) if f.bbox else ("tidak berlaku (tabel tanpa geometri)"
                                                                 if not f.geometry_type else "")
    kugi = f"{f.kugi} — {md.kugi_codes().get(f.kugi, '')}" if f.kugi else ""
    rows = [("Judul", f.title), ("Abstrak", f.abstract), ("Tujuan", f.purpose),
            ("Kategori topik (ISO 19115)", f"{f.topic} ({TOPIK.get(f.topic, f.topic)})" if f.topic else ""),
            ("Jenis unsur KUGI", kugi), ("Kata kunci", ", ".join([*f.keywords, *md.PLACES])),
            ("Penanggung jawab (OPD)", f.opd), ("Kontak", f.contact_email or node.email),
            ("Tanggal dibuat", f.created), ("Tanggal terbit", f.published.replace("T", " ")),
            ("Tanggal revisi", f.revised.replace("T", " ")), ("Cakupan (bujur/lintang)", bbox),
            ("Sistem referensi", "EPSG:4326 (WGS 84)"),
            ("Representasi spasial", f"vektor ({f.geometry_type})" if f.geometry_type else "tabel teks"),
            ("Skala", f"1:{f.scale:,}".replace(",", ".") if f.scale else ""), ("Silsilah (lineage)", f.lineage),
            ("Lisensi", f.licence), ("Atribusi", f.attribution),
            ("Frekuensi pemutakhiran", FREKUENSI.get(f.frequency, f.frequency)),
            ("Kontak metadata", f"{node.organisation} ({node.email})"), ("Kode Simpul", node.kode_simpul)]
    downloads = []
    for key, link in links.items():
        if key.startswith("unduh_"):
            ext = key.removeprefix("unduh_")
            downloads.append({"url": link["url"], "label": link["description"],
                              "utm": f"{link['url']}?crs=32748" if ext in ("gpkg", "zip") else None})
    labels = {"ogcapi": "OGC API – Features", "tiles": "Vector tiles (TileJSON)", "csw": "Metadata ISO 19139 (CSW)",
              "wms": "WMS", "wfs": "WFS", "portal": "Halaman ini"}
    services = [{"label": labels.get(k, k), "url": v["url"]} for k, v in links.items() if k in labels and k != "portal"]
    services.append({"label": "Metadata OGC API – Records",
                     "url": links["ogcapi"]["url"].replace(f"/collections/{f.collection_id}",
                                                           f"/collections/katalog/items/{ident}")})
    missing = [p.rsplit("/", 1)[-1] for p, _ in f.missing()]
    return _DETAIL.render(judul=f.title, style=_STYLE, f=f, ident=ident, rows=rows, downloads=downloads,
                          services=services, missing=missing)
