"""Every benchmark the README lists starts and prints its table, on a tiny size (figures are not checked here:
speed lives in bench/, and a figure taken on a tiny size means nothing)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

TINY = {
    "load": ["--repeat", "1"],
    "reverse": ["--points", "2000", "--repeat", "1", "--rss-points", "0", "--requests", "20"],
    "forward": ["--requests", "20", "--clients", "1", "--streets", "200"],
    "ogc": ["--pages", "2", "--tiles-per-zoom", "2", "--rounds", "1"],
    "routing": ["--reports", "200", "--workers", "1", "--http-requests", "20", "--clients", "2"],
    "fleet": ["--devices", "5", "--seconds", "1", "--import-rows", "500", "--trucks", "3"],
    "maps": ["--sizes", "50", "--peer-timeout", "60"],
    "scale": ["--workers", "2", "--connections", "2", "--duration", "2", "--reports", "5"],
    "soak": ["--seconds", "4", "--kill-at", "1.5", "--down", "1", "--reporters", "1", "--devices", "2",
             "--readers", "1"],
    "katalog": ["--features", "500", "--requests", "5"],
    "ows": ["--points", "500", "--requests", "3"],
    "pickups": ["--trucks", "3", "--sites", "30", "--fixes", "700", "--days", "2"],
    "lapor": ["--page-loads", "1", "--requests", "3", "--photo-size", "640x480", "--photo-bytes", "100000"],
    "laksa": ["--photo-requests", "3", "--clients", "1", "--photo-size", "640x480", "--photo-bytes", "100000",
              "--feed-reports", "300", "--feed-repeats", "3"],
}


def _readme_benches() -> list[str]:
    section = README.read_text(encoding="utf-8").split("## Benchmarks", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M)


def test_every_readme_bench_has_a_tiny_size():
    names = _readme_benches()
    assert len(names) >= 9, names
    assert set(names) == set(TINY), set(names) ^ set(TINY)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_bench_starts_and_prints_its_table(name, settings):
    """`python -m bench NAME` on a tiny size exits 0 and prints a table (its scratch database on our server)."""
    env = {**os.environ, "DATABASE_URL": settings.dsn}
    proc = subprocess.run([sys.executable, "-m", "bench", name, *TINY[name]], capture_output=True, text=True,
                          env=env, timeout=600, cwd=README.parent)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    # bench._common.report draws a rich table with a workload column and our figure against the peer's
    assert re.search(r"[┏┡╇│]", proc.stdout), proc.stdout[-3000:]
    assert "workload" in proc.stdout.lower() or "kind" in proc.stdout.lower(), proc.stdout[-3000:]
