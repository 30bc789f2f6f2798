"""systemd units for running the platform as services (`satupeta service install`).

- `satupeta-db.service`: the embedded cluster (`satupeta db start`/`stop`), only when no DATABASE_URL is set;
- `satupeta-web.service`: `satupeta serve` (one worker per core), stopped with SIGTERM: uvicorn stops accepting,
  finishes in-flight requests, then the lifespan drains the fleet writer's queue before the process exits;
- `satupeta-osmand.service`: the OsmAnd listener (`satupeta fleet listen`) for Traccar Client on its port;
- timers: `satupeta-maintain` (daily partitions, retention), `satupeta-tutup-otomatis` (hourly LAKSA clock),
  `satupeta-backup` (daily pgBackRest backup of the embedded cluster, full on Sundays).

Every unit runs as one unprivileged system user with the settings from one environment file.
"""

from __future__ import annotations

import pwd
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from geo_api.errors import SatuPetaError
from geo_api.settings import PROJECT_ROOT, Settings

_HARDENING = """NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=full
ProtectKernelTunables=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes"""


class ServiceError(SatuPetaError):
    """The units could not be written or enabled."""

    status, code, title = 503, "service-error", "Service Error"


def _exe() -> str:
    found = Path(sys.executable).with_name("satupeta")
    return str(found if found.exists() else shutil.which("satupeta") or "satupeta")


def _unit(description: str, body: str, *, after: str = "network-online.target", wanted_by: str | None = None,
          requires: str = "") -> str:
    install = f"\n[Install]\nWantedBy={wanted_by}\n" if wanted_by else ""
    req = f"Requires={requires}\n" if requires else ""
    return (f"[Unit]\nDescription={description}\nAfter={after}\nWants=network-online.target\n{req}"
            f"PartOf=satupeta.target\n\n[Service]\n{body}\n{install}")


def units(settings: Settings, *, user: str, env_file: Path) -> dict[str, str]:
    """The unit files by name, for these settings (an external DATABASE_URL gets no database unit)."""
    exe = _exe()
    common = (f"User={user}\nGroup={user}\nEnvironmentFile={env_file}\nWorkingDirectory={PROJECT_ROOT}\n"
              f"{_HARDENING}\nReadWritePaths={PROJECT_ROOT / 'var'} /var/lib/{user}")
    db_after = "network-online.target satupeta-db.service" if settings.embedded else "network-online.target"
    out: dict[str, str] = {}
    if settings.embedded:
        out["satupeta-db.service"] = _unit(
            "Satu Peta embedded PostGIS cluster",
            f"Type=oneshot\nRemainAfterExit=yes\nExecStart={exe} db start\nExecStop={exe} db stop\n"
            f"TimeoutStartSec=120\n{common}", wanted_by="satupeta.target")
    requires = "satupeta-db.service" if settings.embedded else ""
    out["satupeta-web.service"] = _unit(
        "Satu Peta HTTP API and maps",
        f"ExecStartPre={exe} db migrate --check\nExecStart={exe} serve --workers 0\n"
        "Environment=SATUPETA_FLEET_OSMAND_LISTEN=false\nKillSignal=SIGTERM\nTimeoutStopSec=60\n"
        f"Restart=on-failure\nRestartSec=3\n{common}", after=db_after, requires=requires, wanted_by="satupeta.target")
    out["satupeta-osmand.service"] = _unit(
        "Satu Peta OsmAnd listener (Traccar Client)",
        f"ExecStart={exe} fleet listen\nKillSignal=SIGTERM\nTimeoutStopSec=60\nRestart=on-failure\nRestartSec=3\n"
        f"{common}", after=db_after, requires=requires, wanted_by="satupeta.target")
    jobs = [("maintain", "fleet maintain", "daily", "Fleet partitions and retention"),
            ("tutup-otomatis", "laksa tutup-otomatis", "hourly", "LAKSA escalation and auto-close")]
    if settings.embedded:
        jobs.append(("backup", "db backup", "*-*-* 02:30:00", "pgBackRest backup of the embedded cluster"))
    for name, cmd, when, what in jobs:
        out[f"satupeta-{name}.service"] = _unit(f"Satu Peta: {what}", f"Type=oneshot\nExecStart={exe} {cmd}\n{common}",
                                                after=db_after)
        out[f"satupeta-{name}.timer"] = (f"[Unit]\nDescription=Satu Peta: {what} ({when})\nPartOf=satupeta.target\n\n"
                                         f"[Timer]\nOnCalendar={when}\nPersistent=true\nRandomizedDelaySec=300\n\n"
                                         "[Install]\nWantedBy=timers.target satupeta.target\n")
    if settings.embedded:
        out["satupeta-backup-full.service"] = _unit(
            "Satu Peta: weekly full pgBackRest backup",
            f"Type=oneshot\nExecStart={exe} db backup --type full\n{common}", after=db_after)
        out["satupeta-backup-full.timer"] = ("[Unit]\nDescription=Satu Peta: weekly full backup\nPartOf=satupeta.target"
                                             "\n\n[Timer]\nOnCalendar=Sun *-*-* 01:30:00\nPersistent=true\n\n"
                                             "[Install]\nWantedBy=timers.target satupeta.target\n")
    wants = " ".join(n for n in out if n.endswith(".timer") or n in ("satupeta-web.service",
                                                                      "satupeta-osmand.service",
                                                                      "satupeta-db.service"))
    out["satupeta.target"] = (f"[Unit]\nDescription=Satu Peta Kota Tangerang\nWants={wants}\n\n"
                              "[Install]\nWantedBy=multi-user.target\n")
    return out


def env_template(settings: Settings, user: str) -> str:
    """The environment file written when none exists: where the data lives, what to set for an external server."""
    lines = ["# Satu Peta settings for the systemd units (`satupeta config` lists every one).",
             "# An external PostgreSQL: set DATABASE_URL and re-run `satupeta service install` (no db unit then).",
             f"SATUPETA_HOST={settings.host}", f"SATUPETA_PORT={settings.port}"]
    if settings.database_url:
        lines.append(f"DATABASE_URL={settings.database_url}")
    else:
        lines += [f"SATUPETA_PG_DATA_DIR=/var/lib/{user}/pgdata", f"SATUPETA_PG_PORT={settings.pg_port}",
                  f"SATUPETA_BACKUP_REPO_DIR=/var/lib/{user}/backup"]
    return "\n".join(lines) + "\n"


def _ensure_user(user: str) -> None:
    try:
        pwd.getpwnam(user)
        return
    except KeyError:
        pass
    proc = subprocess.run(["useradd", "--system", "--home-dir", f"/var/lib/{user}", "--create-home",
                           "--shell", "/usr/sbin/nologin", user], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ServiceError(f"could not create the user {user!r}: {proc.stderr.strip()} (run as root)")


def install(settings: Settings, *, unit_dir: Path, user: str, env_file: Path, create_user: bool,
            enable: bool) -> list[Path]:
    """Write the units (and the environment file when missing); optionally reload systemd and start them."""
    if user == "root":
        raise ServiceError("the services must not run as root: give --user an unprivileged account")
    if create_user:
        _ensure_user(user)
    try:
        unit_dir.mkdir(parents=True, exist_ok=True)
        written = []
        if not env_file.exists():
            env_file.parent.mkdir(parents=True, exist_ok=True)
            env_file.write_text(env_template(settings, user), encoding="utf-8")
            env_file.chmod(0o640)
            written.append(env_file)
        for name, text in units(settings, user=user, env_file=env_file).items():
            path = unit_dir / name
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as exc:
        raise ServiceError(f"cannot write the units: {exc}") from exc
    if enable:
        for cmd in (["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", "satupeta.target"]):
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise ServiceError(f"{shlex.join(cmd)} failed: {proc.stderr.strip()}")
    return written
