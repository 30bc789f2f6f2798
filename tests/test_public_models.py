"""Public response models and bounded parameters over real HTTP: the fleet's live feed and the OPD's laporan carry
only their declared fields, and hostile dates or bboxes answer 4xx naming the parameter (they were 500s)."""

from __future__ import annotations

import time
import uuid

import pytest

from geo_api.routers.fleet import LivePosition
from geo_api.routers.routing import LaporanOpd
from ingestion.fleet_registry import add_device, add_vehicle
from tests.test_trust_roles import _citizen, make_key, post_laporan


@pytest.fixture(scope="module")
def live_server(settings):
    """This module's server, with the default tracker auth (`required`) and tracker keys re-read on every fix
    (the session server caches them for 10 s), so a key made by a test is seen at once."""
    from tests.conftest import LiveServer

    with LiveServer(settings.model_copy(update={"fleet_tracker_keys_ttl_s": 0.0})) as server:
        yield server


@pytest.fixture()
def truck(client, db):
    """A registered truck with one acknowledged fix: (vehicle id, its tracker's unique id)."""
    unique = f"live-{uuid.uuid4().hex[:8]}"
    vid = add_vehicle(db, f"B {uuid.uuid4().hex[:6].upper()}", "compactor", "36.71.01", "Depot uji")
    add_device(db, unique, vid)
    db.commit()
    _, key = make_key(db, "tracker", device=unique)
    r = client.get("/osmand", params={"id": unique, "lat": -6.18, "lon": 106.63, "timestamp": int(time.time()),
                                      "key": key})
    assert r.status_code == 200, r.text
    return vid, unique


def test_live_feed_is_the_public_model(client, truck):
    vid, unique = truck
    r = client.get("/fleet/live")
    assert r.status_code == 200
    [feature] = [f for f in r.json()["features"] if f["id"] == vid]
    assert set(feature["properties"]) == set(LivePosition.model_fields)
    assert unique not in r.text  # the tracker's identifier is its credential while tracker keys are off
    stream = client.get("/fleet/live/stream", params={"once": "true"})
    assert stream.status_code == 200 and unique not in stream.text


def test_opd_laporan_is_the_declared_model(client, db, katalog):
    tag = uuid.uuid4().hex[:10]
    markers = {"first_name": f"Nama{tag}", "phone": f"0812{int(tag, 16) % 10**8:08d}",
               "email": f"pelapor{tag}@contoh.id", "address_string": f"Jalan Rahasia{tag} No. 7"}
    r = post_laporan(client, _citizen(db), **markers)
    assert r.status_code == 200, r.text
    lid = r.json()[0]["service_request_id"]
    admin = make_key(db, "gis_admin")[1]
    got = client.get(f"/routing/laporan/{lid}", headers={"X-API-Key": admin})
    assert got.status_code == 200, got.text
    assert set(got.json()) == set(LaporanOpd.model_fields)
    assert not any(v in got.text for v in markers.values())
    moved = client.post(f"/routing/laporan/{lid}/status", headers={"X-API-Key": admin},
                        json={"status": "in_progress", "catatan": "ditangani"})
    assert moved.status_code == 200 and set(moved.json()) == set(LaporanOpd.model_fields)
    assert moved.json()["riwayat_status"][-1]["status"] == "in_progress"


@pytest.mark.parametrize(("path", "params", "parameter"), [
    ("/fleet/summary", {"date": "9999-12-31"}, "date"),
    ("/fleet/visits", {"date": "0001-01-01"}, "date"),
    ("/fleet/coverage", {"date": "9999-12-31"}, "date"),
    ("/fleet/coverage/last", {"lon": "106.63", "lat": "-6.18", "date": "9999-12-31"}, "date"),
    ("/peta/armada", {"tanggal": "9999-12-31"}, "tanggal"),
    ("/peta/laporan/titik.json", {"bbox": "106.5,-6.3,nan,-6.0"}, "bbox"),
    ("/peta/laporan/titik.json", {"bbox": "106.5,-6.3,106.8,-6.0", "dari": "0001-01-01"}, "dari"),
])
def test_hostile_dates_and_bboxes_name_the_parameter(client, path, params, parameter):
    r = client.get(path, params=params)
    assert r.status_code == 422, (path, r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["parameter"] == parameter


def test_a_range_at_the_end_of_time_is_refused(client, truck):
    vid, _ = truck
    r = client.get(f"/fleet/vehicles/{vid}/summary", params={"start": "9999-12-31T20:00:00",
                                                             "end": "9999-12-31T23:00:00"})
    assert r.status_code == 422 and r.json()["parameter"] == "start"
