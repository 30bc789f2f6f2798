"""Shared helpers for benchmarks: a scratch database and the side-by-side table."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

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


def report(title: str, rows: Sequence[tuple[str, float, float, str]], peer: str) -> None:
    """Print workload | ours | peer | ratio (ours/peer for rates, peer/ours for times, as `unit` says)."""
    table = Table(title=title)
    for col in ("workload", "satupeta", peer, "ratio"):
        table.add_column(col, justify="right" if col != "workload" else "left")
    for workload, ours, theirs, unit in rows:
        faster = theirs / ours if unit == "s" else ours / theirs
        table.add_row(workload, f"{ours:,.3f} {unit}", f"{theirs:,.3f} {unit}", f"{faster:.2f}x")
    console.print(table)
