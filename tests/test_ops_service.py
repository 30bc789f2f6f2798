"""`satupeta service install` (systemd units for an unprivileged user) and graceful shutdown: the web unit's own
command, stopped with the unit's KillSignal while trucks post fixes, loses no acknowledged fix."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx

from ingestion.fleet_registry import add_device, add_vehicle

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _install(tmp: Path, env: dict) -> tuple[Path, subprocess.CompletedProcess]:
    units = tmp / "units"
    full = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    proc = subprocess.run([sys.executable, "-m", "geo_api.cli", "service", "install", "--unit-dir", str(units),
                           "--env-file", str(tmp / "satupeta.env"), "--user", "postgres", "--no-create-user"],
                          capture_output=True, text=True, cwd=ROOT, env=full, timeout=120)
    return units, proc


def _tail(log, n: int = 3000) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode(errors="replace")[-n:]


def _directives(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            k, v = line.split("=", 1)
            out.setdefault(k, []).append(v)
    return out


def test_units_for_the_embedded_cluster_and_for_an_external_server(tmp_path):
    env = {k: None for k in ("DATABASE_URL", "SATUPETA_DATABASE_URL")}
    units, proc = _install(tmp_path / "embedded", {**os.environ, **env})
    assert proc.returncode == 0, proc.stderr
    names = {p.name for p in units.iterdir()}
    assert {"satupeta.target", "satupeta-web.service", "satupeta-osmand.service", "satupeta-db.service",
            "satupeta-maintain.timer", "satupeta-tutup-otomatis.timer", "satupeta-backup.timer"} <= names
    for path in units.iterdir():
        d = _directives(path.read_text())
        if path.suffix == ".service":
            assert d["User"] == ["postgres"] and d["NoNewPrivileges"] == ["yes"], path.name
            exe = shlex.split(d["ExecStart"][0])[0]
            assert Path(exe).exists(), exe
    web = _directives((units / "satupeta-web.service").read_text())
    assert web["ExecStart"][0].endswith("serve --workers 0") and web["KillSignal"] == ["SIGTERM"]
    assert "satupeta-db.service" in web["Requires"][0]
    assert "SATUPETA_PG_DATA_DIR=" in (tmp_path / "embedded" / "satupeta.env").read_text()
    if shutil.which("systemd-analyze"):
        files = [str(p) for p in units.iterdir()]
        check = subprocess.run(["systemd-analyze", "verify", "--man=no", *files], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr

    units, proc = _install(tmp_path / "external", {"DATABASE_URL": "postgresql://satupeta@db.example/satupeta"})
    assert proc.returncode == 0, proc.stderr
    names = {p.name for p in units.iterdir()}
    assert "satupeta-db.service" not in names and "satupeta-backup.timer" not in names
    assert "DATABASE_URL=postgresql://satupeta@db.example/satupeta" in (tmp_path / "external" /
                                                                      "satupeta.env").read_text()
    root = subprocess.run([sys.executable, "-m", "geo_api.cli", "service", "install", "--unit-dir",
                           str(tmp_path / "r"), "--user", "root", "--no-create-user"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert root.returncode != 0 and "must not run as root" in root.stderr


def test_sigterm_of_the_web_units_command_loses_no_acknowledged_fix(settings, db, tmp_path):
    units, proc = _install(tmp_path, {"DATABASE_URL": settings.dsn})
    assert proc.returncode == 0, proc.stderr
    web = _directives((units / "satupeta-web.service").read_text())
    env = dict(os.environ)
    for line in (tmp_path / "satupeta.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            env[k] = v
    for assignment in web.get("Environment", []):
        k, v = assignment.split("=", 1)
        env[k] = v
    port = _free_port()
    env.update({"SATUPETA_PORT": str(port), "SATUPETA_FLEET_TRACKER_AUTH": "off", "SATUPETA_LOG_LEVEL": "warning"})
    vid = add_vehicle(db, f"B {uuid.uuid4().hex[:6].upper()}", "compactor", "36.71.01", "Depot uji")
    device = f"term-{uuid.uuid4().hex[:8]}"
    add_device(db, device, vid)
    db.commit()

    log = (tmp_path / "server.log").open("w+b")
    server = subprocess.Popen(shlex.split(web["ExecStart"][0]), env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            last = None
            try:
                last = httpx.get(f"{url}/health/ready", timeout=5)
                if last.status_code == 200:
                    break
            except httpx.HTTPError as exc:
                last = exc
            assert time.monotonic() < deadline and server.poll() is None, f"server did not start: {last} {_tail(log)}"
            time.sleep(0.3)

        acked: list[int] = []
        lock = threading.Lock()
        enough = threading.Event()
        base = int(time.time()) - 3000
        counter = iter(range(10**6))

        def truck():
            with httpx.Client(base_url=url, timeout=30) as c:
                while True:
                    with lock:
                        t = base + next(counter)
                    try:
                        r = c.get("/osmand", params={"id": device, "lat": "-6.17", "lon": "106.63", "timestamp": t})
                    except httpx.HTTPError:
                        return  # the server has stopped accepting: fine, nothing was acknowledged
                    if r.status_code == 200:
                        with lock:
                            acked.append(t)
                            if len(acked) >= 150:
                                enough.set()
                    elif r.status_code != 503:  # 503 = refused while stopping: the client retries
                        raise AssertionError(r.text)

        threads = [threading.Thread(target=truck, daemon=True) for _ in range(4)]
        for th in threads:
            th.start()
        assert enough.wait(180), "fixes were not acknowledged"
        server.send_signal(getattr(signal, web["KillSignal"][0]))
        for th in threads:
            th.join(120)
        code = server.wait(120)
    finally:
        if server.poll() is None:
            server.kill()
    err = _tail(log, 100_000)
    assert code == 0, err[-2000:]
    assert "Traceback" not in err
    stored = {r["t"] for r in db.execute(
        "SELECT extract(epoch FROM p.fix_time)::bigint AS t FROM fleet.position p JOIN fleet.device d "
        "ON d.id = p.device_id WHERE d.unique_id = %s", (device,)).fetchall()}
    missing = sorted(set(acked) - stored)
    assert len(acked) >= 150 and not missing, f"{len(missing)} acknowledged fixes lost: {missing[:10]}"
