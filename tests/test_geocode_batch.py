"""Batch reverse geocoding: POST /geocode/reverse/batch over HTTP and the streaming CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pyarrow.parquet as pq

GOOD = (-6.17288, 106.63185)  # Sukarasa


def test_batch_csv_answers_good_rows_and_marks_bad_ones(client):
    body = "id,lat,lon,note\n1,-6.17288,106.63185,a\n2,abc,106.6,b\n3,106.63,-6.17,c\n4,,,d\n5,-6.25,106.93,e\n"
    r = client.post("/geocode/reverse/batch", content=body, headers={"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.headers["x-geocode-errors"] == "3"
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [x["id"] for x in rows] == ["1", "2", "3", "4", "5"] and rows[0]["note"] == "a"
    assert rows[0]["decision"] == "inside" and rows[0]["desa_kel_kode"] == "36.71.01.1001"
    assert rows[0]["kec_kode"] == "36.71.01" and rows[0]["error"] == ""
    assert "not a number" in rows[1]["error"] and rows[1]["decision"] == ""
    assert "swapped" in rows[2]["error"]
    assert "missing" in rows[3]["error"]
    assert rows[4]["decision"] == "nearest_kabkota" and float(rows[4]["distance_m"]) > 0


def test_batch_geojson(client):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [GOOD[1], GOOD[0]]}, "properties": {"n": 1}},
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "properties": {}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": ["x", 1]}, "properties": None},
    ]}
    r = client.post("/geocode/reverse/batch", json=fc)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    feats = r.json()["features"]
    assert feats[0]["properties"]["n"] == 1 and feats[0]["properties"]["desa_kel_nama"] == "Sukarasa"
    assert "Point" in feats[1]["properties"]["error"] and "numbers" in feats[2]["properties"]["error"]
    assert r.json()["errors"] == 2


def test_batch_bad_documents(client):
    assert client.post("/geocode/reverse/batch", content=b"{nope", headers={"content-type": "application/json"}
                       ).status_code == 422
    r = client.post("/geocode/reverse/batch", json={"type": "Feature"})
    assert r.status_code == 422 and r.json()["parameter"] == "body"
    r = client.post("/geocode/reverse/batch", content="a,b\n1,2\n", headers={"content-type": "text/csv"})
    assert r.status_code == 422 and "latitude" in r.json()["detail"]
    r = client.post("/geocode/reverse/batch", content=b"", headers={"content-type": "text/csv"})
    assert r.status_code == 422
    r = client.post("/geocode/reverse/batch", content=b"x", headers={"content-type": "application/pdf"})
    assert r.status_code == 400


def test_batch_too_many_points_is_413(client, settings):
    n = settings.geocode_batch_max_points + 1
    body = "lat,lon\n" + "-6.17,106.63\n" * n
    r = client.post("/geocode/reverse/batch", content=body, headers={"content-type": "text/csv"})
    assert r.status_code == 413 and r.json()["limit"] == settings.geocode_batch_max_points


def _cli(settings, *args):
    env = {**os.environ, "DATABASE_URL": settings.dsn}
    return subprocess.run([sys.executable, "-m", "geo_api.cli", "geocode", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_cli_streams_csv_geojson_parquet(settings, tmp_path):
    src = tmp_path / "pts.csv"
    src.write_text("id,lat,lon\n" + "".join(f"{i},{GOOD[0]},{GOOD[1]}\n" for i in range(5000)) + "9999,zz,1\n")
    p = _cli(settings, "reverse", str(src), str(tmp_path / "out.parquet"), "--batch-rows", "1000")
    assert p.returncode == 0, p.stderr
    t = pq.read_table(tmp_path / "out.parquet")
    assert t.num_rows == 5001 and json.loads(t.schema.metadata[b"geo"])["primary_column"] == "geometry"
    assert t["desa_kel_kode"][0].as_py() == "36.71.01.1001" and t["error"][5000].as_py()
    p = _cli(settings, "reverse", str(tmp_path / "out.parquet"), str(tmp_path / "out.geojson"))
    assert p.returncode == 0, p.stderr
    fc = json.loads((tmp_path / "out.geojson").read_text())
    assert len(fc["features"]) == 5001 and fc["features"][0]["properties"]["decision"] == "inside"
    p = _cli(settings, "reverse", str(tmp_path / "out.geojson"), str(tmp_path / "back.csv"))
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(open(tmp_path / "back.csv")))
    assert len(rows) == 5001 and rows[0]["desa_kel_nama"] == "Sukarasa"


def test_cli_errors_are_one_line(settings, tmp_path):
    p = _cli(settings, "reverse", str(tmp_path / "missing.csv"), str(tmp_path / "o.csv"))
    assert p.returncode != 0 and "does not exist" in p.stderr and "Traceback" not in p.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    p = _cli(settings, "reverse", str(bad), str(tmp_path / "o.csv"))
    assert p.returncode != 0 and "latitude" in p.stderr and "Traceback" not in p.stderr
    p = _cli(settings, "reverse", str(bad), str(tmp_path / "o.xyz"))
    assert p.returncode != 0 and "format" in p.stderr and "Traceback" not in p.stderr
