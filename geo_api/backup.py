"""Backups of the embedded cluster with pgBackRest: continuous WAL archiving, full/incremental backups, retention,
point-in-time restore; and a plain pg_dump export of the platform database.

Each cluster directory is its own pgBackRest stanza (`satupeta`) with its own configuration
(`<data dir>/pgbackrest.conf`) and repository (`backup_repo_dir`, default beside the data folder with `-backup`
appended). The cluster's archive_command is written by pgcluster at init/start; it archives only once
`satupeta db backup` has created the stanza (the marker file `satupeta_archive_on` in the data folder), so a
cluster nobody backs up does not fill its disk with WAL waiting for an archive.

Everything pgBackRest does runs as the cluster's unprivileged user (pgcluster's service user when root).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from geo_api import pgcluster
from geo_api.errors import SatuPetaError
from geo_api.settings import Settings

STANZA = "satupeta"
MARKER = "satupeta_archive_on"
CONF_NAME = "pgbackrest.conf"
_CONF_TAG = "# satupeta: WAL archiving for pgBackRest (geo_api/backup.py)"
_NO_HOT_STANDBY = "hot_standby = off  # satupeta restore: removed once recovery has promoted\n"
_ZONES = {"WIB": 7, "WITA": 8, "WIT": 9, "UTC": 0, "Z": 0}


class BackupError(SatuPetaError):
    """A backup, restore or export could not be done; the message says why and what to do."""

    status, code, title = 503, "backup-error", "Backup Error"


def pgbackrest_bin() -> str:
    """The pgbackrest executable, or a clear error saying how to install it."""
    found = shutil.which("pgbackrest")
    if not found:
        raise BackupError("pgbackrest is not installed: `apt-get install pgbackrest` (make test installs it)")
    return found


def repo_dir(settings: Settings) -> Path:
    """The pgBackRest repository of this cluster: backup_repo_dir, else beside the data folder (`-backup`)."""
    if settings.backup_repo_dir is not None:
        return settings.backup_repo_dir.resolve()
    data = pgcluster.data_dir(settings)
    return data.with_name(data.name + "-backup")


def conf_path(settings: Settings) -> Path:
    """The cluster's own pgBackRest configuration file (in its data folder)."""
    return pgcluster.data_dir(settings) / CONF_NAME


def archive_conf(settings: Settings, data: Path) -> str:
    """The postgresql.auto.conf lines that archive WAL to this cluster's stanza once backups are on."""
    conf = data / CONF_NAME
    push = f"{shutil.which('pgbackrest') or '/usr/bin/pgbackrest'} --config={conf} --stanza={STANZA} archive-push %p"
    command = f"test ! -f {data / MARKER} || {push}"
    return (f"{_CONF_TAG}\nwal_level = replica\narchive_mode = on\n"
            f"archive_command = '{command}'\narchive_timeout = '60s'\n")


def ensure_archive_conf(settings: Settings, data: Path) -> None:
    """Add the archive settings to a (stopped or new) cluster's postgresql.auto.conf unless they are there."""
    auto = data / "postgresql.auto.conf"
    try:
        text = auto.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    if _CONF_TAG not in text:
        with auto.open("a", encoding="utf-8") as fh:
            fh.write(archive_conf(settings, data))


def _service_owned(path: Path) -> None:
    if os.geteuid() == 0:
        import pwd

        ent = pwd.getpwnam(pgcluster.SERVICE_USER)
        os.chown(path, ent.pw_uid, ent.pw_gid)


def _write_conf(settings: Settings) -> Path:
    data = pgcluster.data_dir(settings)
    repo = repo_dir(settings)
    try:
        repo.mkdir(parents=True, exist_ok=True)
        os.chmod(repo, 0o750)
        _service_owned(repo)
    except OSError as exc:
        raise BackupError(f"The backup repository {repo} is not writable: {exc.strerror or exc}. Choose another "
                          "with SATUPETA_BACKUP_REPO_DIR; the cluster keeps running.") from exc
    conf = data / CONF_NAME
    text = (
        "[global]\n"
        f"repo1-path={repo}\n"
        f"repo1-retention-full={settings.backup_retention_full}\n"
        f"repo1-retention-diff={settings.backup_retention_full}\n"
        f"log-path={repo}/log\n"
        f"lock-path={repo}/lock\n"
        "log-level-console=warn\n"
        "log-level-file=info\n"
        "start-fast=y\n"
        "compress-type=lz4\n"
        "archive-timeout=60\n"
        f"\n[{STANZA}]\n"
        f"pg1-path={data}\n"
        f"pg1-port={settings.pg_port}\n"
        f"pg1-socket-path={data}\n"
        f"pg1-user={settings.pg_user}\n"
    )
    conf.write_text(text, encoding="utf-8")
    os.chmod(conf, 0o600)
    _service_owned(conf)
    return conf


def _run(settings: Settings, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [*pgcluster._runas_prefix(), pgbackrest_bin(), f"--config={conf_path(settings)}", f"--stanza={STANZA}",
           *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise BackupError(f"pgbackrest {args[0]} failed: {_error_line(proc)}; the cluster keeps running.")
    return proc


def _error_line(proc: subprocess.CompletedProcess) -> str:
    lines = [ln.strip() for ln in (proc.stderr + "\n" + proc.stdout).splitlines() if ln.strip()]
    at = next((k for k, ln in enumerate(lines) if "ERROR" in ln), None)
    if at is None:
        return (lines or [f"exit {proc.returncode}"])[0][:500]
    # pgBackRest puts the system's reason (e.g. "[28] No space left on device") on the line after the error
    text = " ".join(re.sub(r"^\S+\s+P\d+\s+", "", ln) for ln in lines[at:at + 2])
    if re.search(r"\[28\]|No space left", text):
        text += " (the backup disk is full: free space or choose another SATUPETA_BACKUP_REPO_DIR)"
    return text[:600]


def _require_embedded_running(settings: Settings) -> None:
    if not settings.embedded:
        raise BackupError("DATABASE_URL is set: back up that server with its own pgBackRest (see README, "
                          "'Operating it'); `satupeta db export` works on any server.")
    if not pgcluster.status(settings).running:
        raise BackupError("The embedded cluster is not running: `satupeta db start` first.")


def _archiving_on(settings: Settings) -> bool:
    import psycopg

    admin = f"postgresql://{settings.pg_user}@127.0.0.1:{settings.pg_port}/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        mode = conn.execute("SHOW archive_mode").fetchone()[0]
        command = conn.execute("SHOW archive_command").fetchone()[0]
    return mode in ("on", "always") and MARKER in command


def _check_space(settings: Settings) -> None:
    """Refuse at once when the repository's disk cannot hold a WAL segment and a compressed copy of the cluster."""
    import psycopg

    repo = repo_dir(settings)
    free = shutil.disk_usage(repo).free
    admin = f"postgresql://{settings.pg_user}@127.0.0.1:{settings.pg_port}/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        size = conn.execute("SELECT sum(pg_database_size(oid))::bigint FROM pg_database").fetchone()[0] or 0
    need = max(64 << 20, size // 4)
    if free < need:
        raise BackupError(f"No space left on the backup disk: {free >> 20} MiB free at {repo}, a backup of this "
                          f"cluster ({size >> 20} MiB) needs about {need >> 20} MiB. Free space or choose another "
                          "SATUPETA_BACKUP_REPO_DIR; the cluster keeps running.")


def backup(settings: Settings, kind: str = "incr") -> str:
    """Take a backup (full, diff or incr; the first is always full) and apply the retention; returns its label."""
    if kind not in ("full", "diff", "incr"):
        raise BackupError(f"--type must be full, diff or incr, not {kind!r}")
    _require_embedded_running(settings)
    if not _archiving_on(settings):
        raise BackupError("WAL archiving is not on in this cluster (it was started before backups existed): "
                          "restart it once (`satupeta db stop && satupeta db start`), then back up.")
    _write_conf(settings)
    _check_space(settings)
    marker = pgcluster.data_dir(settings) / MARKER
    first = not marker.exists()
    try:
        _run(settings, "stanza-create")
        if first:
            marker.write_text("WAL archiving to pgBackRest is on (satupeta db backup)\n", encoding="utf-8")
            _service_owned(marker)
        _run(settings, "check")  # forces a WAL switch and waits until it is archived
        _run(settings, "backup", f"--type={kind}")
    except BackupError:
        if first:  # archiving stays off until a backup has worked: no WAL piling up for a broken repository
            marker.unlink(missing_ok=True)
        raise
    latest = info(settings)["backups"][-1]
    return latest["label"]


@dataclass
class Retained:
    """What can be restored: the backups and the earliest and latest point in time."""

    backups: list[dict]
    earliest: datetime | None


def info(settings: Settings) -> dict:
    """The stanza's backups as pgBackRest reports them (label, type, start and stop times)."""
    if not conf_path(settings).exists():
        raise BackupError("No backup configuration for this cluster: run `satupeta db backup` first.")
    proc = _run(settings, "info", "--output=json")
    stanzas = json.loads(proc.stdout or "[]")
    backups = []
    for st in stanzas:
        for b in st.get("backup", []):
            backups.append({"label": b["label"], "type": b["type"],
                            "start": datetime.fromtimestamp(b["timestamp"]["start"], timezone.utc),
                            "stop": datetime.fromtimestamp(b["timestamp"]["stop"], timezone.utc),
                            "size": b.get("info", {}).get("size")})
    return {"backups": backups, "status": stanzas[0]["status"]["message"] if stanzas else "no stanza"}


def parse_target(text: str, zone: str = "Asia/Jakarta") -> datetime:
    """A restore target: ISO 8601 with an offset, or `YYYY-MM-DD HH:MM[:SS] WIB|WITA|WIT|UTC`, or naive (zone)."""
    raw = text.strip()
    m = re.fullmatch(r"(.+?)\s*\b(WIB|WITA|WIT|UTC|Z)", raw, flags=re.IGNORECASE)
    tz = None
    if m:
        raw, tz = m.group(1), timezone(timedelta(hours=_ZONES[m.group(2).upper()]))
    try:
        when = datetime.fromisoformat(raw.replace("T", " "))
    except ValueError as exc:
        raise BackupError(f"--to {text!r}: not a time; use e.g. '2026-12-01 07:30 WIB' or "
                          "'2026-12-01T00:30:00+00:00'") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz or ZoneInfo(zone))
    return when.astimezone(timezone.utc)


def retained_range(settings: Settings) -> tuple[datetime, datetime]:
    """The earliest and latest time a restore can reach: the oldest backup's end, and now."""
    backups = info(settings)["backups"]
    if not backups:
        raise BackupError("There is no backup of this cluster yet: `satupeta db backup` first.")
    return backups[0]["stop"], datetime.now(timezone.utc)


def _seal_wal(settings: Settings) -> None:
    """Before a restore: one commit stamped now (so recovery to any earlier time finds its end in the WAL), then
    the current WAL segment archived (`pgbackrest check` switches it and waits)."""
    import psycopg

    with psycopg.connect(settings.dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute("SELECT txid_current()")
    _run(settings, "check")


def restore(settings: Settings, target: datetime | None) -> str:
    """Stop the cluster, restore it (to `target`, else the latest), start it again; refuses an unreachable time."""
    if not settings.embedded:
        raise BackupError("DATABASE_URL is set: restore that server with its own pgBackRest (README).")
    earliest, latest = retained_range(settings)
    if target is not None and not earliest <= target <= latest:
        raise BackupError(f"{target.isoformat()} is outside the retained range {earliest.isoformat()} .. "
                          f"{latest.isoformat()} (the oldest backup's end .. now); nothing was changed.")
    if pgcluster.status(settings).running:
        _seal_wal(settings)
        pgcluster.stop(settings)
    args = ["restore", "--delta"]
    if target is not None:
        args += ["--type=time", f"--target={target.strftime('%Y-%m-%d %H:%M:%S.%f')}+00",
                 "--target-action=promote"]
    _run(settings, *args)
    # the socket lives in the data folder: a backup carries the old server's socket lock, stale after a restore
    data = pgcluster.data_dir(settings)
    for lock in data.glob(".s.PGSQL.*.lock"):
        lock.unlink(missing_ok=True)
    # no connections until recovery has reached the target and promoted (start then finds a writable primary)
    auto = data / "postgresql.auto.conf"
    conf = auto.read_text(encoding="utf-8")
    auto.write_text(conf + _NO_HOT_STANDBY, encoding="utf-8")
    try:
        started = pgcluster.start(settings)
    finally:
        auto.write_text(auto.read_text(encoding="utf-8").replace(_NO_HOT_STANDBY, ""), encoding="utf-8")
    where = f"to {target.isoformat()}" if target else "to the latest archived point"
    return f"restored {where}; {started}"


def export(settings: Settings, out: Path) -> str:
    """A plain `pg_dump -Fc` of the platform database (any server), for moving it to another machine."""
    pg_dump = shutil.which("pg_dump")
    if not pg_dump:
        raise BackupError("pg_dump not found: `apt-get install postgresql-client`")
    out = out.resolve()
    if out.exists():
        raise BackupError(f"{out} exists already; choose a new file name (nothing was written).")
    tmp = out.with_name(out.name + ".part")
    proc = subprocess.run([pg_dump, "--format=custom", "--no-owner", f"--file={tmp}", settings.direct_dsn],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
    tmp.rename(out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()[:16]
    return f"exported to {out} ({out.stat().st_size} bytes, sha256 {digest}…); load it with pg_restore -d URL {out}"
