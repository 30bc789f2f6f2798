"""The embedded, project-local PostGIS cluster: init, start, stop, status (as an unprivileged user)."""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from geo_api.errors import SatuPetaError
from geo_api.settings import Settings

log = logging.getLogger("satupeta.pgcluster")

SERVICE_USER = "postgres"  # the unprivileged account the cluster runs as when we are root


class ClusterError(SatuPetaError):
    """The embedded cluster cannot be set up or started; the message says why and what to do."""

    status, code, title = 503, "cluster-error", "Database Cluster Error"


@dataclass
class ClusterStatus:
    """What `satupeta db status` reports."""

    initialised: bool
    running: bool
    pid: int | None
    port: int
    data_dir: Path
    dsn: str


def bin_dir(settings: Settings) -> Path:
    """Locate the PostgreSQL server binaries (initdb, pg_ctl, postgres)."""
    if settings.pg_bin_dir:
        candidates = [settings.pg_bin_dir]
    else:
        candidates = [Path(p).parent for p in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                                                     key=_version_key, reverse=True)]
        which = shutil.which("initdb")
        if which:
            candidates.append(Path(which).parent)
    for cand in candidates:
        if (cand / "initdb").exists() and (cand / "pg_ctl").exists():
            return cand
    raise ClusterError("PostgreSQL server binaries not found. Install them with "
                       "`apt-get install postgresql-15 postgresql-15-postgis-3` or set SATUPETA_PG_BIN_DIR.")


def _version_key(path: str) -> int:
    try:
        return int(Path(path).parts[-3])
    except ValueError:
        return 0


def _runas_prefix() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError as exc:
        raise ClusterError(f"Running as root, but there is no '{SERVICE_USER}' user to run PostgreSQL as; "
                           "install the postgresql package or run as an ordinary user.") from exc
    return ["runuser", "-u", SERVICE_USER, "--"]


def _run(settings: Settings, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [*_runas_prefix(), str(bin_dir(settings) / tool), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise ClusterError(f"{tool} failed: {(proc.stderr or proc.stdout).strip()}")
    return proc


def data_dir(settings: Settings) -> Path:
    """The cluster's data folder: the configured one, unless root's service user could not reach it.

    As root the cluster runs as `postgres`, which must be able to traverse every parent folder; a clone
    under a private folder (mode 700) gets a data folder under /var/tmp instead, named after the project
    path so that start, status and stop always agree.
    """
    path = settings.pg_data_dir.resolve()
    if os.geteuid() != 0 or all(os.stat(p).st_mode & 0o001 for p in path.parents if p.exists()):
        return path
    tag = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    return Path("/var/tmp") / f"satupeta-pgdata-{tag}"


def _prepare_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    if os.geteuid() == 0:
        ent = pwd.getpwnam(SERVICE_USER)
        os.chown(path, ent.pw_uid, ent.pw_gid)


def initialised(settings: Settings) -> bool:
    """Whether the data folder holds an initialised cluster."""
    return (data_dir(settings) / "PG_VERSION").exists()


def init(settings: Settings) -> bool:
    """Create the cluster if it does not exist; returns True when it was created now."""
    if initialised(settings):
        return False
    data = data_dir(settings)
    _prepare_dir(data)
    _run(settings, "initdb", "-D", str(data), "-U", settings.pg_user, "--auth=trust",
         "--encoding=UTF8", "--locale=C.UTF-8")
    conf = data / "postgresql.auto.conf"
    extra = (
        "listen_addresses = '127.0.0.1'\n"
        f"port = {settings.pg_port}\n"
        f"unix_socket_directories = '{data}'\n"
        "shared_buffers = '512MB'\n"
        "work_mem = '32MB'\n"
        "maintenance_work_mem = '256MB'\n"
        "max_connections = 200\n"
        "synchronous_commit = on\n"
    )
    with conf.open("a", encoding="utf-8") as fh:
        fh.write(extra)
    from geo_api.backup import ensure_archive_conf

    ensure_archive_conf(settings, data)  # WAL archiving for pgBackRest (idle until `satupeta db backup`)
    return True


def _pid_file_pid(settings: Settings) -> int | None:
    pid_file = data_dir(settings) / "postmaster.pid"
    try:
        return int(pid_file.read_text().splitlines()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def _is_postgres(pid: int) -> bool:
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return False
    return comm in {"postgres", "postmaster"}


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def status(settings: Settings) -> ClusterStatus:
    """Report whether the cluster is initialised and running."""
    pid = _pid_file_pid(settings)
    running = pid is not None and _is_postgres(pid)
    return ClusterStatus(initialised(settings), running, pid if running else None, settings.pg_port,
                         data_dir(settings), settings.dsn)


def start(settings: Settings) -> str:
    """Start the cluster (initialising it first); idempotent. Returns a sentence saying what happened."""
    created = init(settings)
    st = status(settings)
    if st.running:
        _ensure_database(settings)
        return f"PostGIS already running (pid {st.pid}) on 127.0.0.1:{settings.pg_port}"
    data = data_dir(settings)
    stale = data / "postmaster.pid"
    if stale.exists():
        log.warning("removing stale pid file %s (pid %s is not running)", stale, _pid_file_pid(settings))
        stale.unlink()
    if _port_in_use(settings.pg_port):
        raise ClusterError(f"Port {settings.pg_port} on 127.0.0.1 is already in use by another program. "
                           "Stop it, or choose another port with SATUPETA_PG_PORT.")
    from geo_api.backup import ensure_archive_conf

    ensure_archive_conf(settings, data)  # a cluster made before backups existed gets WAL archiving on this start
    logfile = data / "server.log"
    proc = _run(settings, "pg_ctl", "start", "-w", "-t", "60", "-D", str(data),
                "-l", str(logfile), "-o", f"-p {settings.pg_port}", check=False)
    if proc.returncode != 0:
        tail = _tail(logfile)
        raise ClusterError(f"PostgreSQL did not start: {(proc.stderr or proc.stdout).strip()}\n{tail}")
    _ensure_database(settings)
    what = "initialised and started" if created else "started"
    return f"PostGIS {what} on 127.0.0.1:{settings.pg_port} (data in {data})"


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _ensure_database(settings: Settings) -> None:
    admin = f"postgresql://{settings.pg_user}@127.0.0.1:{settings.pg_port}/postgres"
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                      (settings.pg_database,)).fetchone()
                if not exists:
                    conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(
                        psycopg.sql.Identifier(settings.pg_database)))
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    with psycopg.connect(settings.dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


def stop(settings: Settings) -> str:
    """Stop the cluster if it runs."""
    st = status(settings)
    if not st.running:
        return "PostGIS is not running"
    _run(settings, "pg_ctl", "stop", "-w", "-m", "fast", "-D", str(data_dir(settings)))
    return "PostGIS stopped"


# ---------------------------------------------------------------- the embedded streaming replica

def replica_settings(settings: Settings) -> Settings:
    """The embedded replica as settings of its own: its port (pg_port + 1) and data folder (beside .pgdata)."""
    port = settings.pg_replica_port or settings.pg_port + 1
    data = settings.pg_replica_data_dir or settings.pg_data_dir.with_name(settings.pg_data_dir.name + "-replica")
    return settings.model_copy(update={"pg_port": port, "pg_data_dir": data, "database_url": None,
                                       "database_replica_url": None})


def start_replica(settings: Settings) -> str:
    """Start a hot-standby streaming replica of the running embedded cluster (`pg_basebackup -R` the first time).

    It runs as the same unprivileged user as the primary, on its own port and data folder, and follows the
    primary over streaming replication; point SATUPETA_DATABASE_REPLICA_URL at it to send reads there.
    """
    if not status(settings).running:
        raise ClusterError("The embedded cluster is not running: start it first with `satupeta db start`.")
    rs = replica_settings(settings)
    dsn = rs.dsn
    st = status(rs)
    if st.running:
        return f"replica already running (pid {st.pid}) on 127.0.0.1:{rs.pg_port}: {dsn}"
    data = data_dir(rs)
    created = not initialised(rs)
    if created:
        if data.exists() and any(data.iterdir()):
            raise ClusterError(f"{data} is not empty and holds no cluster; remove it to make a new replica.")
        _prepare_dir(data)
        _run(settings, "pg_basebackup", "-h", "127.0.0.1", "-p", str(settings.pg_port), "-U", settings.pg_user,
             "-D", str(data), "-R", "-X", "stream", "-c", "fast", "--no-sync")
        # Later lines win over the primary's copied settings (its port and socket folder).
        with (data / "postgresql.auto.conf").open("a", encoding="utf-8") as fh:
            fh.write(f"port = {rs.pg_port}\nunix_socket_directories = '{data}'\nshared_buffers = '128MB'\n"
                     "hot_standby = on\nhot_standby_feedback = on\n")
        (data / "server.log").unlink(missing_ok=True)  # the primary's log, copied by the base backup
    stale = data / "postmaster.pid"
    if stale.exists():
        stale.unlink()
    if _port_in_use(rs.pg_port):
        raise ClusterError(f"Port {rs.pg_port} on 127.0.0.1 is already in use by another program. "
                           "Choose another with SATUPETA_PG_REPLICA_PORT.")
    logfile = data / "server.log"
    proc = _run(settings, "pg_ctl", "start", "-w", "-t", "60", "-D", str(data), "-l", str(logfile),
                "-o", f"-p {rs.pg_port}", check=False)
    if proc.returncode != 0:
        raise ClusterError(f"The replica did not start: {(proc.stderr or proc.stdout).strip()}\n{_tail(logfile)}")
    what = "created and started" if created else "started"
    return f"replica {what} on 127.0.0.1:{rs.pg_port} (data in {data}); SATUPETA_DATABASE_REPLICA_URL={dsn}"


def stop_replica(settings: Settings) -> str:
    """Stop the embedded replica if it runs (its data folder stays, so the next start resumes streaming)."""
    rs = replica_settings(settings)
    if not status(rs).running:
        return "the replica is not running"
    _run(settings, "pg_ctl", "stop", "-w", "-m", "fast", "-D", str(data_dir(rs)))
    return "replica stopped"
