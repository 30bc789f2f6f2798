"""Every write, from HTTP or the CLI, is in the audit log with who did it: a walk over every write path.

The HTTP write routes come from the app's own route table and the commands from the typer app, so a route or
command added without a place in this walk fails `test_every_write_route_is_walked` /
`test_every_cli_command_is_classified` with a message saying where to add it. Each walked write must leave its
audit row (action, object, `api_key:NAME` with the key's id, or `cli:USER`); each command listed as a read runs
with PostgreSQL refusing any write (`default_transaction_read_only`), so a "read" that writes fails too.
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import routing

from geo_api import apikeys
from geo_api.app import create_app
from geo_api.audit import Actor
from geo_api.cli import app as cli_app
from geo_api.db import connect

ME = f"cli:{getpass.getuser()}"
READ_METHODS = {"GET", "HEAD", "OPTIONS"}

# ---------------------------------------------------------------- HTTP: the route table

# (method, path) -> the audit action its write leaves. Add a new write route here AND a step in
# `_http_steps` below that calls it with a key and names the row it must leave.
HTTP_WRITES: dict[tuple[str, str], str] = {
    ("POST", "/open311/v2/requests.{fmt}"): "laporan.create",
    ("POST", "/routing/laporan/{laporan_id}/status"): "laporan.status",
    ("POST", "/routing/laporan/{laporan_id}/disposisi"): "laporan.disposisi",
    ("POST", "/routing/rules"): "rule.add",
    ("PATCH", "/routing/rules/{rule_id}"): "rule.change",
    ("POST", "/layers"): "layer.publish",
    ("POST", "/layers/{layer_id}/restore"): "layer.restore",
    ("POST", "/layers/{layer_id}/styles"): "layer.style",
    ("PUT", "/layers/{layer_id}/metadata"): "layer.metadata",
    ("DELETE", "/layers/{layer_id}"): "layer.unpublish",
    ("POST", "/lapor"): "laporan.create",  # the citizen web form: the same intake, actor web:lapor (no key)
    ("POST", "/lacak/{laporan_id}/nilai"): "laporan.penilaian",  # the reporter's rating with kode_lacak
    ("POST", "/lacak/{laporan_id}/komentar"): "laporan.komentar",  # the reporter's comment/photos
    ("POST", "/open311/v2/requests/{service_request_id}/rating.{fmt}"): "laporan.penilaian",  # Open311 + kode_lacak
}
# Writes of the citizen web form carry no API key: their actor is the channel (and the client's address).
HTTP_WEB_ACTOR: dict[tuple[str, str], str] = {("POST", "/lapor"): "web:lapor",
                                              ("POST", "/lacak/{laporan_id}/nilai"): "web:lacak",
                                              ("POST", "/lacak/{laporan_id}/komentar"): "web:lacak"}
# Routes with a write method that write nothing an audit row would describe, and why. Keep this short.
HTTP_EXEMPT: dict[tuple[str, str], str] = {
    ("POST", "/geocode/reverse/batch"): "reads only: points in, kelurahan out, nothing stored",
    ("POST", "/routing/explain"): "a dry run: decides and explains, stores nothing",
    ("POST", "/ows"): "WMS/WFS key-value requests as a form body, answered by MapServer: reads only (no WFS-T)",
    ("POST", "/csw"): "CSW requests as XML documents (GetRecords, GetRecordById...): reads of the catalogue",
    ("POST", "/osmand"): "GPS fixes: each stored fix is its own record (device, fix and receive time); the "
                         "devices and tracker keys that let it in are registered through audited writes "
                         "(GET /osmand, the same fixes, is not a write method and is not listed)",
}


def _write_routes() -> set[tuple[str, str]]:
    """Every (method, path) of the app's route table whose method can write (not GET/HEAD/OPTIONS)."""
    found = set()
    for ctx in routing.iter_route_contexts(create_app_for_table().routes):
        for method in (getattr(ctx.original_route, "methods", None) or set()) - READ_METHODS:
            found.add((method, ctx.path))
    return found


def create_app_for_table():
    """The app as `satupeta serve` builds it (no lifespan run: only its route table is read)."""
    from geo_api.settings import Settings

    return create_app(Settings())


def test_every_write_route_is_walked():
    routes = _write_routes()
    assert routes, "the route table was not read (no write routes found at all)"
    unknown = sorted(routes - set(HTTP_WRITES) - set(HTTP_EXEMPT))
    assert not unknown, (
        f"write route(s) {unknown} are not in the audit walk. Make the domain function the route calls take the "
        "Actor (geo_api/audit.py Actor.from_key(key, request)) and write its audit row in the write's "
        "transaction (audit.record_by), then add the route to HTTP_WRITES in tests/test_audit_walk.py with its "
        "action and a step in _http_steps that calls it; only a route that stores nothing goes to HTTP_EXEMPT, "
        "with the reason")
    gone = sorted((set(HTTP_WRITES) | set(HTTP_EXEMPT)) - routes)
    assert not gone, f"routes {gone} are listed in tests/test_audit_walk.py but no longer in the app"


# ---------------------------------------------------------------- CLI: the typer app

def _commands(typer_app, prefix: tuple[str, ...] = ()) -> set[str]:
    """Every command of the typer app, as its words ('keys rotate')."""
    names = set()
    for c in typer_app.registered_commands:
        names.add(" ".join((*prefix, c.name or c.callback.__name__.replace("_", "-"))))
    for g in typer_app.registered_groups:
        names |= _commands(g.typer_instance, (*prefix, g.name or g.typer_instance.info.name))
    return names


# Commands that write, walked by test_every_cli_write_is_audited (the actions they must leave).
CLI_WRITES: dict[str, set[str]] = {
    "load": {"data.load"},
    "layers publish": {"layer.publish"}, "layers restore": {"layer.restore"},
    "layers unpublish": {"layer.unpublish"},
    "keys create": {"key.create"}, "keys bind": {"key.bind"}, "keys rotate": {"key.rotate"},
    "keys revoke": {"key.revoke"},
    "fleet vehicle add": {"vehicle.add"}, "fleet device add": {"device.add"},
    "fleet import": {"fleet.import"}, "fleet maintain": {"fleet.maintain"},
    "fleet publish-sites": {"layer.publish"},
    "fleet simulate": {"vehicle.add", "device.add"},  # and key.create or key.rotate for its tracker keys
    "routing muat-katalog": {"katalog.load"}, "routing demo": {"key.create"},
    "routing kunci-petugas": {"key.create"},
    "routing aturan add": {"rule.add"}, "routing aturan change": {"rule.change"},
    "maps demo": {"laporan.create"},  # as the demo's citizen key, over HTTP
    "laksa tutup-otomatis": {"laporan.jam"},  # the SP4N-LAPOR! clock job: escalations and auto-close
}
# Commands that only read: run with every transaction read-only (arguments below).
CLI_READS: dict[str, tuple[str, ...]] = {
    "config": (), "db status": (), "audit list": (), "keys list": (), "layers list": (),
    "fleet vehicle list": (), "fleet device list": (),
    "routing explain": ("--", "sampah_menumpuk", "-6.18994", "106.62483"),
    "routing aturan list": (), "routing aturan riwayat": ("1",),
    "geocode search": ("Jl. Imam Bonjol, Karawaci",),
    "geocode reverse": ("{tmp}/titik.csv", "{tmp}/hasil.csv"),
    "maps build": ("{tmp}/peta",),
    "katalog validate": (), "katalog kugi": (),
}
# Commands that touch no row an audit entry would describe, and why.
CLI_EXEMPT: dict[str, str] = {
    "db start": "starts the embedded PostgreSQL server process", "db stop": "stops it",
    "db migrate": "the schema (alembic_version records each revision)",
    "db psql": "an interactive SQL shell: what is typed there is PostgreSQL's own business",
    "serve": "serves HTTP: its writes are the HTTP routes walked above",
    "fleet listen": "serves the OsmAnd port: GPS fixes (see HTTP_EXEMPT /osmand)",
    "db backup": "copies the database out to the backup folder: reads it", "db backups": "lists backups",
    "db export": "writes a pg_dump file: reads the database",
    "db restore": "replaces the whole cluster from its backups (an audit row would be restored away; "
                  "pgBackRest's log in the repository records each restore)",
    "service install": "writes a systemd unit file, no database row",
}


def test_every_cli_command_is_classified():
    commands = _commands(cli_app)
    assert len(commands) > 20, commands
    listed = set(CLI_WRITES) | set(CLI_READS) | set(CLI_EXEMPT)
    unknown = sorted(commands - listed)
    assert not unknown, (
        f"command(s) {unknown} are not in the audit walk. A command that writes passes Actor.cli() to the domain "
        "function, which writes its audit row in the write's transaction (geo_api/audit.py); add it to CLI_WRITES "
        "in tests/test_audit_walk.py and to the walk in test_every_cli_write_is_audited; a command that only "
        "reads goes to CLI_READS with arguments (it is run with every transaction read-only)")
    assert not sorted(listed - commands), f"listed but gone: {sorted(listed - commands)}"
    both = [c for c in CLI_WRITES if c in CLI_READS or c in CLI_EXEMPT] + [c for c in CLI_READS if c in CLI_EXEMPT]
    assert not both, both


# ---------------------------------------------------------------- helpers

def _cli(settings, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
         ) -> subprocess.CompletedProcess:
    exe = os.path.join(os.path.dirname(sys.executable), "satupeta")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=300, cwd=cwd,
                          env={**os.environ, "DATABASE_URL": settings.dsn, **(env or {})})


def _high_water(db) -> int:
    n = db.execute("SELECT coalesce(max(id), 0) AS n FROM audit_log").fetchone()["n"]
    db.rollback()
    return n


def _rows_since(db, start: int) -> list[dict]:
    rows = db.execute("SELECT id, oleh, aksi, objek, api_key_id, sebelum, sesudah FROM audit_log WHERE id > %s "
                      "ORDER BY id", (start,)).fetchall()
    db.rollback()
    return rows


def _geojson(n: int) -> bytes:
    feats = [{"type": "Feature", "properties": {"nama": f"pos {i}"},
              "geometry": {"type": "Point", "coordinates": [106.63 + i / 1000, -6.17]}} for i in range(n)]
    return json.dumps({"type": "FeatureCollection", "features": feats}).encode()


# ---------------------------------------------------------------- HTTP walk

def _keys(settings) -> dict[str, tuple[str, str, int]]:
    """citizen, officer (every OPD) and admin keys: (name, secret, id)."""
    tag = uuid.uuid4().hex[:6]
    out = {}
    with connect(settings) as conn:
        for who, role, kw in (("citizen", "citizen_app", {}), ("officer", "opd_officer", {"semua_opd": True}),
                              ("admin", "gis_admin", {})):
            name = f"walk-{who}-{tag}"
            secret, row = apikeys.create(conn, Actor.cli(), name, role, **kw)
            out[who] = (name, secret, row["id"])
        conn.commit()
    return out


def _http_steps(client, keys) -> dict[tuple[str, str], Callable[[], str]]:
    """One call per write route; each returns the audit object its row must name."""
    tag = uuid.uuid4().hex[:6]
    layer = f"walk_{tag}"
    state: dict[str, str] = {}

    def h(who: str) -> dict[str, str]:
        return {"X-API-Key": keys[who][1]}

    def laporan() -> str:
        r = client.post("/open311/v2/requests.json", data={
            "api_key": keys["citizen"][1], "service_code": "sampah_menumpuk", "lat": "-6.18994",
            "long": "106.62483", "description": "Sampah menumpuk (uji audit)"})
        assert r.status_code == 200, r.text
        state["laporan"] = r.json()[0]["service_request_id"]
        return f"laporan:{state['laporan']}"

    def status() -> str:
        r = client.post(f"/routing/laporan/{state['laporan']}/status", json={"status": "in_progress",
                        "catatan": "dicek (uji audit)"}, headers=h("officer"))
        assert r.status_code == 200, r.text
        return f"laporan:{state['laporan']}"

    def disposisi() -> str:
        r = client.post(f"/routing/laporan/{state['laporan']}/disposisi", json={
            "opd": "bpbd", "alasan": "uji audit: bukan kewenangan kami"}, headers=h("officer"))
        assert r.status_code == 200, r.text
        return f"laporan:{state['laporan']}"

    def rule_add() -> str:
        r = client.post("/routing/rules", json={"nama": f"uji walk {tag}", "wilayah": "kota", "prioritas": 1,
                                                "layanan_kode": "banjir", "opd_kode": "bpbd", "aktif": False},
                        headers=h("admin"))
        assert r.status_code == 201, r.text
        state["rule"] = str(r.json()["id"])
        return f"rule:{state['rule']}"

    def rule_change() -> str:
        r = client.patch(f"/routing/rules/{state['rule']}", json={"nama": f"uji walk {tag} (diubah)"},
                         headers=h("admin"))
        assert r.status_code == 200, r.text
        return f"rule:{state['rule']}"

    def publish() -> str:
        for n in (2, 3):  # two versions, so there is one to restore
            r = client.post("/layers", params={"id": layer, "title": "Uji audit", "opd": "Diskominfo",
                                               "filename": "pos.geojson"}, content=_geojson(n), headers=h("admin"))
            assert r.status_code == 201, r.text
        return f"layer:{layer}"

    def restore() -> str:
        r = client.post(f"/layers/{layer}/restore", params={"version": 1}, headers=h("admin"))
        assert r.status_code == 200, r.text
        return f"layer:{layer}"

    def metadata() -> str:
        mcf = (b"mcf: {version: 1.0}\nidentification: {title: x, abstract: Uji audit, purpose: uji, topiccategory: "
               b"[location], maintenancefrequency: asNeeded, rights: Diskominfo, license: {name: CC-BY-4.0}, "
               b"keywords: {kugi: {keywords: [FASILITASUMUM_PT], vocabulary: {name: KUGI}}}}\n"
               b"spatial: {scale: 1000}\ndataquality: {lineage: {statement: uji audit}}\n"
               b"contact: {pointOfContact: {organization: Diskominfo}}\n")
        r = client.put(f"/layers/{layer}/metadata", content=mcf, headers={**h("admin"),
                                                                          "Content-Type": "application/yaml"})
        assert r.status_code == 200, r.text
        return f"layer:{layer}"

    def style() -> str:
        sld = (b'<?xml version="1.0" encoding="UTF-8"?><StyledLayerDescriptor version="1.0.0" '
               b'xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc"><NamedLayer><Name>pos'
               b'</Name><UserStyle><Title>Uji audit</Title><FeatureTypeStyle><Rule><PointSymbolizer><Graphic><Mark>'
               b'<WellKnownName>circle</WellKnownName><Fill><CssParameter name="fill">#d01010</CssParameter></Fill>'
               b'</Mark><Size>6</Size></Graphic></PointSymbolizer></Rule></FeatureTypeStyle></UserStyle></NamedLayer>'
               b'</StyledLayerDescriptor>')
        r = client.post(f"/layers/{layer}/styles", params={"name": "uji"}, content=sld,
                        headers={**h("admin"), "Content-Type": "application/vnd.ogc.sld+xml"})
        assert r.status_code == 201, r.text
        return f"layer:{layer}"

    def unpublish() -> str:
        r = client.delete(f"/layers/{layer}", headers=h("admin"))
        assert r.status_code == 200, r.text
        return f"layer:{layer}"

    def lapor() -> str:
        import re

        page = client.get("/lapor")
        state["csrf"] = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        r = client.post("/lapor", data={"csrf": state["csrf"], "service_code": "sampah_menumpuk",
                                        "lat": "-6.18994", "long": "106.62483", "description": "Uji audit (web)"})
        assert r.status_code == 200, r.text
        state["web"] = re.search(r"bernomor <strong>(\d+)</strong>", r.text).group(1)
        state["kode"] = re.search(r'id="kode-lacak">([^<]+)<', r.text).group(1)
        return f"laporan:{state['web']}"

    def komentar() -> str:
        r = client.post(f"/lacak/{state['web']}/komentar", data={"csrf": state["csrf"], "kode_lacak": state["kode"],
                                                                 "tanggapan": "uji audit"}, follow_redirects=False)
        assert r.status_code == 303, r.text
        return f"laporan:{state['web']}"

    def nilai() -> str:
        r = client.post(f"/routing/laporan/{state['web']}/status", json={"status": "fixed"}, headers=h("officer"))
        assert r.status_code == 200, r.text
        r = client.post(f"/lacak/{state['web']}/nilai", data={"csrf": state["csrf"], "kode_lacak": state["kode"],
                                                              "nilai": "4"}, follow_redirects=False)
        assert r.status_code == 303, r.text
        return f"laporan:{state['web']}"

    def rating() -> str:
        r = client.post("/open311/v2/requests.json", data={
            "api_key": keys["citizen"][1], "service_code": "sampah_menumpuk", "lat": "-6.18994",
            "long": "106.62483", "description": "Sampah menumpuk (uji audit penilaian)"})
        assert r.status_code == 200, r.text
        rid, kode = r.json()[0]["service_request_id"], r.json()[0]["kode_lacak"]
        r = client.post(f"/routing/laporan/{rid}/status", json={"status": "fixed"}, headers=h("officer"))
        assert r.status_code == 200, r.text
        r = client.post(f"/open311/v2/requests/{rid}/rating.json", data={
            "api_key": keys["citizen"][1], "kode_lacak": kode, "nilai": "3"})
        assert r.status_code == 200, r.text
        return f"laporan:{rid}"

    return {("POST", "/open311/v2/requests.{fmt}"): laporan,
            ("POST", "/lapor"): lapor, ("POST", "/lacak/{laporan_id}/komentar"): komentar,
            ("POST", "/lacak/{laporan_id}/nilai"): nilai,
            ("POST", "/open311/v2/requests/{service_request_id}/rating.{fmt}"): rating,
            ("POST", "/routing/laporan/{laporan_id}/status"): status,
            ("POST", "/routing/laporan/{laporan_id}/disposisi"): disposisi,
            ("POST", "/routing/rules"): rule_add, ("PATCH", "/routing/rules/{rule_id}"): rule_change,
            ("POST", "/layers"): publish, ("POST", "/layers/{layer_id}/restore"): restore,
            ("POST", "/layers/{layer_id}/styles"): style,
            ("PUT", "/layers/{layer_id}/metadata"): metadata, ("DELETE", "/layers/{layer_id}"): unpublish}


_WHO = {"laporan.create": "citizen", "laporan.status": "officer", "laporan.disposisi": "officer",
        "laporan.penilaian": "citizen"}


def test_every_http_write_is_audited_with_its_key(client, settings, db, katalog):
    keys = _keys(settings)
    steps = _http_steps(client, keys)
    assert set(steps) == set(HTTP_WRITES), "every route in HTTP_WRITES needs its step in _http_steps"
    for route, step in steps.items():  # dict order: laporan before its status, rule and layer before changes
        action = HTTP_WRITES[route]
        start = _high_water(db)
        objek = step()
        rows = [r for r in _rows_since(db, start) if r["aksi"] == action and r["objek"] == objek]
        name, _, key_id = keys[_WHO.get(action, "admin")]
        assert rows, f"{route} wrote no audit row {action} {objek}"
        who = {(HTTP_WEB_ACTOR[route], None)} if route in HTTP_WEB_ACTOR else {(f"api_key:{name}", key_id)}
        assert {(r["oleh"], r["api_key_id"]) for r in rows} == who, rows
        logged = json.dumps([[r["sebelum"], r["sesudah"]] for r in rows], default=str)
        assert not [w for w in keys if keys[w][1] in logged], "a key's secret in the audit log"


# ---------------------------------------------------------------- CLI walk

def _catalogue_with(path: Path, kontak: str) -> None:
    import yaml

    from geo_api.catalogue import DEFAULT_PATH

    doc = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    doc["opd"][0]["kontak"] = kontak
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def _cli_steps(settings, db, live_server, tmp: Path) -> dict[str, Callable[[], list[str]]]:
    """One run per write command (real processes); each returns the audit objects its rows must name
    (a trailing ':' is a prefix)."""
    tag = uuid.uuid4().hex[:6]
    unique = f"walk-{tag}"
    plate = f"B WALK {tag[:4].upper()}"
    layer = f"walk_cli_{tag}"
    key_name = f"walk-key-{tag}"
    state: dict[str, str] = {}

    def ok(*args: str, **kw) -> str:
        r = _cli(settings, *args, **kw)
        assert r.returncode == 0, (args, r.stdout[-2000:], r.stderr[-2000:])
        return r.stdout

    def load() -> list[str]:
        ok("load", "--layer", "kabkota_sekitar", "--force")
        return ["data:kabkota_sekitar"]

    (tmp / "pos.geojson").write_bytes(_geojson(2))

    def publish() -> list[str]:
        ok("layers", "publish", str(tmp / "pos.geojson"), "--id", layer, "--title", "Uji", "--opd", "DPUPR")
        ok("layers", "publish", str(tmp / "pos.geojson"), "--id", layer, "--title", "Uji", "--opd", "DPUPR")
        return [f"layer:{layer}"]

    def restore() -> list[str]:
        ok("layers", "restore", layer, "--version", "1")
        return [f"layer:{layer}"]

    def unpublish() -> list[str]:
        ok("layers", "unpublish", layer)
        return [f"layer:{layer}"]

    def key(verb: str, *extra: str) -> Callable[[], list[str]]:
        def run() -> list[str]:
            ok("keys", verb, key_name, *extra)
            return [f"key:{key_name}"]
        return run

    def vehicle() -> list[str]:
        out = ok("fleet", "vehicle", "add", plate, "--jenis", "pickup")
        state["vehicle"] = out.split()[1].rstrip(":")
        return [f"vehicle:{state['vehicle']}"]

    def device() -> list[str]:
        out = ok("fleet", "device", "add", unique, "--vehicle", plate)
        return [f"device:{out.split()[1].rstrip(':')}"]

    def fleet_import() -> list[str]:
        t0 = int(time.time()) - 3 * 3600
        csv = tmp / "isi.csv"
        csv.write_text("id,timestamp,lat,lon\n" + "".join(
            f"{unique},{t0 + 60 * i},{-6.17 - i / 10000:.6f},{106.63:.6f}\n" for i in range(5)))
        gpx = tmp / "isi.gpx"
        pts = "".join(f'<trkpt lat="{-6.18 - i / 10000:.6f}" lon="106.64"><time>'
                      f'{time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + 600 + 60 * i))}</time></trkpt>'
                      for i in range(4))
        gpx.write_text('<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
                       f"<trk><trkseg>{pts}</trkseg></trk></gpx>")
        ok("fleet", "import", str(csv))
        ok("fleet", "import", str(gpx), "--device", unique)
        return ["fleet.import:isi.csv", "fleet.import:isi.gpx"]

    def maintain() -> list[str]:
        # one day past the newest partition, so at least one is new (not hundreds: every later module's queries
        # plan over them); a retention nothing is older than: drop none
        newest = db.execute("SELECT max(to_date(substr(c.relname, 10), 'YYYYMMDD')) AS d FROM pg_inherits i "
                            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
                            "WHERE p.relname = 'position' AND c.relname ~ '^position_[0-9]{8}$'").fetchone()["d"]
        db.rollback()
        ahead = max(8, (newest - datetime.now(UTC).date()).days + 2) if newest else 8
        ok("fleet", "maintain", "--ahead-days", str(ahead), env={"SATUPETA_FLEET_RETENTION_DAYS": "100000"})
        return ["fleet.position:partitions"]

    def sites() -> list[str]:
        ok("fleet", "publish-sites")
        return [f"layer:{settings.fleet_sites_layer}"]

    def simulate() -> list[str]:
        ok("fleet", "simulate", "--trucks", "1", "--hours", "0.5", "--speedup", "0", "--interval", "120",
           "--url", live_server.url, "--no-publish", "--seed", str(int(tag, 16) % 1000))
        return ["vehicle:", "device:"]

    def katalog() -> list[str]:
        _catalogue_with(tmp / "katalog.yaml", f"uji {tag}")
        ok("routing", "muat-katalog", "--path", str(tmp / "katalog.yaml"), "--no-jalan-sintetis")
        ok("routing", "muat-katalog", "--no-jalan-sintetis")  # back to the bundled file: a second change
        return ["katalog:katalog.yaml", "katalog:katalog_opd.yaml"]

    def routing_demo() -> list[str]:
        ok("routing", "demo", "--key-file", str(tmp / "demo_key"))
        state["demo_key"] = (tmp / "demo_key").read_text().strip()
        row = db.execute("SELECT name FROM api_key WHERE key_hash = %s", (apikeys.key_hash(state["demo_key"]),)
                         ).fetchone()
        db.rollback()
        state["demo_name"] = row["name"]
        return [f"key:{row['name']}"]

    def officer() -> list[str]:
        ok("routing", "kunci-petugas", f"walk-petugas-{tag}", "--opd", "dlh")
        return [f"key:walk-petugas-{tag}"]

    def rule_add() -> list[str]:
        ok("routing", "aturan", "add", "--nama", f"uji walk cli {tag}", "--wilayah", "kota", "--prioritas", "1",
           "--layanan", "banjir", "--opd", "bpbd")
        state["rule"] = str(db.execute("SELECT rule_id FROM routing_rule_versi WHERE nama = %s",
                                       (f"uji walk cli {tag}",)).fetchone()["rule_id"])
        db.rollback()
        return [f"rule:{state['rule']}"]

    def rule_change() -> list[str]:
        ok("routing", "aturan", "change", state["rule"], '{"aktif": false}')
        return [f"rule:{state['rule']}"]

    def maps_demo() -> list[str]:
        have = db.execute("SELECT count(*) AS n FROM laporan").fetchone()["n"]
        db.rollback()
        ok("maps", "demo", "--laporan", str(have + 2), "--trucks", "0", "--url", live_server.url,
           "--key-file", str(tmp / "demo_key"), "--wait", "30", cwd=tmp)
        return ["laporan:"]

    def auto_close() -> list[str]:
        # the newest laporan's dispatch stage made overdue: the job escalates it (and whatever else is due now)
        row = db.execute("UPDATE laporan SET disposisi_due = now() - interval '1 day', disposisi_at = NULL, "
                         "disposisi_eskalasi_at = NULL WHERE id = (SELECT max(id) FROM laporan) "
                         "RETURNING id").fetchone()
        db.commit()
        ok("laksa", "tutup-otomatis")
        return [f"laporan:{row['id']}"]

    return {"load": load, "layers publish": publish, "layers restore": restore, "layers unpublish": unpublish,
            "keys create": key("create", "--role", "opd_officer", "--opd", "dlh"),
            "keys bind": key("bind", "--semua-opd"), "keys rotate": key("rotate"), "keys revoke": key("revoke"),
            "fleet vehicle add": vehicle, "fleet device add": device, "fleet import": fleet_import,
            "fleet maintain": maintain, "fleet publish-sites": sites, "fleet simulate": simulate,
            "routing muat-katalog": katalog, "routing demo": routing_demo, "routing kunci-petugas": officer,
            "routing aturan add": rule_add, "routing aturan change": rule_change, "maps demo": maps_demo,
            "laksa tutup-otomatis": auto_close}


def test_every_cli_write_is_audited(settings, db, katalog, live_server, tmp_path):
    steps = _cli_steps(settings, db, live_server, tmp_path)
    assert set(steps) == set(CLI_WRITES), "every command in CLI_WRITES needs its step in _cli_steps"
    missing = []
    for command, step in steps.items():
        start = _high_water(db)
        objects = step()
        rows = _rows_since(db, start)
        for action in CLI_WRITES[command]:
            mine = [r for r in rows if r["aksi"] == action and any(
                r["objek"].startswith(o) if o.endswith(":") else r["objek"] == o for o in objects)]
            if not mine:
                missing.append((command, action, objects))
                continue
            if command == "maps demo":  # posted over HTTP with the demo's citizen key
                assert {r["oleh"] for r in mine} == {f"api_key:{state_demo_name(db, tmp_path)}"}, mine
            else:
                assert {r["oleh"] for r in mine} == {ME}, (command, mine)
        if command == "fleet import":
            got = {r["objek"]: r["sesudah"] for r in rows if r["aksi"] == "fleet.import"}
            assert got["fleet.import:isi.csv"]["rows"] == 5 and got["fleet.import:isi.gpx"]["rows"] == 4, got
        if command == "fleet maintain":
            [row] = [r for r in rows if r["aksi"] == "fleet.maintain"]
            assert row["sesudah"]["created"] > 0 and row["sesudah"]["dropped"] == 0, row
        if command == "fleet simulate":
            assert {r["aksi"] for r in rows} & {"key.create", "key.rotate"}, "the simulator's tracker key"
        if command == "maps demo":
            made = [r for r in rows if r["aksi"] == "laporan.create"]
            assert len(made) == 2, made
    assert not missing, f"writes without their audit row: {missing}"


def state_demo_name(db, tmp: Path) -> str:
    """The name of the key `routing demo` wrote to tmp/demo_key."""
    secret = (tmp / "demo_key").read_text().strip()
    row = db.execute("SELECT name FROM api_key WHERE key_hash = %s", (apikeys.key_hash(secret),)).fetchone()
    db.rollback()
    return row["name"]


@pytest.mark.parametrize("command", sorted(CLI_READS))
def test_cli_reads_write_nothing(command, settings, db, katalog, tmp_path):
    """Each command listed as a read runs with PostgreSQL refusing every write, and leaves no audit row."""
    (tmp_path / "titik.csv").write_text("lat,lon\n-6.18994,106.62483\n")
    args = [a.replace("{tmp}", str(tmp_path)) for a in CLI_READS[command]]
    start = _high_water(db)
    # transaction pooling mode sends no startup `options`, so PGOPTIONS reaches every connection, pooled too
    r = _cli(settings, *command.split(), *args, env={"PGOPTIONS": "-c default_transaction_read_only=on",
                                                      "SATUPETA_DATABASE_TRANSACTION_POOLING": "true"})
    assert r.returncode == 0, (command, r.stdout[-2000:], r.stderr[-2000:])
    assert "read-only transaction" not in r.stdout + r.stderr
    assert _rows_since(db, start) == []
