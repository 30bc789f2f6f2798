"""Test data for the maps: OPDs, a category and laporan of our own (codes prefixed uji), inserted once."""

from __future__ import annotations

import json

import psycopg

LAYANAN = "uji_peta"
OPD = ("uji-peta-a", "uji-peta-b", "uji-peta-c")
OPD_LUAR = "uji-peta-luar"
N_LAPORAN = 40
XSS = '<script>alert("x")</script><b>tebal</b> & "kutip"'


def seed_laporan(conn: psycopg.Connection) -> dict:
    """Insert (idempotently) N_LAPORAN laporan spread over kelurahan; returns facts the tests assert on."""
    if conn.execute("SELECT 1 FROM layanan WHERE kode = %s", (LAYANAN,)).fetchone():
        return _facts(conn)
    conn.execute("INSERT INTO layanan (kode, nama) VALUES (%s, 'Uji peta: jalan rusak')", (LAYANAN,))
    for i, kode in enumerate(OPD):
        conn.execute("INSERT INTO opd (kode, nama, jenis) VALUES (%s, %s, 'dinas')", (kode, f"Dinas Uji {'ABC'[i]}"))
    kab = conn.execute("SELECT kode FROM kabkota_sekitar ORDER BY kode LIMIT 1").fetchone()["kode"]
    # jenis instansi_luar without wilayah_kode: the real catalogue owns the one kabkota_tetangga row per kab/kota
    conn.execute("INSERT INTO opd (kode, nama, jenis, luar_kota) "
                 "VALUES (%s, 'Kab/kota tetangga (uji)', 'instansi_luar', true)", (OPD_LUAR,))
    kel = conn.execute("SELECT kode, kec_kode, ST_Y(ST_PointOnSurface(geom)) AS lat, "
                       "ST_X(ST_PointOnSurface(geom)) AS lon FROM kelurahan ORDER BY kode").fetchall()
    for i in range(N_LAPORAN):
        k = kel[(i * 7) % len(kel)]
        luar = i % 13 == 5
        status = ("open", "in_progress", "closed", "closed")[i % 4]
        opd = OPD_LUAR if luar else OPD[i % 3]
        row = conn.execute(
            """INSERT INTO laporan (layanan_kode, status, deskripsi, lat, lon, geom, opd_kode, keputusan, alasan,
                                    alasan_teks, kelurahan_kode, kecamatan_kode, kabkota_kode, requested_at,
                                    updated_at, expected_at)
               VALUES (%(lay)s, %(st)s, %(d)s, %(lat)s, %(lon)s, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326),
                       %(opd)s, %(kep)s, %(al)s, %(alt)s, %(kel)s, %(kec)s, %(kab)s,
                       now() - make_interval(days => %(age)s), now(), now() - make_interval(days => %(age)s - 3))
               RETURNING id, requested_at""",
            {"lay": LAYANAN, "st": status, "d": XSS if i == 0 else f"Laporan uji nomor {i}",
             "lat": k["lat"] + (i % 5) * 0.0004, "lon": k["lon"] + (i % 3) * 0.0004, "opd": opd,
             "kep": "serah_terima" if luar else "aturan", "al": json.dumps({"uji": True}),
             "alt": f"Diarahkan ke {opd} karena aturan uji nomor {i}.", "kel": k["kode"], "kec": k["kec_kode"],
             "kab": kab if luar else "36.71", "age": 1 + i % 20}).fetchone()
        if status == "closed":
            conn.execute("INSERT INTO laporan_status (laporan_id, status, pada) "
                         "VALUES (%s, 'closed', %s + make_interval(hours => %s))",
                         (row["id"], row["requested_at"], 6 * (1 + i % 8)))
    conn.commit()
    return _facts(conn)


def _facts(conn: psycopg.Connection) -> dict:
    rows = conn.execute("SELECT id, deskripsi, keputusan FROM laporan WHERE layanan_kode = %s", (LAYANAN,)).fetchall()
    return {"n": len(rows), "xss_id": next(r["id"] for r in rows if r["deskripsi"] == XSS),
            "serah": sum(r["keputusan"] == "serah_terima" for r in rows)}


PLAT = ("B 9001 UJI", "B 9002 UJI", "B 9003 UJI")


def seed_armada(conn: psycopg.Connection, tz_name: str = "Asia/Jakarta") -> dict:
    """Three trucks with a device each and ~20 minutes of fixes today (local day), idempotently."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    rows = conn.execute("SELECT v.id, d.id AS device_id FROM fleet.vehicle v "
                        "JOIN fleet.device d ON d.vehicle_id = v.id "
                        "WHERE v.plat_nomor = ANY(%s) ORDER BY v.id", (list(PLAT),)).fetchall()
    if rows:
        return {"vehicles": [r["id"] for r in rows], "devices": [r["device_id"] for r in rows]}
    now = datetime.now(ZoneInfo(tz_name))
    start = max(now.replace(hour=0, minute=0, second=1, microsecond=0), now - timedelta(minutes=20))
    kel = conn.execute("SELECT ST_Y(ST_PointOnSurface(geom)) AS lat, ST_X(ST_PointOnSurface(geom)) AS lon "
                       "FROM kelurahan ORDER BY kode LIMIT 3").fetchall()
    out = {"vehicles": [], "devices": []}
    for i, plat in enumerate(PLAT):
        vid = conn.execute("INSERT INTO fleet.vehicle (plat_nomor, jenis) VALUES (%s, 'compactor') RETURNING id",
                           (plat,)).fetchone()["id"]
        did = conn.execute("INSERT INTO fleet.device (unique_id, vehicle_id) VALUES (%s, %s) RETURNING id",
                           (f"uji-peta-{i}", vid)).fetchone()["id"]
        n = 60
        step = (now - start) / n
        lat0, lon0 = kel[i]["lat"], kel[i]["lon"]
        for k in range(n + 1):
            t = start + step * k
            conn.execute("INSERT INTO fleet.position (device_id, fix_time, lat, lon, speed_kn) "
                         "VALUES (%s, %s, %s, %s, 10)", (did, t, lat0 + 0.00015 * k, lon0 + 0.0001 * k))
        conn.execute("UPDATE fleet.device SET last_fix_time = %s, last_received = %s, last_lat = %s, last_lon = %s, "
                     "last_speed_kn = 10 WHERE id = %s", (now, now, lat0 + 0.00015 * n, lon0 + 0.0001 * n, did))
        out["vehicles"].append(vid)
        out["devices"].append(did)
    conn.commit()
    return out


def at_rest(page) -> None:
    """Wait until every frame of the page is at rest (peta.js's SP.diam: loaded, no map or cluster animating,
    image tiles in, popups faded in), instead of a fixed pause."""
    for frame in page.frames:
        frame.wait_for_function("document.readyState === 'complete' && (!window.SP || !SP.diam || SP.diam())")
