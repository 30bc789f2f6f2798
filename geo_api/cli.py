"""The `satupeta` command: a thin shell (typer + rich) over the packages."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from geo_api.cli_common import console, fail, guard, load_settings, out
from geo_api.cli_fleet import app as fleet_app
from geo_api.cli_geocode import geocode_app
from geo_api.cli_katalog import app as katalog_app
from geo_api.cli_laksa import app as laksa_app
from geo_api.cli_layers import keys_app, layers_app
from geo_api.cli_maps import app as maps_app
from geo_api.cli_ops import register_db_commands, service_app
from geo_api.cli_routing import app as routing_app
from geo_api.cli_trust import audit_app
from geo_api.settings import Settings

app = typer.Typer(help="Satu Peta Kota Tangerang platform.", no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="The database: embedded PostGIS cluster and migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(geocode_app, name="geocode")
app.add_typer(fleet_app, name="fleet")
app.add_typer(layers_app, name="layers")
app.add_typer(katalog_app, name="katalog")
app.add_typer(keys_app, name="keys")
app.add_typer(maps_app, name="maps")
app.add_typer(routing_app, name="routing")
app.add_typer(laksa_app, name="laksa")
app.add_typer(audit_app, name="audit")
app.add_typer(service_app, name="service")
register_db_commands(db_app)


@app.callback()
def _logging() -> None:
    """Satu Peta Kota Tangerang platform."""
    from geo_api.edge import configure_logging

    configure_logging(load_settings())  # the one logging configuration: JSON lines, redacted, as the server


@db_app.command("start")
@guard
def db_start(
    replica: Annotated[bool, typer.Option(help="Also start a streaming replica of it (pg_basebackup -R the first "
                                               "time; port SATUPETA_PG_PORT + 1) for read-only work")] = False,
) -> None:
    """Initialise (first time) and start the project-local PostGIS cluster; idempotent."""
    from geo_api import pgcluster

    settings = load_settings()
    if not settings.embedded:
        console.print("DATABASE_URL is set: using that PostGIS, no embedded cluster started.")
        return
    console.print(pgcluster.start(settings))
    if replica:
        console.print(pgcluster.start_replica(settings))


@db_app.command("stop")
@guard
def db_stop(
    replica: Annotated[bool, typer.Option(help="Stop only the embedded streaming replica")] = False,
) -> None:
    """Stop the project-local PostGIS cluster (its replica first, if one runs), or only the replica."""
    from geo_api import pgcluster

    settings = load_settings()
    stopped = pgcluster.stop_replica(settings)
    if replica or stopped == "replica stopped":
        console.print(stopped)
    if replica:
        return
    console.print(pgcluster.stop(settings))


@db_app.command("status")
@guard
def db_status() -> None:
    """Say whether the embedded cluster runs, where, and what DATABASE_URL the platform uses."""
    from geo_api import pgcluster

    settings = load_settings()
    table = Table(show_header=False)
    if settings.embedded:
        st = pgcluster.status(settings)
        table.add_row("mode", "embedded")
        table.add_row("initialised", str(st.initialised))
        table.add_row("running", f"{st.running}" + (f" (pid {st.pid})" if st.pid else ""))
        table.add_row("data dir", str(st.data_dir))
        table.add_row("port", str(st.port))
    else:
        table.add_row("mode", "external (DATABASE_URL)")
    table.add_row("dsn", settings.dsn)
    out.print(table)
    if settings.embedded and not pgcluster.status(settings).running:
        raise typer.Exit(3)


@db_app.command("psql", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def db_psql(ctx: typer.Context) -> None:
    """Open psql on the platform's database (extra arguments go to psql)."""
    settings = load_settings()
    import shutil

    psql = shutil.which("psql")
    if not psql:
        fail("psql not found; install postgresql-client")
    os.execv(psql, [psql, settings.dsn, *ctx.args])


@db_app.command("migrate")
@guard
def db_migrate(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
    check: Annotated[bool, typer.Option(help="Only say whether the database is at head, behind or ahead "
                                             "(exit 0 at head, 1 behind or empty, 2 ahead); change nothing")] = False,
) -> None:
    """Apply the schema migrations (alembic; SQL in sql/migrations); refuses a database newer than this release."""
    from geo_api import schema
    from geo_api.db import connect, migrate

    settings = load_settings()
    with connect(settings, dsn=settings.direct_dsn) as conn:
        state = schema.state_of(conn)
    if check:
        typer.echo(state.sentence())
        raise typer.Exit(schema.EXIT_CODES[state.state])
    if state.state == schema.AHEAD:
        fail(f"not migrating: {state.sentence()}", code=2)
    migrate(settings, revision=revision)
    console.print(f"schema at {revision}")


@app.command("load")
@guard
def load(
    data_dir: Annotated[Path | None, typer.Option(help="Folder with the bundled data (default: settings)")] = None,
    layer: Annotated[list[str] | None, typer.Option(help="Load only this layer (repeatable)")] = None,
    force: Annotated[bool, typer.Option(help="Reload even when a file is unchanged")] = False,
) -> None:
    """Load the bundled Kota Tangerang data into PostGIS (checked first, each layer swapped atomically)."""
    from geo_api.db import connect
    from ingestion.bundled import BUNDLED, BY_ID, load_bundled

    settings = load_settings()
    folder = data_dir or settings.data_dir
    if not folder.is_dir():
        fail(f"data folder {folder} does not exist (set SATUPETA_DATA_DIR or --data-dir)")
    unknown = [x for x in layer or [] if x not in BY_ID]
    if unknown:
        fail(f"unknown layer(s) {', '.join(unknown)}; known: {', '.join(BY_ID)}")
    n = len(layer) if layer else len(BUNDLED)
    t0 = time.perf_counter()
    with connect(settings) as conn, Progress(TextColumn("{task.description}"), BarColumn(),
                                             TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                                             console=console, transient=not sys.stderr.isatty()) as bar:
        task = bar.add_task("checking and loading", total=2 * n)
        results = load_bundled(conn, folder, only=layer, force=force,
                               progress=lambda what: bar.update(task, advance=1, description=what))
    loaded = [r for r in results if not r.skipped]
    for r in loaded:
        console.print(f"  {r.id}: {r.rows} rows")
    skipped = len(results) - len(loaded)
    console.print(f"loaded {len(loaded)} layer(s), {skipped} unchanged, in {time.perf_counter() - t0:.1f} s")


@app.command("config")
def config() -> None:
    """List every setting: its environment variable, the value in force and what it means."""
    settings = load_settings()
    table = Table("variable", "value", "meaning")
    for name, field in type(settings).model_fields.items():
        env = "DATABASE_URL" if name == "database_url" else f"SATUPETA_{name.upper()}"
        value = getattr(settings, name)
        if name == "database_url" and value:  # never print a password
            from sqlalchemy.engine import make_url

            value = make_url(value).render_as_string(hide_password=True)
        # plain text, never rich markup: a description or value with "[/...]" in it is printed as written
        table.add_row(Text(env), Text(str(value)), Text(field.description or ""))
    out.print(table)


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default SATUPETA_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default SATUPETA_PORT)")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes; 0 = one per CPU core "
                                                     "(default SATUPETA_WORKERS)")] = None,
) -> None:
    """Serve the platform over HTTP (uvicorn), in one process or in N worker processes sharing the port."""
    import uvicorn

    from geo_api.edge import configure_logging, uvicorn_options

    settings = load_settings()
    configure_logging(settings)
    from geo_api.schema import SchemaMismatch, refuse_unless_head_sync

    try:  # before any worker starts: a schema this release does not understand is one clear line, not N crashes
        refuse_unless_head_sync(settings.direct_dsn)
    except SchemaMismatch as exc:
        fail(exc.detail)
    workers, why = _worker_count(settings, settings.workers if workers is None else workers)
    metrics_dir = None
    if workers > 1:  # prometheus_client's multiprocess mode: a scrape of any worker sums all live workers
        import tempfile

        metrics_dir = tempfile.mkdtemp(prefix="satupeta-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    if "fleet_osmand_listen" not in settings.model_fields_set:
        # Traccar Client's default port: `serve` listens there too unless SATUPETA_FLEET_OSMAND_LISTEN says
        # otherwise (the workers read their settings from this environment).
        os.environ["SATUPETA_FLEET_OSMAND_LISTEN"] = "true"
        settings = load_settings()
    replica = " + replica for reads" if settings.replica_dsn else ""
    console.print(f"Satu Peta serving at http://{host or settings.host}:{port or settings.port} with {workers} "
                  f"worker process{'es' if workers > 1 else ''} ({why}; database: "
                  f"{'embedded' if settings.embedded else 'DATABASE_URL'}{replica})")
    if settings.fleet_osmand_listen:
        console.print(f"OsmAnd / Traccar Client listener on port {settings.fleet_osmand_port} "
                      "(SATUPETA_FLEET_OSMAND_LISTEN=false turns it off)")
    try:
        uvicorn.run("geo_api.app:create_app", factory=True, host=host or settings.host, port=port or settings.port,
                    workers=workers, **uvicorn_options(settings))
    finally:
        if metrics_dir:
            import shutil

            shutil.rmtree(metrics_dir, ignore_errors=True)


def _worker_count(settings: Settings, asked: int) -> tuple[int, str]:
    """How many worker processes to start for `asked` (0 = one per usable core), and why that many."""
    if asked < 0:
        fail("--workers must be 0 (one per core) or more")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if asked == 0:
        n, why = cores, f"one per core: {cores} usable"
    else:
        n, why = asked, f"{cores} core(s) usable"
    # Each worker holds up to pool_max_size connections to each database: say so when that exceeds the server.
    if n * settings.pool_max_size > 150:
        why += f"; {n} x pool_max_size {settings.pool_max_size} connections, check max_connections"
    return n, why


if __name__ == "__main__":
    app()
