"""Vector tiles: MVT decoded with mapbox-vector-tile, TileJSON, tileset metadata, ETag and caching."""

from __future__ import annotations

import mapbox_vector_tile
import morecantile
import pytest

TMS = morecantile.tms.get("WebMercatorQuad")


def _city_tile(z: int) -> morecantile.Tile:
    return TMS.tile(106.64, -6.18, z)  # central Kota Tangerang


def test_tile_decodes_with_features(client):
    t = _city_tile(12)
    r = client.get(f"/ogc/collections/kelurahan/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    tile = mapbox_vector_tile.decode(r.content)
    layer = tile["kelurahan"]
    assert layer["extent"] == 4096 and len(layer["features"]) > 5
    props = layer["features"][0]["properties"]
    assert {"kode", "nama", "kec_nama"} <= set(props)
    assert layer["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    poi = client.get(f"/ogc/collections/poi/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}")
    assert mapbox_vector_tile.decode(poi.content)["poi"]["features"][0]["geometry"]["type"] == "Point"
    ids = [f["id"] for f in mapbox_vector_tile.decode(poi.content)["poi"]["features"]]
    assert len(set(ids)) == len(ids) > 1 and 0 not in ids  # each feature carries its own id, not 0


def test_empty_tile_and_caching_headers(client):
    r = client.get("/ogc/collections/kelurahan/tiles/WebMercatorQuad/10/0/0")
    assert r.status_code == 204
    t = _city_tile(14)
    url = f"/ogc/collections/kecamatan/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
    first = client.get(url)
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    again = client.get(url)
    assert again.content == first.content and again.headers["etag"] == etag
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_tilejson_and_tileset_metadata(client):
    tj = client.get("/ogc/collections/kelurahan/tiles/WebMercatorQuad/tilejson.json").json()
    assert tj["tilejson"] == "3.0.0" and tj["tiles"][0].endswith("/{z}/{x}/{y}")
    assert tj["vector_layers"][0]["id"] == "kelurahan" and tj["attribution"]
    fields = tj["vector_layers"][0]["fields"]
    assert fields and set(fields.values()) <= {"String", "Number", "Boolean"}, fields
    assert fields["luas_km2"] == "Number" and fields["nama"] == "String"
    ts = client.get("/ogc/collections/kelurahan/tiles/WebMercatorQuad").json()
    assert ts["dataType"] == "vector" and "WebMercatorQuad" in ts["tileMatrixSetURI"]
    assert any(li["rel"] == "item" and li.get("templated") for li in ts["links"])
    assert client.get("/ogc/collections/kelurahan/tiles").json()["tilesets"]
    tms = client.get("/ogc/tileMatrixSets/WebMercatorQuad").json()
    assert tms["id"] == "WebMercatorQuad" and len(tms["tileMatrices"]) > 20


@pytest.mark.parametrize("path,status,param", [
    ("/ogc/collections/kelurahan/tiles/WebMercatorQuad/12/5000/0", 400, "tileCol"),
    ("/ogc/collections/kelurahan/tiles/WebMercatorQuad/12/0/5000", 400, "tileRow"),
    ("/ogc/collections/kelurahan/tiles/WebMercatorQuad/40/0/0", 400, "tileMatrix"),
    ("/ogc/collections/kelurahan/tiles/WorldCRS84Quad/1/0/0", 400, "tileMatrixSetId"),
    ("/ogc/collections/nope/tiles/WebMercatorQuad/1/0/0", 404, "collectionId"),
])
def test_bad_tiles(client, path, status, param):
    r = client.get(path)
    assert r.status_code == status and r.json()["parameter"] == param
