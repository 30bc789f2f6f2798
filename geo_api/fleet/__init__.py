"""Si Lacak in the API process, below the routers:

- `runtime`     FleetRuntime: device registry cache, per-device throttle, disposal sites, the group-commit writer;
- `osmand_asgi` the raw ASGI OsmAnd handler (the hot path: no framework, ≥10k fixes/s) and its middleware;
- `listener`    the listener app for its own port (like Traccar's 5055) and the uvicorn embedded in the main app;
- `analysis`    per-vehicle detection (summaries, site visits), run in a bounded worker thread.

The HTTP analytics endpoints are in geo_api/routers/fleet.py.
"""
