"""The embedded cluster: init + start, idempotent start, status, stale pid file, port in use, stop."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest

from geo_api import pgcluster

pytestmark = pytest.mark.skipif(not any(os.path.exists(f"/usr/lib/postgresql/{v}/bin/initdb")
                                        for v in range(13, 19)), reason="PostgreSQL server not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "geo_api.cli", "db", *args], capture_output=True, text=True,
                          env={k: v for k, v in {**os.environ, **env}.items() if k != "DATABASE_URL"},
                          timeout=180)


@pytest.fixture()
def cluster_env(tmp_path):
    env = {"SATUPETA_PG_DATA_DIR": str(tmp_path / "pg"), "SATUPETA_PG_PORT": str(_free_port())}
    yield env
    _cli(env, "stop")
    from geo_api.settings import Settings

    settings = Settings(pg_data_dir=tmp_path / "pg", pg_port=int(env["SATUPETA_PG_PORT"]))
    shutil.rmtree(pgcluster.data_dir(settings), ignore_errors=True)


def test_start_is_idempotent_and_status_and_stop(cluster_env):
    first = _cli(cluster_env, "start")
    assert first.returncode == 0, first.stderr
    assert "initialised and started" in first.stderr
    again = _cli(cluster_env, "start")
    assert again.returncode == 0 and "already running" in again.stderr
    st = _cli(cluster_env, "status")
    assert st.returncode == 0 and "True" in st.stdout
    import psycopg

    dsn = f"postgresql://satupeta@127.0.0.1:{cluster_env['SATUPETA_PG_PORT']}/satupeta"
    with psycopg.connect(dsn) as conn:
        exts = {r[0] for r in conn.execute("SELECT extname FROM pg_extension")}
        assert {"postgis", "pg_trgm"} <= exts
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
    stop = _cli(cluster_env, "stop")
    assert stop.returncode == 0 and "stopped" in stop.stderr
    st = _cli(cluster_env, "status")
    assert st.returncode == 3


def test_stale_pid_file_and_port_in_use(cluster_env):
    from geo_api.settings import Settings

    assert _cli(cluster_env, "start").returncode == 0
    assert _cli(cluster_env, "stop").returncode == 0
    settings = Settings(pg_data_dir=cluster_env["SATUPETA_PG_DATA_DIR"], pg_port=int(cluster_env["SATUPETA_PG_PORT"]))
    pid_file = pgcluster.data_dir(settings) / "postmaster.pid"
    pid_file.write_text("999999\n/nowhere\n")  # a crash leaves a pid file naming a dead process
    restarted = _cli(cluster_env, "start")
    assert restarted.returncode == 0, restarted.stderr
    assert _cli(cluster_env, "stop").returncode == 0

    with socket.socket() as blocker:
        # the stopped server's closed connections may still sit in TIME_WAIT on this port: reuse it (a live
        # listener would still refuse the bind, so this cannot hide a running cluster)
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", int(cluster_env["SATUPETA_PG_PORT"])))
        blocker.listen()
        busy = _cli(cluster_env, "start")
    assert busy.returncode != 0
    assert "already in use" in busy.stderr and "SATUPETA_PG_PORT" in busy.stderr
    assert "Traceback" not in busy.stderr
