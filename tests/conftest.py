"""A real PostGIS database for the session, the app from the factory, and a live HTTP server."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import uvicorn
from psycopg import sql
from psycopg.rows import dict_row

from geo_api.app import create_app
from geo_api.db import connect, migrate
from geo_api.settings import Settings
from ingestion.bundled import load_bundled


def _with_db(dsn: str, dbname: str) -> str:
    """The same server with another database name."""
    from sqlalchemy.engine import make_url

    return make_url(dsn).set(database=dbname).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    """The developer's settings: which server to create the throwaway test database on."""
    return Settings()


@pytest.fixture(scope="session")
def test_dsn(base_settings: Settings) -> Iterator[str]:
    """A fresh database for this test session, migrated and loaded with the bundled data; dropped after."""
    name = f"satupeta_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_dsn = base_settings.dsn
    try:
        admin = psycopg.connect(admin_dsn, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        pytest.exit(f"No PostGIS at {admin_dsn}: start it with `satupeta db start` or set DATABASE_URL ({exc})", 2)
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = _with_db(admin_dsn, name)
    try:
        settings = base_settings.model_copy(update={"database_url": dsn})
        migrate(settings)
        with connect(settings) as conn:
            row = conn.execute("SELECT current_database() AS db, postgis_lib_version() AS v").fetchone()
            assert row["db"] == name and row["v"], row
            load_bundled(conn, settings.data_dir)
        yield dsn
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def settings(base_settings: Settings, test_dsn: str, tmp_path_factory) -> Settings:
    """Settings pointing at the session's test database, with a download cache of its own (files are named by a
    layer's data stamp and a build prunes the layer's other stamps: sessions sharing var/unduh pruned each other's)."""
    return base_settings.model_copy(update={"database_url": test_dsn,
                                            "katalog_download_dir": tmp_path_factory.mktemp("unduh")})


@pytest.fixture()
def db(settings: Settings) -> Iterator[psycopg.Connection]:
    """A plain connection to the test database (rows as dicts)."""
    with connect(settings) as conn:
        yield conn


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The real app served by uvicorn on a real socket, in a background thread."""

    def __init__(self, settings: Settings):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # proxy_headers=False as `satupeta serve` (geo_api.edge.uvicorn_options): the app decides on XFF
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on", proxy_headers=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("live server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """One live server for the session, on the session's database."""
    with LiveServer(settings) as server:
        yield server


@pytest.fixture()
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    """An HTTP client talking to the live server over a real socket."""
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
def data_dir(settings: Settings) -> Path:
    """The bundled data folder (read-only; tests copy files they want to break)."""
    return settings.data_dir


def run_async(settings: Settings, fn):
    """Run fn(async connection) to completion on its own event loop in a worker thread.

    A worker thread, because a browser test may hold the main thread's event loop for the whole module.
    """
    async def job():
        async with await psycopg.AsyncConnection.connect(settings.dsn, row_factory=dict_row, autocommit=True) as conn:
            return await fn(conn)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, job()).result()


@pytest.fixture(scope="session")
def katalog(settings: Settings):
    """The OPD catalogue and its rules loaded and the SYNTHETIC roads layer published (idempotent)."""
    from geo_api import catalogue

    return run_async(settings, lambda conn: catalogue.setup(conn, settings))


# Debian's chromium through Playwright (Playwright's own browser download does not work here), DEVELOPERS.md's flags
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory) -> Iterator:
    """A headless Chromium with a fresh profile for one test module (1280x860 unless a page sets its size).

    Module scope: Playwright's sync API holds an event loop in this thread while it runs, which would break
    asyncio.run() in every test module after this one.
    """
    pw_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    if CHROMIUM is None:
        pytest.skip("Debian chromium is not installed (make system installs it)")
    profile = tmp_path_factory.mktemp("chromium_profile")
    with pw_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, headless=True,
                                                    args=CHROMIUM_FLAGS, viewport={"width": 1280, "height": 860})
        try:
            yield ctx
        finally:
            ctx.close()
