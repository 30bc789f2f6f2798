"""CPU-heavy work runs off the event loop that acknowledges GPS fixes: while a map page build or the fleet's
per-vehicle detection is held inside its worker thread, an OsmAnd fix is still stored and answered 200.

The held build is the real builder wrapped with two events (entered, released): no timing is asserted; if the
build ran on the loop, the fix request could not be answered until release and the client would time out.
"""

from __future__ import annotations

import threading
import time
import uuid

import httpx
import pytest

import geo_api.fleet.analysis
import geo_api.routers.maps
from ingestion.fleet_registry import add_device, add_vehicle
from tests.test_trust_roles import make_key


@pytest.fixture(scope="module")
def live_server(settings):
    """This module's server, with the default tracker auth (`required`) and tracker keys re-read on every fix
    (the session server caches them for 10 s), so a key made by a test is seen at once."""
    from tests.conftest import LiveServer

    with LiveServer(settings.model_copy(update={"fleet_tracker_keys_ttl_s": 0.0})) as server:
        yield server


def _held(real, entered: threading.Event, release: threading.Event):
    def build(*args, **kwargs):
        entered.set()
        release.wait(60)  # bounded, so a server that wrongly ran this on its loop recovers after the test failed
        return real(*args, **kwargs)
    return build


@pytest.mark.parametrize(("module", "name", "path"), [
    (geo_api.routers.maps, "build_index", "/peta"),
    (geo_api.fleet.analysis, "vehicle_summary", "/fleet/summary"),
    (geo_api.fleet.analysis, "vehicle_visits", "/fleet/visits"),
])
def test_gps_fix_acknowledged_while_heavy_work_runs(live_server, db, monkeypatch, module, name, path):
    unique = f"loop-{uuid.uuid4().hex[:8]}"
    add_device(db, unique, add_vehicle(db, f"B {uuid.uuid4().hex[:6].upper()}", "compactor", "36.71.01", "Depot"))
    db.commit()
    _, key = make_key(db, "tracker", device=unique)
    entered, release = threading.Event(), threading.Event()
    monkeypatch.setattr(module, name, _held(getattr(module, name), entered, release))
    page: dict[str, httpx.Response] = {}

    def fetch_page() -> None:
        with httpx.Client(base_url=live_server.url, timeout=90) as c:
            page["r"] = c.get(path)

    heavy = threading.Thread(target=fetch_page)
    heavy.start()
    try:
        assert entered.wait(60), f"{path} never reached {name}"
        with httpx.Client(base_url=live_server.url, timeout=20) as c:
            fix = c.get("/osmand", params={"id": unique, "lat": -6.18, "lon": 106.63, "timestamp": int(time.time()),
                                           "key": key})
        assert fix.status_code == 200, fix.text
        assert "r" not in page  # the page is still being built: the fix did not wait for it
        stored = db.execute("SELECT count(*) AS n FROM fleet.position p JOIN fleet.device d ON d.id = p.device_id "
                            "WHERE d.unique_id = %s", (unique,)).fetchone()["n"]
        assert stored == 1
    finally:
        release.set()
        heavy.join(90)
    assert page["r"].status_code == 200, page["r"].text[:300]
