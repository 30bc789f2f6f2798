"""The OsmAnd listener on its own port (any path, GET or POST, like Traccar's 5055), alone or inside the main app.

`satupeta fleet listen` and `uvicorn --factory geo_api.fleet.listener:create_listener_from_env` run it alone
(its own pool and writer); with `fleet_osmand_listen`, the main app's lifespan runs it as a second uvicorn server
in its own loop (`embedded_listener`), sharing the app's FleetRuntime.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from types import SimpleNamespace

from geo_api.db import open_pool
from geo_api.fleet.osmand_asgi import handle_osmand
from geo_api.fleet.runtime import FleetRuntime
from geo_api.notify import ChangeListener, FleetOnly, apply, drop_all
from geo_api.settings import Settings

log = logging.getLogger("satupeta.fleet")


class ListenerApp:
    """The OsmAnd listener for its own port: any path, GET or POST, like Traccar's port 5055 (raw ASGI)."""

    def __init__(self, settings: Settings, shared: FleetRuntime | None = None):
        self.settings = settings
        self.shared = shared
        self.state = SimpleNamespace(settings=settings, fleet=shared)

    async def __call__(self, scope, receive, send) -> None:
        """ASGI entry: lifespan opens its own pool (unless sharing the main app's runtime); http is ingest."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await handle_osmand(self.state.fleet, scope, receive, send)

    async def _lifespan(self, receive, send) -> None:
        pool = notices = None
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                if self.shared is None:
                    pool = open_pool(self.settings)
                    await pool.open(wait=False)
                    self.state.pool = pool
                    self.state.fleet = FleetRuntime(self.settings, pool)
                    # alone, it hears key and device changes itself (inside the app, the app's listener does)
                    notices = ChangeListener(self.settings, lambda t, k: apply(FleetOnly(self.state.fleet), t, k),
                                             lambda: drop_all(FleetOnly(self.state.fleet)))
                    notices.start()
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                if pool is not None:
                    await notices.stop()
                    await self.state.fleet.writer.stop()
                    await pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_listener_app(settings: Settings, shared: FleetRuntime | None = None) -> ListenerApp:
    """The listener app (its own pool and writer, or the main app's when `shared` is given)."""
    return ListenerApp(settings, shared)


def create_listener_from_env() -> ListenerApp:
    """Factory for `uvicorn --factory geo_api.fleet.listener:create_listener_from_env`."""
    from geo_api.settings import get_settings

    return ListenerApp(get_settings())


@contextlib.asynccontextmanager
async def embedded_listener(settings: Settings, rt: FleetRuntime) -> AsyncIterator[None]:
    """The OsmAnd listener port inside the main app's loop while the block runs, when `fleet_osmand_listen`."""
    if not settings.fleet_osmand_listen:
        yield
        return
    server, task = await _start_listener(settings, rt)
    try:
        yield
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)


async def _start_listener(settings: Settings, rt: FleetRuntime):
    import uvicorn

    class _Embedded(uvicorn.Server):
        """A second server in the main app's loop: the main server owns the signals."""

        @contextlib.contextmanager
        def capture_signals(self):
            yield

    # uvicorn.Config with access_log=False empties the "uvicorn.access" logger for the whole process, which is the
    # main server's (redacting) access log too: keep what the main server configured
    access = logging.getLogger("uvicorn.access")
    handlers, propagate = list(access.handlers), access.propagate
    config = uvicorn.Config(create_listener_app(settings, rt), host=settings.host, port=settings.fleet_osmand_port,
                            log_level=settings.log_level.lower(), access_log=False,
                            log_config=None)  # keep the process's one logging configuration (JSON, redacted)
    access.handlers, access.propagate = handlers, propagate
    server = _Embedded(config)
    # SO_REUSEPORT: with `serve --workers N` every worker listens on the same port and the kernel spreads the
    # devices' connections over them (without it the second worker cannot bind and stops).
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((settings.host, settings.fleet_osmand_port))
    sock.set_inheritable(True)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]), name="osmand-listener")
    log.info("OsmAnd listener on %s:%d", settings.host, settings.fleet_osmand_port)
    return server, task
