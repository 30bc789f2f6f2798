"""HTTP at the socket level for the edge and ops tests: raw answers, chunked bodies that never end, and
`satupeta serve` / `fleet listen` children started and awaited on a free port."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def response(sock: socket.socket, timeout: float = 30) -> bytes:
    """What the server answered on a raw socket: at least the status line and headers."""
    sock.settimeout(timeout)
    out = b""
    while b"\r\n\r\n" not in out:
        chunk = sock.recv(65536)
        if not chunk:
            break
        out += chunk
    return out


def chunked_until_answer(port: int, head: bytes, total: int, piece: int = 65536) -> tuple[bytes, int]:
    """Send a chunked body of `total` bytes until the server answers; (response head, bytes sent)."""
    s = socket.create_connection(("127.0.0.1", port))
    sent, data = 0, b"x" * piece
    try:
        s.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
        while sent < total:
            if select.select([s], [], [], 0)[0]:
                break
            try:
                s.sendall(b"%x\r\n" % len(data) + data + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(data)
        else:
            s.sendall(b"0\r\n\r\n")
        return response(s), sent
    finally:
        s.close()


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 90, **params) -> httpx.Response:
    """Poll `url` until it answers (any status), or fail when the process died or `timeout` passed."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, params=params or None, timeout=5)
        except httpx.HTTPError:
            assert time.monotonic() < deadline and proc.poll() is None, f"{url}: the server did not start"
            time.sleep(0.2)


@contextlib.contextmanager
def cli_process(port: int, *args: str, env: dict[str, str], capture: bool = True) -> Iterator[dict]:
    """`python -m geo_api.cli ARGS` as a child (stdout and stderr together); the dict's `out` holds what it printed
    once the block ends (SIGINT, then wait)."""
    proc = subprocess.Popen([sys.executable, "-m", "geo_api.cli", *args, "--port", str(port)],
                            env={**os.environ, "PYTHONUNBUFFERED": "1", **env}, cwd=ROOT,
                            stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                            stderr=subprocess.STDOUT if capture else subprocess.PIPE)
    held = {"proc": proc, "out": ""}
    try:
        yield held
    finally:
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=60)[0]
        held["out"] = out.decode() if capture and out else ""
