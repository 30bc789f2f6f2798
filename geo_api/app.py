"""create_app(settings): the FastAPI application; its lifespan owns the database pool and the services."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from geo_api import __doc__ as package_doc
from geo_api import metrics
from geo_api.db import open_pool, open_read_pool
from geo_api.edge import EdgeMiddleware
from geo_api.errors import document_problems, install_error_handlers
from geo_api.fleet.listener import embedded_listener
from geo_api.fleet.osmand_asgi import OsmAndFastPath
from geo_api.laksa import timer as laksa_timer
from geo_api.notify import listening
from geo_api.ratelimit import RateLimitMiddleware
from geo_api.requestlog import RequestMiddleware, RouteTag
from geo_api.routers import fleet, geocode, health, layers_admin, ogc, open311, osmand_doc, routing
from geo_api.routers import katalog as katalog_routes
from geo_api.routers import lapor as lapor_routes
from geo_api.routers import maps as maps_routes
from geo_api.routers import media as media_routes
from geo_api.routers import metrics as metrics_routes
from geo_api.routers import ows as ows_routes
from geo_api.schema import SchemaMismatch, refuse_unless_head
from geo_api.services import build_services
from geo_api.settings import Settings, get_settings
from maps.assets import SWAGGER_UI

log = logging.getLogger("satupeta.app")

DESCRIPTION = """Satu Peta Kota Tangerang: one map behind LAKSA (complaints) and Si Lacak (waste fleet).

Errors are RFC 9457 `application/problem+json` documents naming the parameter at fault."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for these settings (tests pass their own; `satupeta serve` reads the environment)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        try:  # a database this release does not understand (behind, ahead, empty): refuse, saying what to run
            await refuse_unless_head(settings.direct_dsn)
        except SchemaMismatch as exc:
            log.critical("%s", exc.detail)
            raise
        pool = open_pool(settings)
        # Opening without waiting lets the API start (and /health answer 503) while PostGIS is down.
        await pool.open(wait=False)
        app.state.pool = pool
        replica = open_read_pool(settings)  # read-only work on a streaming replica when one is configured
        if replica is not None:
            await replica.open(wait=False)
        app.state.read_pool = replica or pool
        try:
            # the one home of the process's services (geo_api/services.py), reached through geo_api.deps
            services = app.state.services = build_services(settings, pool, getattr(app.state, "read_pool", None))
            try:
                # change notices from every process (geo_api/notify.py), then the OsmAnd port when configured
                async with listening(settings, services), embedded_listener(settings, services.fleet), \
                        metrics.sampling(app.state), laksa_timer.running(settings, pool):
                    yield
            finally:
                await services.stop()
        finally:
            if replica is not None:
                await replica.close()
            await pool.close()

    app = FastAPI(
        title="Satu Peta Kota Tangerang",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        summary=package_doc,
    )
    app.state.settings = settings
    install_error_handlers(app)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        # swagger-ui-dist 5 (reads OpenAPI 3.1), vendored with the map assets: renders offline
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url=f"/peta/static/vendor/{SWAGGER_UI}/swagger-ui-bundle.js",
            swagger_css_url=f"/peta/static/vendor/{SWAGGER_UI}/swagger-ui.css",
            swagger_favicon_url=f"/peta/static/vendor/{SWAGGER_UI}/favicon-32x32.png",
        )
        return HTMLResponse(bytes(page.body).decode().replace("<html>", '<html lang="id">', 1))

    app.include_router(health.router)
    app.include_router(metrics_routes.router)
    app.include_router(geocode.router)
    app.include_router(open311.router)
    app.include_router(media_routes.router)  # laporan photos at /media/
    app.include_router(routing.router)
    app.include_router(fleet.router)
    app.include_router(osmand_doc.router)  # documentation only: OsmAndFastPath answers /osmand
    app.add_middleware(RouteTag)  # innermost: notes the matched route template for RequestMiddleware
    app.add_middleware(OsmAndFastPath)  # /osmand answered before routing: the GPS hot path
    app.add_middleware(RateLimitMiddleware, settings=settings)
    # outermost: client address, CORS, bodies read and capped before any router or pooled connection
    app.add_middleware(EdgeMiddleware, settings=settings)
    # outermost of all: request id (header, logs, problem instance), one JSON line and the metrics per request
    app.add_middleware(RequestMiddleware)
    app.include_router(katalog_routes.router)  # before ogc: /ogc/collections/katalog is the Records collection
    app.include_router(ogc.router)
    app.include_router(layers_admin.router)
    app.include_router(maps_routes.router)
    app.include_router(lapor_routes.router)  # citizen pages /lapor and /lacak/{id} (maps/lapor.py)
    app.include_router(ows_routes.router)  # WMS/WFS at /ows (MapServer workers, ows/)
    document_problems(app)
    return app
