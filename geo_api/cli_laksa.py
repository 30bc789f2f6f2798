"""`satupeta laksa ...`: the LAKSA clock's periodic job (escalate overdue stages, close unanswered laporan)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Annotated

import typer

from geo_api.cli_common import guard, load_settings, out

app = typer.Typer(help="LAKSA: the SP4N-LAPOR! clock in working days (escalation, auto-close).", no_args_is_help=True)


@app.command("tutup-otomatis")
@guard
def auto_close(
    sekarang: Annotated[str | None, typer.Option(help="Judge as if it were this instant (ISO 8601; default now), "
                                                      "e.g. to replay a missed night")] = None,
) -> None:
    """Escalate overdue stages and close laporan whose follow-up went unanswered for 10 hari kerja (idempotent;
    every action audited as you)."""
    from geo_api.audit import Actor
    from geo_api.db import open_pool, pooled
    from geo_api.laksa import siklus
    from geo_api.laksa.kalender import dari_katalog
    from geo_api.routing.laporan import parse_w3c

    settings = load_settings()
    now: datetime | None = parse_w3c("sekarang", sekarang) if sekarang else None

    async def go() -> dict[str, int]:
        pool = open_pool(settings.model_copy(update={"pool_min_size": 1, "pool_max_size": 1}))
        await pool.open(wait=True, timeout=15)
        try:
            async with pooled(pool) as conn:
                return await siklus.jalankan_jam(conn, dari_katalog(), Actor.cli(), now=now)
        finally:
            await pool.close()

    out.print_json(json.dumps(asyncio.run(go())))
