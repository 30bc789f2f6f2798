"""`/osmand` in the OpenAPI document. The requests themselves are answered before routing by
geo_api/fleet/osmand_asgi.py (the GPS hot path); these routes only describe them, so /docs and the
schemathesis fuzzing (tests/test_fuzz_openapi.py) reach the real endpoint."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

router = APIRouter(tags=["fleet"])

_Num = Annotated[float | None, Query()]


def _never_reached() -> dict:
    """Not called: OsmAndFastPath answers /osmand first."""
    raise RuntimeError("/osmand is answered by geo_api.fleet.osmand_asgi.OsmAndFastPath")


_DOC = {
    "summary": "GPS in: one OsmAnd position (Traccar Client works unchanged)",
    "description": "GET with the fix in the query, or POST with it in a form or JSON body (Traccar Client's "
                   "JSON). 200 once the fix's batch has committed; 400 naming the parameter for a bad fix; 401/403 "
                   "when the device's tracker key (`key`) is missing or wrong (SATUPETA_FLEET_TRACKER_AUTH).",
    "responses": {"200": {"description": "Stored (acknowledged after commit)"},
                  "400": {"description": "A bad fix, naming the parameter",
                          "content": {"application/problem+json": {}}},
                  "401": {"description": "Tracker key missing", "content": {"application/problem+json": {}}},
                  "403": {"description": "Tracker key wrong", "content": {"application/problem+json": {}}}},
}


def osmand(
    id: Annotated[str, Query(max_length=100, description="Device identifier")],
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
    timestamp: Annotated[str | None, Query(description="Unix seconds or milliseconds, or ISO 8601")] = None,
    speed: Annotated[float | None, Query(description="Knots, as OsmAnd sends it")] = None,
    bearing: _Num = None, altitude: _Num = None, accuracy: _Num = None, hdop: _Num = None, batt: _Num = None,
    key: Annotated[str | None, Query(description="Tracker key of the device, when required")] = None,
) -> dict:
    """Described here, answered by the OsmAnd fast path."""
    return _never_reached()


# one route per method, each with its own operation id (one route with both made schemathesis and FastAPI warn
# of a duplicate operation id)
router.add_api_route("/osmand", osmand, methods=["GET"], operation_id="osmand_get", **_DOC)
router.add_api_route("/osmand", osmand, methods=["POST"], operation_id="osmand_post", **_DOC)
