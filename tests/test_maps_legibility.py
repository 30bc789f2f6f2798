"""The dashboard and maps read as their users read them: names not hand-off codes, times in jam/hari, every OPD
in the chart under its own label, a text alternative for each chart, each category's due time, dates written
dd-mm-yyyy in every field, and a message for an empty period."""

from __future__ import annotations

import json
import re

import pytest

# A period of its own, long before any other test's laporan, so counts elsewhere are untouched.
DARI, SAMPAI = "01-03-2001", "31-03-2001"


def test_short_names_come_from_the_gazetteer_never_a_code():
    from maps.warna import short_code

    assert short_code({"kode": "dlh", "singkatan": "DLH", "nama": "Dinas Lingkungan Hidup"}) == "DLH"
    assert short_code({"kode": "kab-36.03", "singkatan": "", "jenis": "kabkota_tetangga",
                       "wilayah_nama": "Kabupaten Tangerang", "nama": "Pemerintah Kabupaten Tangerang"}) == \
        "Kabupaten Tangerang"
    assert short_code({"kode": "kec-36.71.01", "singkatan": "", "jenis": "kecamatan", "wilayah_nama": "Tangerang",
                       "nama": "Kantor Kecamatan Tangerang"}) == "Kec. Tangerang"
    assert short_code({"kode": "x-1", "singkatan": "", "nama": "Dinas Tanpa Singkatan"}) == "Dinas Tanpa Singkatan"


def test_times_read_in_jam_and_hari():
    from maps.dasbor import _unit, durasi

    assert durasi(None) == "–"
    assert durasi(0.01) == "< 1 jam"
    assert durasi(5.25) == "5,2 jam" or durasi(5.25) == "5,3 jam"
    assert durasi(72) == "3,0 hari"
    assert _unit(0.01)[1] == "Jam sampai selesai" and _unit(100)[1] == "Hari sampai selesai"


def test_chart_keeps_every_opd_under_its_own_label():
    from maps.dasbor import fold_rows, plot_status

    rows = [{"kode": f"o{i}", "nama": f"Dinas Nomor {i}", "label": f"Dinas Nomor {i}", "diterima": 3, "terbuka": 2,
             "selesai": 1, "terlambat": 1, "median_jam": None, "p90_jam": None} for i in range(30)]
    rows[0]["label"] = "Kota Administrasi Jakarta Barat"
    rows[1]["label"] = "Kota Administrasi Jakarta Selatan"
    folded = fold_rows(rows, 20)
    assert len(folded) == 20 and folded[-1]["label"] == "11 OPD lainnya"
    assert sum(r["diterima"] for r in folded) == sum(r["diterima"] for r in rows)
    svg = plot_status(folded, "Laporan per OPD")
    assert 'role="img"' in svg and "aria-label=" in svg
    assert "Jakarta Barat" in svg and "Jakarta Selatan" in svg  # wrapped, never cut to one shared label
    assert "11 OPD lainnya" in svg


@pytest.fixture(scope="module")
def laporan_luar(settings, katalog):
    """Laporan of March 2001 handed to Kabupaten Tangerang (its kabkota_tetangga OPD): two open past their due time,
    one answered 'not_responsible' (an Open311-closed status that is not 'closed')."""
    from geo_api.db import connect

    with connect(settings) as conn:
        if not conn.execute("SELECT 1 FROM laporan WHERE deskripsi = 'uji legibilitas'").fetchone():
            kel = conn.execute("SELECT kode, kec_kode, ST_Y(ST_PointOnSurface(geom)) AS lat, "
                               "ST_X(ST_PointOnSurface(geom)) AS lon FROM kelurahan ORDER BY kode LIMIT 1").fetchone()
            layanan = conn.execute("SELECT kode FROM layanan WHERE aktif ORDER BY kode LIMIT 1").fetchone()["kode"]
            for day, status in ((10, "open"), (12, "open"), (14, "not_responsible")):
                conn.execute(
                    """INSERT INTO laporan (layanan_kode, status, deskripsi, lat, lon, geom, opd_kode, keputusan,
                                            alasan, alasan_teks, kelurahan_kode, kecamatan_kode, kabkota_kode,
                                            requested_at, updated_at, expected_at)
                       VALUES (%(lay)s, %(st)s, 'uji legibilitas', %(lat)s, %(lon)s,
                               ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), 'kab-36.03', 'serah_terima',
                               %(al)s, 'uji', %(kel)s, %(kec)s, '36.03', %(t)s, %(t)s,
                               %(t)s::timestamptz + interval '2 days')""",
                    {"st": status, "lay": layanan, "lat": kel["lat"], "lon": kel["lon"],
                     "al": json.dumps({"uji": True}),
                     "kel": kel["kode"], "kec": kel["kec_kode"], "t": f"2001-03-{day} 09:00+07"})
            conn.commit()
        return layanan


def test_dashboard_names_the_neighbour_and_gives_each_category_its_due_time(client, laporan_luar):
    r = client.get("/peta/dasbor", params={"dari": DARI, "sampai": SAMPAI})
    assert r.status_code == 200, r.text
    silang = r.text[r.text.index("id='opd-kecamatan'"):]
    silang = silang[:silang.index("</table>")]
    visible = re.sub(r"<[^>]+>", " ", silang)  # what a reader sees (attributes carry the code for scripts)
    assert "Kabupaten Tangerang" in visible and "kab-36.03" not in visible
    assert "2 terbuka, 2 terlambat" in silang
    kartu = r.text[r.text.index('id="ringkasan"'):r.text.index("</section>")]
    assert "<b>3</b>Diterima" in kartu and "<b>2</b>Terbuka" in kartu and "<b>1</b>Selesai" in kartu
    kategori = r.text[r.text.index("id='per-layanan'"):]
    kategori = kategori[:kategori.index("</table>")]
    assert re.search(r"<td class='tenggat'>\d+ hari", kategori)
    assert "Tabel data grafik" in r.text and 'role="img"' in r.text
    # the period's fields say dd-mm-yyyy, as typed
    assert f'name="dari" value="{DARI}"' in r.text and f'name="sampai" value="{SAMPAI}"' in r.text


def test_an_empty_period_says_so(client):
    r = client.get("/peta/dasbor", params={"dari": "01-01-1999", "sampai": "31-01-1999"})
    assert r.status_code == 200
    assert "Tidak ada laporan diterima pada periode ini" in r.text and "id='periode-kosong'" in r.text


def test_dates_in_dd_mm_yyyy_are_read_and_a_bad_period_keeps_them_as_typed(client):
    r = client.get("/peta/laporan", params={"dari": "02-03-2001", "sampai": "01-03-2001"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert 'value="02-03-2001"' in r.text and 'value="01-03-2001"' in r.text
    assert "Tanggal akhir sebelum tanggal awal" in r.text
    r = client.get("/peta/laporan", params={"dari": "31-02-2001"})
    assert r.status_code == 422  # no such day: the parameter is named
    assert "dari" in r.text
    r = client.get("/peta/laporan", params={"dari": "01-03-2001", "sampai": "2001-03-31"})
    assert r.status_code == 200 and 'value="01-03-2001"' in r.text and 'value="31-03-2001"' in r.text
