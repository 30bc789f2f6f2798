"""Shared helpers for benchmarks: a scratch database, HTTP load from concurrent clients, percentiles, a free
port, and the side-by-side table."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager

import httpx
import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from geo_api.settings import Settings

console = Console()


@contextmanager
def scratch_database(settings: Settings, prefix: str = "satupeta_bench") -> Iterator[Settings]:
    """A throwaway database on the configured server; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = make_url(settings.dsn).set(database=name).render_as_string(hide_password=False)
    try:
        yield settings.model_copy(update={"database_url": dsn})
    finally:
        with psycopg.connect(settings.dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def prepare_city(scratch: Settings, key_prefix: str) -> str:
    """Migrate and load the scratch database (bundled data, the OPD catalogue and its rules); a citizen_app key."""
    from psycopg.rows import dict_row

    from geo_api import catalogue
    from geo_api.apikeys import key_hash, new_key
    from geo_api.db import connect, migrate
    from ingestion.bundled import load_bundled

    migrate(scratch)
    with connect(scratch) as conn:
        load_bundled(conn, scratch.data_dir)

    async def setup():
        async with await psycopg.AsyncConnection.connect(scratch.dsn, row_factory=dict_row, autocommit=True) as c:
            return await catalogue.setup(c, scratch)
    asyncio.run(setup())
    key = new_key()
    with connect(scratch) as conn:
        conn.execute("INSERT INTO api_key (name, role, key_hash) VALUES (%s, 'citizen_app', %s)",
                     (f"{key_prefix}-{uuid.uuid4().hex[:6]}", key_hash(key)))
        conn.commit()
    return key


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def http_load(url: str, n: int, clients: int, make: Callable[[httpx.AsyncClient, int], Awaitable],
                    timeout: float = 120) -> tuple[list[float], float]:
    """n requests (`make(client, i)`) from `clients` concurrent clients: latencies (s) and wall time; any
    non-200 stops the run."""
    lat: list[float] = []
    queue = list(range(n))

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=timeout) as c:
            while queue:
                i = queue.pop()
                t0 = time.perf_counter()
                r = await make(c, i)
                lat.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    raise RuntimeError(f"{r.status_code}: {r.text[:300]}")
    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return lat, time.perf_counter() - t0


def pct(xs: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of xs."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def report(title: str, rows: Sequence[tuple[str, float, float, str]], peer: str) -> None:
    """Print workload | ours | peer | ratio (ours/peer for rates, peer/ours for times, as `unit` says)."""
    table = Table(title=title)
    for col in ("workload", "satupeta", peer, "ratio"):
        table.add_column(col, justify="right" if col != "workload" else "left")
    for workload, ours, theirs, unit in rows:
        faster = theirs / ours if unit == "s" else ours / theirs
        table.add_row(workload, f"{ours:,.3f} {unit}", f"{theirs:,.3f} {unit}", f"{faster:.2f}x")
    console.print(table)
