"""Real OGC API clients against a server whose page maximum is small: GDAL's OAPIF driver and OWSLib."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pyogrio
import pytest

from tests.conftest import LiveServer

MAX = 500  # gazetteer has 2034 rows: a client asking 20000 at once needs five pages
GAZ = 2034


@pytest.fixture(scope="module")
def small_pages(settings):
    """A live server whose items maximum is 500 (the session's server keeps the default)."""
    with LiveServer(settings.model_copy(update={"layers_items_max_limit": MAX})) as server:
        yield server


def test_limit_above_maximum_is_capped_with_next_link(small_pages):
    doc = httpx.get(f"{small_pages.url}/ogc/collections/gazetteer/items", params={"limit": 5_000_000_000}).json()
    assert doc["numberReturned"] == MAX == len(doc["features"]) and doc["numberMatched"] == GAZ
    nxt = next(li["href"] for li in doc["links"] if li["rel"] == "next")
    page2 = httpx.get(nxt).json()
    assert page2["numberReturned"] == MAX
    assert {f["id"] for f in page2["features"]}.isdisjoint(f["id"] for f in doc["features"])


def test_openapi_declares_limit(small_pages):
    api = httpx.get(f"{small_pages.url}/ogc/api").json()
    params = [p for op in api["paths"].values() for p in op.get("get", {}).get("parameters", [])
              if p.get("name") == "limit"]
    assert params
    for p in params:
        assert p["schema"] == {"type": "integer", "minimum": 1, "maximum": MAX, "default": 10}


def gdal_client(script: str, *args: str) -> subprocess.CompletedProcess:
    """Run a pyogrio script in a fresh process: the app under test turned GDAL's network off in this one."""
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=300,
                          check=True, env={**os.environ, "CPL_DEBUG": "ON"})


COPY = """
import sys, pyogrio
df = pyogrio.read_dataframe(sys.argv[1], layer="gazetteer", PAGE_SIZE="20000")
df.to_file(sys.argv[2], driver="GPKG", engine="pyogrio")
"""


def test_gdal_oapif_page_size_above_maximum_copies_everything(small_pages, tmp_path):
    out = tmp_path / "gazetteer.gpkg"
    gdal_client(COPY, f"OAPIF:{small_pages.url}/ogc", str(out))
    assert pyogrio.read_info(out)["features"] == GAZ


def test_owslib_limit_above_maximum(small_pages):
    from owslib.ogcapi.features import Features

    items = Features(small_pages.url + "/ogc").collection_items("gazetteer", limit=20000)
    assert items["numberReturned"] == MAX and items["numberMatched"] == GAZ


WHERE = """
import sys, pyogrio
df = pyogrio.read_dataframe(sys.argv[1], layer="gazetteer", where=sys.argv[2])
print(len(df))
"""


@pytest.mark.parametrize("where,sent,count", [
    ("kode = '36.71'", ["kode=36.71"], 1),
    ("level = 'kecamatan' AND kab_kode = '36.71'", ["level=kecamatan", "kab_kode=36.71"], 13),
])
def test_gdal_pushes_attribute_filter_to_the_server(small_pages, where, sent, count):
    run = gdal_client(WHERE, f"OAPIF:{small_pages.url}/ogc", where)
    assert int(run.stdout.strip()) == count
    assert "evaluated on client side" not in run.stderr
    fetched = [line for line in run.stderr.splitlines() if "Fetch(" in line and "/gazetteer/items?" in line]
    # the filtered read is one request carrying the filter, not the 2034 rows fetched and filtered locally
    assert any(all(s in line for s in sent) for line in fetched), fetched


def test_gazetteer_first_page_has_points_and_pages_cover_every_row(small_pages):
    url = f"{small_pages.url}/ogc/collections/gazetteer/items"
    first = httpx.get(url).json()["features"]
    assert first and all(f["geometry"]["type"] == "Point" for f in first)
    seen, nulls_started, href = [], False, f"{url}?limit={MAX}"
    while href:
        doc = httpx.get(href).json()
        for f in doc["features"]:
            assert not (nulls_started and f["geometry"] is not None), "geometry after null geometries"
            nulls_started = nulls_started or f["geometry"] is None
            seen.append(f["id"])
        href = next((li["href"] for li in doc["links"] if li["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == GAZ and nulls_started


INFO = """
import sys, pyogrio
print(pyogrio.read_info(sys.argv[1], layer="gazetteer")["geometry_type"])
"""


def test_gdal_sees_gazetteer_as_points(small_pages):
    # GDAL, like QGIS's OAPIF provider, takes the geometry type from the first page of features
    assert gdal_client(INFO, f"OAPIF:{small_pages.url}/ogc").stdout.strip() == "Point"
