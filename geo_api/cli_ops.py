"""`satupeta db backup|backups|restore|export` (geo_api/backup.py) and `satupeta service install` (systemd)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from geo_api.cli_common import console, fail, guard, load_settings, out


def register_db_commands(db_app: typer.Typer) -> None:
    """Add the backup commands to the `satupeta db` group."""

    @db_app.command("backup")
    @guard
    def db_backup(
        type: Annotated[str, typer.Option("--type", help="full, diff or incr (the first backup is always full)")]
        = "incr",
    ) -> None:
        """Back up the embedded cluster with pgBackRest (WAL archived continuously; retention from settings)."""
        from geo_api import backup

        label = backup.backup(load_settings(), type)
        console.print(f"backup {label} done")

    @db_app.command("backups")
    @guard
    def db_backups() -> None:
        """List the backups of the embedded cluster and the range a restore can reach."""
        from geo_api import backup

        settings = load_settings()
        got = backup.info(settings)
        table = Table("label", "type", "start (UTC)", "stop (UTC)")
        for b in got["backups"]:
            table.add_row(b["label"], b["type"], b["start"].isoformat(), b["stop"].isoformat())
        out.print(table)
        if got["backups"]:
            earliest, _ = backup.retained_range(settings)
            out.print(f"restorable from {earliest.isoformat()} until now ({got['status']})")

    @db_app.command("restore")
    @guard
    def db_restore(
        to: Annotated[str | None, typer.Option("--to", help="Point in time, e.g. '2026-12-01 07:30 WIB' "
                                               "(default: the latest)")] = None,
        yes: Annotated[bool, typer.Option("--yes", help="Confirm: the cluster is stopped and its data replaced")]
        = False,
    ) -> None:
        """Restore the embedded cluster from its pgBackRest backups, to a point in time (stops and restarts it)."""
        from geo_api import backup

        settings = load_settings()
        target = backup.parse_target(to, settings.fleet_timezone) if to else None
        if not yes:
            earliest, latest = backup.retained_range(settings)
            if target is not None and not earliest <= target <= latest:
                backup.restore(settings, target)  # refuses with the retained range, changing nothing
            fail("a restore replaces the cluster's data: add --yes to go ahead")
        console.print(backup.restore(settings, target))

    @db_app.command("export")
    @guard
    def db_export(file: Annotated[Path, typer.Argument(help="The dump file to write (pg_dump custom format)")]) -> None:
        """Export the platform database with pg_dump (any server), to move it to another machine."""
        from geo_api import backup

        console.print(backup.export(load_settings(), file))


service_app = typer.Typer(help="Run the platform as systemd services.", no_args_is_help=True)


@service_app.command("install")
@guard
def service_install(
    unit_dir: Annotated[Path, typer.Option(help="Where the unit files go")] = Path("/etc/systemd/system"),
    user: Annotated[str, typer.Option(help="The unprivileged account the services run as (created if missing)")]
    = "satupeta",
    env_file: Annotated[Path, typer.Option(help="Environment file with DATABASE_URL / SATUPETA_* settings")]
    = Path("/etc/satupeta/satupeta.env"),
    create_user: Annotated[bool, typer.Option(help="Create the user when missing (useradd --system)")] = True,
    enable: Annotated[bool, typer.Option(help="Run systemctl daemon-reload and enable --now")] = False,
) -> None:
    """Write systemd units: the server, the OsmAnd listener, and timers for maintenance, auto-close and backups."""
    from geo_api import service

    settings = load_settings()
    written = service.install(settings, unit_dir=unit_dir, user=user, env_file=env_file, create_user=create_user,
                              enable=enable)
    for path in written:
        out.print(str(path))
    console.print(f"{len(written)} files written; start with: systemctl enable --now satupeta.target")
