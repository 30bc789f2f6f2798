"""Foundation: the bundled load, its checks and atomic reload, /health, problem+json, settings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from geo_api.settings import Settings
from ingestion.bundled import BUNDLED

EXPECTED = {"kelurahan": 104, "kecamatan": 13, "batas_kota": 1, "tetangga_desa_kelurahan": 105,
            "kabkota_sekitar": 6, "gazetteer": 2034, "crosswalk_bps": 481, "poi": 423}


def _cli(settings: Settings, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "DATABASE_URL": settings.dsn, **(env or {})}
    return subprocess.run([sys.executable, "-m", "geo_api.cli", *args], capture_output=True, text=True,
                          env=full_env, timeout=300)


def test_row_counts_after_load(db):
    for table, n in EXPECTED.items():
        assert db.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"] == n, table
        rec = db.execute("SELECT feature_count, attribution FROM data_layer WHERE id = %s", (table,)).fetchone()
        assert rec["feature_count"] == n
        assert rec["attribution"]


def test_codes_and_names(db):
    row = db.execute("SELECT nama, kec_kode, kec_nama, kodepos FROM kelurahan WHERE kode = '36.71.01.1001'"
                     ).fetchone()
    assert row == {"nama": "Sukarasa", "kec_kode": "36.71.01", "kec_nama": "Tangerang", "kodepos": "15111"}
    per_kec = dict(db.execute("SELECT kec_nama, count(*) FROM kelurahan GROUP BY 1").fetchall()
                   and [(r["kec_nama"], r["count"]) for r in
                        db.execute("SELECT kec_nama, count(*) FROM kelurahan GROUP BY 1").fetchall()])
    assert per_kec["Karawaci"] == 16 and per_kec["Periuk"] == 5 and len(per_kec) == 13
    assert db.execute("SELECT count(*) AS n FROM kelurahan WHERE kode !~ '^36\\.71\\.\\d{2}\\.1\\d{3}$'"
                      ).fetchone()["n"] == 0
    # codes are text: a leading-zero or dotted code must never have been parsed as a number
    assert db.execute("SELECT kode FROM gazetteer WHERE kode = '36.71'").fetchone()
    assert db.execute("SELECT kode_bps FROM crosswalk_bps WHERE nama_kemendagri = 'Kreo'").fetchone()[
        "kode_bps"].startswith("3671")


def test_geometries_valid_and_in_4326(db):
    for spec in BUNDLED:
        if not spec.geometry_types:
            continue
        row = db.execute(f"SELECT bool_and(ST_IsValid(geom)) AS ok, min(ST_SRID(geom)) AS srid "
                         f"FROM {spec.table} WHERE geom IS NOT NULL").fetchone()
        assert row == {"ok": True, "srid": 4326}, spec.table


def test_total_area_matches_kepmendagri(db):
    km2 = db.execute("SELECT sum(ST_Area(geom::geography)) / 1e6 AS a FROM kelurahan").fetchone()["a"]
    assert abs(km2 - 178.35) / 178.35 < 0.001, km2


def _row_versions(db) -> dict:
    """Each bundled table's row versions (ctid, xmin) and the data_layer rows: any rewrite changes them."""
    out = {table: db.execute(f"SELECT array_agg(ctid::text || '/' || xmin::text ORDER BY ctid) AS v FROM {table}"
                             ).fetchone()["v"] for table in EXPECTED}
    out["data_layer"] = db.execute("SELECT array_agg(id || '/' || xmin::text || '/' || loaded_at::text ORDER BY id)"
                                   " AS v FROM data_layer").fetchone()["v"]
    db.rollback()
    return out


def test_city_outline_has_its_own_area(db):
    """batas_kota is the city's one outline (README: 178.35 km²), not just the kelurahan added up."""
    row = db.execute("SELECT count(*) AS n, sum(ST_Area(geom::geography)) / 1e6 AS a, "
                     "bool_and(ST_GeometryType(geom) IN ('ST_Polygon', 'ST_MultiPolygon')) AS poly "
                     "FROM batas_kota").fetchone()
    assert row["n"] == 1 and row["poly"], row
    assert abs(row["a"] - 178.35) / 178.35 < 0.001, row["a"]
    # its own area, as SOURCES.md computes it (UTM 48S) and as its luas_km2 says: 178.35 km² to the 10 m²,
    # where the kelurahan merely unioned (gaps left open) make 178.25 and added up (overlaps twice) 178.36
    own = db.execute("SELECT luas_km2, ST_Area(ST_Transform(b.geom, 32748)) / 1e6 AS utm, "
                     "(SELECT ST_Area(ST_Transform(ST_Union(geom), 32748)) / 1e6 FROM kelurahan) AS unioned, "
                     "(SELECT sum(ST_Area(ST_Transform(geom, 32748))) / 1e6 FROM kelurahan) AS added "
                     "FROM batas_kota b").fetchone()
    assert round(own["utm"], 2) == 178.35 and abs(own["utm"] - own["luas_km2"]) < 1e-3, own
    assert abs(own["utm"] - own["unioned"]) > 0.05 and abs(own["utm"] - own["added"]) > 0.005, own
    # it covers the kelurahan it was made from (thin gaps and overlaps aside)
    share = db.execute("SELECT sum(ST_Area(ST_Intersection(k.geom, b.geom)::geography)) / "
                       "sum(ST_Area(k.geom::geography)) AS s FROM kelurahan k, batas_kota b").fetchone()["s"]
    assert share > 0.995, share


def test_known_quality_issues_are_as_the_readme_says(db):
    """README 'Known quality issues': three kelurahan without a BPS code, and 0.11 km² of overlaps."""
    missing = [r["nama"] for r in db.execute(
        "SELECT k.nama FROM kelurahan k WHERE NOT EXISTS (SELECT 1 FROM crosswalk_bps c WHERE "
        "c.kode_kemendagri = k.kode AND c.kode_bps IS NOT NULL) ORDER BY k.nama").fetchall()]
    assert missing == ["Belendung", "Bugel", "Gerendeng"]
    overlap = db.execute("SELECT sum(ST_Area(ST_Intersection(a.geom, b.geom)::geography)) / 1e6 AS km2 "
                         "FROM kelurahan a JOIN kelurahan b ON a.kode < b.kode AND ST_Intersects(a.geom, b.geom)"
                         ).fetchone()["km2"]
    assert round(overlap, 2) == 0.11, overlap


def test_reload_unchanged_is_skipped(settings, db):
    before = _row_versions(db)
    proc = _cli(settings, "load")
    assert proc.returncode == 0, proc.stderr
    assert "0 layer(s), 8 unchanged" in proc.stderr
    # nothing rewritten: every row of every layer (and its data_layer record) is the very same tuple
    assert _row_versions(db) == before


def _corrupt_copy(data_dir: Path, tmp_path: Path, name: str, how) -> Path:
    target = tmp_path / "data"
    shutil.copytree(data_dir, target, ignore=shutil.ignore_patterns("_build"))
    path = target / name
    path.chmod(0o644)
    how(path)
    return target


def _first_geometry(path: Path, geometry: dict) -> None:
    import json

    doc = json.loads(path.read_text())
    doc["features"][0]["geometry"] = geometry
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize("name,how,needle", [
    ("kota_tangerang_kelurahan.geojson",
     lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "cannot be read"),
    ("gazetteer_wilayah_banten_dki.csv",
     lambda p: p.write_text("\n".join(p.read_text().splitlines()[:900])), "expected 2034 rows"),
    ("kota_tangerang_kecamatan.geojson",
     lambda p: _first_geometry(p, {"type": "Point", "coordinates": [106.63, -6.18]}), "geometry type Point where"),
])
def test_reload_of_corrupted_file_fails_and_keeps_rows(settings, db, data_dir, tmp_path, name, how, needle):
    before = db.execute("SELECT count(*) AS n, max(loaded_at) AS t FROM data_layer").fetchone()
    bad = _corrupt_copy(data_dir, tmp_path, name, how)
    proc = _cli(settings, "load", "--force", "--data-dir", str(bad))
    assert proc.returncode != 0
    assert name in proc.stderr and needle in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    for table, n in EXPECTED.items():
        assert db.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"] == n
    assert db.execute("SELECT count(*) AS n, max(loaded_at) AS t FROM data_layer").fetchone() == before


def test_invalid_geometry_is_rejected(settings, db, data_dir, tmp_path):
    import json

    def bowtie(p: Path) -> None:
        doc = json.loads(p.read_text())
        doc["features"][0]["geometry"] = {"type": "Polygon", "coordinates": [
            [[106.6, -6.2], [106.7, -6.1], [106.7, -6.2], [106.6, -6.1], [106.6, -6.2]]]}
        p.write_text(json.dumps(doc))

    bad = _corrupt_copy(data_dir, tmp_path, "kota_tangerang_kelurahan.geojson", bowtie)
    proc = _cli(settings, "load", "--force", "--layer", "kelurahan", "--data-dir", str(bad))
    assert proc.returncode == 1
    assert "invalid geometr" in proc.stderr and "36.71.01.1001" in proc.stderr, proc.stderr
    assert db.execute("SELECT count(*) AS n FROM kelurahan WHERE ST_IsValid(geom)").fetchone()["n"] == 104


def test_forced_reload_replaces_layer(settings, db):
    before = db.execute("SELECT loaded_at FROM data_layer WHERE id = 'kecamatan'").fetchone()["loaded_at"]
    proc = _cli(settings, "load", "--force", "--layer", "kecamatan")
    assert proc.returncode == 0, proc.stderr
    after = db.execute("SELECT loaded_at FROM data_layer WHERE id = 'kecamatan'").fetchone()["loaded_at"]
    assert after > before
    assert db.execute("SELECT count(*) AS n FROM kecamatan").fetchone()["n"] == 13


def test_unknown_layer_and_missing_folder(settings, tmp_path):
    proc = _cli(settings, "load", "--layer", "jalan")
    assert proc.returncode != 0 and "unknown layer" in proc.stderr
    proc = _cli(settings, "load", "--data-dir", str(tmp_path / "nowhere"))
    assert proc.returncode != 0 and "does not exist" in proc.stderr


def test_health_over_http(client):
    resp = client.get("/health")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok"
    assert body["database"]["reachable"] is True
    assert body["database"]["postgis"].startswith("3.")
    counts = {layer["id"]: layer["rows"] for layer in body["layers"]}
    assert counts == EXPECTED
    assert all(layer["attribution"] for layer in body["layers"])


def test_health_when_database_is_down(settings):
    import httpx

    from tests.conftest import LiveServer

    down = settings.model_copy(update={"database_url": "postgresql://nobody@127.0.0.1:1/none"})
    with LiveServer(down) as server:
        resp = httpx.get(server.url + "/health", timeout=30)
    assert resp.status_code == 503
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "database" in resp.json()["detail"].lower()


def test_problem_json_on_unknown_path(client):
    resp = client.get("/no/such/thing")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert {"type", "title", "status", "detail"} <= body.keys() and body["status"] == 404


def test_openapi_and_offline_docs(client):
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/health" in spec["paths"]
    # /osmand is answered before routing, but documented, so /docs and the fuzzing (test_fuzz_openapi) reach it
    assert {"get", "post"} <= spec["paths"]["/osmand"].keys()
    assert {"id", "lat", "lon"} <= {p["name"] for p in spec["paths"]["/osmand"]["get"]["parameters"]}
    html = client.get("/docs").text
    import re

    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("/swagger-ui-bundle.js") for a in assets), assets
    assert "cdn" not in html.lower()
    for asset in assets:  # every asset the page loads is served from here, none from elsewhere
        assert asset.startswith("/"), asset
        assert client.get(asset).status_code == 200, asset


def test_settings_overridden_by_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SATUPETA_PORT", "9123")
    monkeypatch.setenv("SATUPETA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example:5432/kota")
    s = Settings()
    assert s.port == 9123 and s.data_dir == tmp_path
    assert s.dsn == "postgresql://u@db.example:5432/kota" and not s.embedded
    assert s.sqlalchemy_url().startswith("postgresql+psycopg://")
    monkeypatch.delenv("DATABASE_URL")
    s = Settings()
    assert s.embedded and f":{s.pg_port}/" in s.dsn


def test_bad_setting_is_a_clear_error(settings):
    proc = _cli(settings, "db", "status", env={"SATUPETA_PG_PORT": "not-a-port"})
    assert proc.returncode != 0
    assert "pg_port" in proc.stderr and "Traceback" not in proc.stderr


def test_reload_keeps_rows_that_other_tables_reference(settings, db, data_dir, tmp_path):
    import json

    db.execute("CREATE TABLE test_ref_kecamatan (kec text REFERENCES kecamatan (kode))")
    db.execute("INSERT INTO test_ref_kecamatan VALUES ('36.71.01')")
    db.commit()
    try:
        proc = _cli(settings, "load", "--force", "--layer", "kecamatan")
        assert proc.returncode == 0, proc.stderr

        def drop_referenced(p: Path) -> None:
            doc = json.loads(p.read_text())
            # same row count, so only the database's foreign key can notice the referenced code is gone
            for f in doc["features"]:
                if f["properties"]["kode"] == "36.71.01":
                    f["properties"]["kode"] = "36.71.99"
            p.write_text(json.dumps(doc))

        bad = _corrupt_copy(data_dir, tmp_path, "kota_tangerang_kecamatan.geojson", drop_referenced)
        proc = _cli(settings, "load", "--force", "--layer", "kecamatan", "--data-dir", str(bad))
        assert proc.returncode != 0 and "kota_tangerang_kecamatan" in proc.stderr, proc.stderr
        # whichever referencing table PostgreSQL checks first (ours, or a vehicle another test registered) is named
        assert "rejected by the database" in proc.stderr and "foreign key constraint" in proc.stderr, proc.stderr
        assert db.execute("SELECT count(*) AS n FROM kecamatan").fetchone()["n"] == 13
    finally:
        db.rollback()
        db.execute("DROP TABLE test_ref_kecamatan")
        db.commit()


def test_config_gives_every_setting_its_meaning(settings):
    """README: `satupeta config` lists every setting, its environment variable, the value and its meaning."""
    proc = _cli(settings, "config", env={"COLUMNS": "1000"})
    assert proc.returncode == 0, proc.stderr
    rows = {}
    for line in proc.stdout.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) == 3 and (cells[0].startswith("SATUPETA_") or cells[0] == "DATABASE_URL"):
            rows[cells[0]] = cells[2]
    for name in Settings.model_fields:
        env = "DATABASE_URL" if name == "database_url" else f"SATUPETA_{name.upper()}"
        assert env in rows, f"{env} missing from `satupeta config`"
        assert len(rows[env]) >= 10, f"{env} has no meaning in `satupeta config` (add a description)"


@pytest.mark.parametrize("method,path,kw,parameter", [
    ("GET", "/geocode/search", {"params": {"q": "cibodas", "limit": "0"}}, "limit"),
    ("POST", "/routing/explain", {"json": {"category": "banjir", "lat": 95, "lon": 106.62}}, "lat"),
    ("GET", "/geocode/reverse", {"params": {"lat": "x", "lon": "106.6"}}, "lat"),
])
def test_framework_validation_errors_name_the_parameter(client, method, path, kw, parameter):
    """README: errors name the parameter at fault, framework (FastAPI) validation errors included."""
    r = client.request(method, path, **kw)
    assert 400 <= r.status_code < 500 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["parameter"] == parameter, r.text
