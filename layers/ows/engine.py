"""A pool of MapServer worker processes (layers/ows/worker.py under the system python), driven from the event loop.

Why processes and not mapscript in the app: Debian's mapscript is built for /usr/bin/python3, the venv may be
another interpreter; and a MapServer crash (seen with OGR output formats) must end one worker, not the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("satupeta.ows")

WORKER = Path(__file__).with_name("worker.py")


class EngineError(Exception):
    """MapServer failed (its message, for the exception report), or the worker died or timed out."""

    def __init__(self, message: str, *, crashed: bool = False):
        super().__init__(message)
        self.crashed = crashed


@dataclass
class MapJob:
    """What one request needs: the map version key and text, the folder of its templates, the query string."""

    key: str
    mapfile: str
    path: str
    qs: str
    online: str
    ordered: bool = False


class _Worker:
    def __init__(self, proc: asyncio.subprocess.Process):
        self.proc = proc
        self.key: str | None = None

    async def ask(self, frame: dict) -> tuple[dict, bytes]:
        data = json.dumps(frame).encode()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(struct.pack(">I", len(data)) + data)
        await self.proc.stdin.drain()
        (n,) = struct.unpack(">I", await self.proc.stdout.readexactly(4))
        header = json.loads(await self.proc.stdout.readexactly(n))
        (m,) = struct.unpack(">I", await self.proc.stdout.readexactly(4))
        return header, await self.proc.stdout.readexactly(m)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()


class MapServerPool:
    """At most `size` MapServer workers; each answers one request at a time; a dead one is replaced."""

    def __init__(self, python: str, size: int, timeout_s: float):
        self.python = python
        self.size = size
        self.timeout_s = timeout_s
        self._idle: asyncio.Queue[_Worker] | None = None
        self._started = 0
        self._all: set[_Worker] = set()
        self.crashes = 0

    async def _spawn(self) -> _Worker:
        proc = await asyncio.create_subprocess_exec(
            self.python, str(WORKER), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
                                                     "PROJ_NETWORK": "OFF", "GDAL_HTTP_TIMEOUT": "1",
                                                     "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".none"})
        w = _Worker(proc)
        self._all.add(w)
        return w

    async def _take(self) -> _Worker:
        if self._idle is None:
            self._idle = asyncio.Queue()
        if self._idle.empty() and self._started < self.size:
            self._started += 1
            try:
                return await self._spawn()
            except Exception:
                self._started -= 1
                raise
        return await self._idle.get()

    def _drop(self, w: _Worker) -> None:
        w.kill()
        self._all.discard(w)
        self._started -= 1
        self.crashes += 1

    async def _exchange(self, frame: dict, mapfile: str | None = None) -> tuple[dict, bytes]:
        """One frame to an idle worker and its answer (the mapfile is sent only to a worker that lacks it)."""
        w = await self._take()
        try:
            if mapfile is not None:
                frame = {**frame, "map": mapfile if w.key != frame["key"] else None}
            header, body = await asyncio.wait_for(w.ask(frame), self.timeout_s)
            if header.get("need_map") and mapfile is not None:
                header, body = await asyncio.wait_for(w.ask({**frame, "map": mapfile}), self.timeout_s)
            if mapfile is not None:
                w.key = frame["key"]
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError, BrokenPipeError) as exc:
            self._drop(w)
            log.warning("MapServer worker lost (%s); a new one starts on the next request", type(exc).__name__)
            raise EngineError("the map server stopped while answering", crashed=True) from None
        except BaseException:
            self._drop(w)  # cancelled mid-answer: the pipe is out of step, this worker cannot be reused
            raise
        assert self._idle is not None
        self._idle.put_nowait(w)
        if not header.get("ok"):
            raise EngineError(header.get("error") or "map server error")
        return header, body

    async def run(self, job: MapJob) -> tuple[str, bytes]:
        """(content type, body) of MapServer's answer; EngineError when it reports an error or dies."""
        frame = {"key": job.key, "qs": job.qs, "online": job.online, "path": job.path, "ordered": job.ordered}
        header, body = await self._exchange(frame, job.mapfile)
        return header.get("content_type") or "application/octet-stream", body

    async def sld_classes(self, layer: str, kind: str, group: str, title: str, sld: str) -> dict:
        """An uploaded SLD as MapServer CLASS blocks of class group `group`, and the mark symbols they name."""
        _, body = await self._exchange({"op": "sld", "layer": layer, "type": kind, "group": group, "title": title,
                                        "sld": sld})
        return json.loads(body)

    async def close(self) -> None:
        """End every worker (app shutdown)."""
        for w in list(self._all):
            if w.proc.stdin is not None:
                w.proc.stdin.close()
            w.kill()
            with contextlib.suppress(Exception):
                await w.proc.wait()
        self._all.clear()
        self._started = 0
        self._idle = None
