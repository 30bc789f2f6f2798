"""A live app on a real socket for the geocoding benchmarks, and a latency helper."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import uvicorn

from geo_api.app import create_app
from geo_api.settings import Settings


@contextmanager
def live_app(settings: Settings) -> Iterator[str]:
    """Serve create_app(settings) with uvicorn in a thread; yield its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


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
