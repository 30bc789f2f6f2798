"""A live app on a real socket for the geocoding benchmarks, and a latency helper."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx

from geo_api.settings import Settings


@contextmanager
def live_app(settings: Settings, env: dict[str, str] | None = None) -> Iterator[str]:
    """Serve the app (`satupeta serve`, one worker) in a child process, so the load generator does not share
    its interpreter (and GIL) with the server; yield its base URL. `env`: extra SATUPETA_ settings."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": settings.dsn, "SATUPETA_LOG_LEVEL": "warning", **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "geo_api.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/health", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the app did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def latency(url: str, make_params: Callable[[int], dict], n: int, path: str, *, clients: int = 4) -> dict:
    """Run n GETs from `clients` threads; p50/p99 (ms) and requests/s, and the status codes seen."""
    times: list[float] = []
    codes: dict[int, int] = {}
    lock = threading.Lock()

    def worker(ids: range) -> None:
        with httpx.Client(base_url=url, timeout=30) as c:
            for i in ids:
                t0 = time.perf_counter()
                r = c.get(path, params=make_params(i))
                dt = time.perf_counter() - t0
                with lock:
                    times.append(dt)
                    codes[r.status_code] = codes.get(r.status_code, 0) + 1

    per = n // clients
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as ex:
        list(ex.map(worker, [range(k * per, (k + 1) * per) for k in range(clients)]))
    wall = time.perf_counter() - t0
    times.sort()
    return {"p50_ms": statistics.median(times) * 1000, "p99_ms": times[int(len(times) * 0.99) - 1] * 1000,
            "rps": len(times) / wall, "codes": codes}
