"""Who may do what, over real HTTP: citizen app, OPD officer (own OPD only), GIS admin, tracker devices;
every write in the audit log; keys rotated and revoked from the CLI; rate limits on writes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from geo_api.apikeys import key_hash, new_key
from tests.conftest import LiveServer

BASE = "/open311/v2"
POINT = {"lat": "-6.18994", "long": "106.62483"}  # Kelurahan Karawaci




def make_key(db, role: str, *, opd: str | None = None, device: str | None = None) -> tuple[str, str]:
    """A live key with this role (and binding): (name, key)."""
    key, name = new_key(), f"trust-{role}-{uuid.uuid4().hex[:8]}"
    db.execute("INSERT INTO api_key (name, role, key_hash, opd_kode, device_unique_id) VALUES (%s, %s, %s, %s, %s)",
               (name, role, key_hash(key), opd, device))
    db.commit()
    return name, key


def post_laporan(client, key: str, **fields) -> httpx.Response:
    """POST an Open311 request with this api_key."""
    data = {"api_key": key, "service_code": "sampah_menumpuk", **POINT, "description": "Sampah menumpuk", **fields}
    return client.post(f"{BASE}/requests.json", data=data)


def audit_rows(db, objek: str) -> list[dict]:
    """The audit rows of one object, oldest first."""
    return db.execute("SELECT * FROM audit_log WHERE objek = %s ORDER BY id", (objek,)).fetchall()


@pytest.fixture(scope="module")
def keys(settings, katalog):
    """One key per role; two officers, one bound to the OPD the test laporan goes to, one to another OPD."""
    from geo_api.db import connect

    with connect(settings) as db:
        citizen = make_key(db, "citizen_app")[1]
        admin = make_key(db, "gis_admin")[1]
        opds = [row["kode"] for row in db.execute("SELECT kode FROM opd ORDER BY kode").fetchall()]
    return {"citizen": citizen, "admin": admin, "opds": opds}


def _officers(settings, opd: str, other: str) -> tuple[str, str]:
    from geo_api.db import connect

    with connect(settings) as db:
        return make_key(db, "opd_officer", opd=opd)[1], make_key(db, "opd_officer", opd=other)[1]


def test_citizen_creates_and_reads_but_changes_nothing_else(client, keys, db):
    r = post_laporan(client, keys["citizen"])
    assert r.status_code == 200, r.text
    lid = r.json()[0]["service_request_id"]
    assert client.get(f"{BASE}/requests/{lid}.json").status_code == 200
    assert client.get("/ogc/collections").status_code == 200
    h = {"X-API-Key": keys["citizen"]}
    assert client.post(f"/routing/laporan/{lid}/status", json={"status": "closed"}, headers=h).status_code == 403
    assert client.get(f"/routing/laporan/{lid}", headers=h).status_code == 403
    # a valid-looking rule body, so a 403 is the role check and not the body's validation
    rule = {"nama": "uji warga", "wilayah": "kota", "prioritas": 1, "layanan": "banjir", "opd_kode": "bpbd"}
    assert client.post("/routing/rules", json=rule, headers=h).status_code == 403
    assert client.post("/routing/rules", json={}, headers=h).status_code == 403  # role before body
    assert client.get("/routing/rules", headers=h).status_code == 403
    assert client.post("/layers", params={"id": "x_citizen", "title": "x", "opd": "x", "filename": "x.geojson"},
                       content=b"{}", headers=h).status_code == 403
    assert db.execute("SELECT status FROM laporan WHERE id = %s", (int(lid),)).fetchone()["status"] == "open"
    [row] = audit_rows(db, f"laporan:{lid}")
    assert row["aksi"] == "laporan.create" and row["oleh"].startswith("api_key:trust-citizen_app")
    assert row["sesudah"]["id"] == int(lid) and row["alamat"] == "127.0.0.1"


def test_officer_moves_only_their_own_opds_laporan(client, keys, db, settings):
    lid = post_laporan(client, keys["citizen"]).json()[0]["service_request_id"]
    opd = db.execute("SELECT opd_kode FROM laporan WHERE id = %s", (int(lid),)).fetchone()["opd_kode"]
    other = next(k for k in keys["opds"] if k != opd)
    own, foreign = _officers(settings, opd, other)

    r = client.post(f"/routing/laporan/{lid}/status", json={"status": "in_progress", "catatan": "dicek"},
                    headers={"X-API-Key": foreign})
    assert r.status_code == 403, r.text
    assert db.execute("SELECT status FROM laporan WHERE id = %s", (int(lid),)).fetchone()["status"] == "open"
    assert [a["aksi"] for a in audit_rows(db, f"laporan:{lid}")] == ["laporan.create"]
    assert client.get(f"/routing/laporan/{lid}", headers={"X-API-Key": foreign}).status_code == 403

    r = client.post(f"/routing/laporan/{lid}/status", json={"status": "in_progress", "catatan": "dicek"},
                    headers={"X-API-Key": own})
    assert r.status_code == 200, r.text
    change = audit_rows(db, f"laporan:{lid}")[-1]
    assert change["aksi"] == "laporan.status"
    assert change["sebelum"]["status"] == "open" and change["sesudah"]["status"] == "in_progress"
    assert change["sesudah"]["status_notes"] == "dicek"

    # officers publish nothing, edit no rules, post no laporan
    h = {"X-API-Key": own}
    assert client.get("/routing/rules", headers=h).status_code == 403
    assert client.post("/layers", params={"id": "x_officer", "title": "x", "opd": "x", "filename": "x.geojson"},
                       content=b"{}", headers=h).status_code == 403
    assert post_laporan(client, own).status_code == 403


def test_admin_edits_rules_and_publishes_with_audit(client, keys, db):
    h = {"X-API-Key": keys["admin"]}
    rules = client.get("/routing/rules", headers=h)
    assert rules.status_code == 200 and rules.json()
    rule = rules.json()[0]
    r = client.patch(f"/routing/rules/{rule['id']}", json={"nama": rule["nama"] + " (diubah)"}, headers=h)
    assert r.status_code == 200, r.text
    added, row = audit_rows(db, f"rule:{rule['id']}")  # added by the catalogue load, then changed here
    assert added["aksi"] == "rule.add" and added["oleh"].startswith("cli:")
    assert row["aksi"] == "rule.change" and row["sebelum"]["nama"] == rule["nama"]
    assert row["oleh"].startswith("api_key:trust-gis_admin") and row["alamat"] == "127.0.0.1"
    assert row["sesudah"]["nama"] == rule["nama"] + " (diubah)"

    fc = (b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"nama":"pos"},'
          b'"geometry":{"type":"Point","coordinates":[106.63,-6.17]}}]}')
    r = client.post("/layers", params={"id": "trust_pos", "title": "Pos", "opd": "Diskominfo",
                                       "filename": "pos.geojson"}, content=fc, headers=h)
    assert r.status_code == 201, r.text
    [row] = audit_rows(db, "layer:trust_pos")
    assert row["aksi"] == "layer.publish" and row["sebelum"] is None and row["sesudah"]["version"] == 1


def test_failed_write_leaves_no_audit_row(client, keys, db):
    before = db.execute("SELECT count(*) AS n FROM audit_log").fetchone()["n"]
    h = {"X-API-Key": keys["admin"]}
    assert client.patch("/routing/rules/2147480000", json={"nama": "x"}, headers=h).status_code == 404
    assert client.delete("/layers/tidak_ada", headers=h).status_code == 404
    assert db.execute("SELECT count(*) AS n FROM audit_log").fetchone()["n"] == before


def test_missing_unknown_and_revoked_keys(client, keys, settings, db):
    assert client.get("/routing/rules").status_code == 401
    assert client.get("/routing/rules", headers={"X-API-Key": "sp_bukan_kunci"}).status_code == 401
    name, key = make_key(db, "gis_admin")
    assert client.get("/routing/rules", headers={"X-API-Key": key}).status_code == 200
    cli = _cli(settings, "keys", "revoke", name)
    assert cli.returncode == 0, cli.stderr
    assert client.get("/routing/rules", headers={"X-API-Key": key}).status_code == 401
    assert audit_rows(db, f"key:{name}")[-1]["aksi"] == "key.revoke"


def _cli(settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": settings.dsn}
    exe = os.path.join(os.path.dirname(sys.executable), "satupeta")
    return subprocess.run([exe, *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_rotate_and_bound_keys(client, settings, db, katalog):
    lid = post_laporan(client, _citizen(db)).json()[0]["service_request_id"]
    opd = db.execute("SELECT opd_kode FROM laporan WHERE id = %s", (int(lid),)).fetchone()["opd_kode"]
    db.rollback()
    assert opd, "the test laporan must be routed to an OPD"
    other = "diskominfo" if opd != "diskominfo" else "dlh"
    name = f"trust-rotate-{uuid.uuid4().hex[:6]}"
    made = _cli(settings, "keys", "create", name, "--role", "opd_officer", "--opd", opd)
    assert made.returncode == 0, made.stderr
    old = made.stdout.strip().splitlines()[-1]
    row = db.execute("SELECT role, opd_kode FROM api_key WHERE name = %s", (name,)).fetchone()
    assert (row["role"], row["opd_kode"]) == ("opd_officer", opd)
    # bound to the laporan's OPD: it reads it; bound to another OPD: refused
    assert client.get(f"/routing/laporan/{lid}", headers={"X-API-Key": old}).status_code == 200
    elsewhere = _cli(settings, "keys", "create", f"{name}-x", "--role", "opd_officer", "--opd", other)
    assert elsewhere.returncode == 0, elsewhere.stderr
    foreign = elsewhere.stdout.strip().splitlines()[-1]
    assert client.get(f"/routing/laporan/{lid}", headers={"X-API-Key": foreign}).status_code == 403

    rotated = _cli(settings, "keys", "rotate", name)
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip().splitlines()[-1]
    assert new != old and new.startswith("sp_")
    assert client.get(f"/routing/laporan/{lid}", headers={"X-API-Key": old}).status_code == 401
    assert client.get(f"/routing/laporan/{lid}", headers={"X-API-Key": new}).status_code == 200  # binding kept
    row = db.execute("SELECT opd_kode, rotated_at FROM api_key WHERE name = %s", (name,)).fetchone()
    assert row["opd_kode"] == opd and row["rotated_at"] is not None
    assert [a["aksi"] for a in audit_rows(db, f"key:{name}")] == ["key.create", "key.rotate"]
    assert new not in str(audit_rows(db, f"key:{name}"))

    bad = _cli(settings, "keys", "create", "trust-x", "--role", "tracker")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    bad = _cli(settings, "keys", "rotate", "tidak-ada-kunci")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


def _citizen(db) -> str:
    return make_key(db, "citizen_app")[1]


def _device(db, unique_id: str) -> None:
    vid = db.execute("INSERT INTO fleet.vehicle (plat_nomor, jenis) VALUES (%s, 'compactor') RETURNING id",
                     (f"B {uuid.uuid4().hex[:6]} T",)).fetchone()["id"]
    db.execute("INSERT INTO fleet.device (unique_id, vehicle_id) VALUES (%s, %s)", (unique_id, vid))
    db.commit()


@pytest.fixture(scope="module")
def fresh_keys_client(settings):
    """A server that re-reads tracker keys on every fix: the session server caches them for 10 s, so a key
    made in this test would otherwise be seen only after the cache of an earlier test expires."""
    with LiveServer(settings.model_copy(update={"fleet_tracker_keys_ttl_s": 0.0})) as server:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            yield c


def test_tracker_sends_only_for_its_own_device(fresh_keys_client, settings, db):
    client = fresh_keys_client
    bound, free, other = (f"trk-{uuid.uuid4().hex[:8]}" for _ in range(3))
    for d in (bound, free, other):
        _device(db, d)
    _, key = make_key(db, "tracker", device=bound)
    _, other_key = make_key(db, "tracker", device=other)
    fix = {"lat": "-6.18", "lon": "106.63", "timestamp": str(int(time.time()))}

    assert client.get("/osmand", params={"id": bound, **fix}).status_code == 401
    assert client.get("/osmand", params={"id": bound, "key": other_key, **fix}).status_code == 403
    assert client.get("/osmand", params={"id": other, "key": key, **fix}).status_code == 403
    assert client.get("/osmand", params={"id": bound, "key": key, **fix}).status_code == 200
    # a device without a tracker key is refused by default (fleet_tracker_auth = required) ...
    assert client.get("/osmand", params={"id": free, **fix}).status_code == 401
    # ... and served as by Traccar when a city explicitly chooses `bound`
    with LiveServer(settings.model_copy(update={"fleet_tracker_auth": "bound"})) as server, \
            httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.get("/osmand", params={"id": free, **fix}).status_code == 200
        assert c.get("/osmand", params={"id": bound, **fix}).status_code == 401
    stored = db.execute("SELECT p.attributes FROM fleet.position p JOIN fleet.device d ON d.id = p.device_id "
                        "WHERE d.unique_id = %s", (bound,)).fetchall()
    assert len(stored) == 1 and "key" not in (stored[0]["attributes"] or {})
    assert key not in str(stored)


@pytest.fixture(scope="module")
def tight_server(settings, katalog):
    """A second server on the same database with small write limits (3 writes, then 1 per 100 s)."""
    tight = settings.model_copy(update={"ratelimit_address_burst": 3, "ratelimit_address_per_s": 0.01,
                                        "ratelimit_key_burst": 2, "ratelimit_key_per_s": 0.01})
    with LiveServer(tight) as server:
        yield server


def test_rate_limits_per_address_and_per_key(tight_server, db):
    citizen = _citizen(db)
    with httpx.Client(base_url=tight_server.url, timeout=30) as c:
        assert [post_laporan(c, citizen).status_code for _ in range(2)] == [200, 200]
        r = post_laporan(c, citizen)  # the key's burst of 2 is spent
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.json()[0]["code"] == 429 and "API key" in r.json()[0]["description"]
        # reads are not limited
        assert all(c.get(f"{BASE}/services.json").status_code == 200 for _ in range(10))
        # without that key, from the same address: one write left of the address burst (3), then 429
        explain = {"category": "sampah_menumpuk", "lat": -6.19, "lon": 106.62}
        assert c.post("/routing/explain", json=explain).status_code == 200
        r = c.post("/routing/explain", json=explain)
        assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["limit"] == "address" and int(r.headers["retry-after"]) >= 1


# ---------------------------------------------------------------- keys: role required, OPD scope explicit (issue 12)

def test_keys_create_needs_a_role_and_an_explicit_opd_scope(client, settings, db, katalog):
    tag = uuid.uuid4().hex[:6]
    refused = [("keys", "create", f"k-norole-{tag}"),
               ("keys", "create", f"k-noscope-{tag}", "--role", "opd_officer"),
               ("keys", "create", f"k-both-{tag}", "--role", "opd_officer", "--opd", "dlh", "--semua-opd"),
               ("keys", "create", f"k-citizen-{tag}", "--role", "citizen_app", "--semua-opd"),
               ("keys", "create", f"k-bad-{tag}", "--role", "Gis Admin")]
    for args in refused:
        r = _cli(settings, *args)
        assert r.returncode != 0 and "Traceback" not in r.stderr, (args, r.stdout, r.stderr)
        assert db.execute("SELECT 1 FROM api_key WHERE name = %s", (args[2],)).fetchone() is None, args
    assert "--role" in _cli(settings, *refused[0]).stderr
    assert "--semua-opd" in (lambda r: r.stdout + r.stderr)(_cli(settings, *refused[1]))

    lid = post_laporan(client, _citizen(db)).json()[0]["service_request_id"]
    made = _cli(settings, "keys", "create", f"k-desk-{tag}", "--role", "opd_officer", "--semua-opd")
    assert made.returncode == 0, made.stderr
    desk = made.stdout.strip().splitlines()[-1]
    assert client.get(f"/routing/laporan/{lid}", headers={"X-API-Key": desk}).status_code == 200
    assert audit_rows(db, f"key:k-desk-{tag}")[-1]["sesudah"]["semua_opd"] is True


def test_unbound_officer_keys_act_on_no_opd_until_bound(client, settings, db, katalog):
    # a key as it was made before 0007 (no opd_kode): it used to act on every OPD
    name, key = make_key(db, "opd_officer")
    lid = post_laporan(client, _citizen(db)).json()[0]["service_request_id"]
    opd = db.execute("SELECT opd_kode FROM laporan WHERE id = %s", (int(lid),)).fetchone()["opd_kode"]
    h = {"X-API-Key": key}
    r = client.post(f"/routing/laporan/{lid}/status", json={"status": "closed"}, headers=h)
    assert r.status_code == 403 and "bound to no OPD" in r.json()["detail"]
    assert db.execute("SELECT status FROM laporan WHERE id = %s", (int(lid),)).fetchone()["status"] == "open"
    assert client.get(f"/routing/laporan/{lid}", headers=h).status_code == 403

    bound = _cli(settings, "keys", "bind", name, "--opd", opd)
    assert bound.returncode == 0, bound.stderr
    assert client.get(f"/routing/laporan/{lid}", headers=h).status_code == 200
    [row] = [a for a in audit_rows(db, f"key:{name}") if a["aksi"] == "key.bind"]
    assert row["sebelum"]["opd_kode"] is None and row["sesudah"]["opd_kode"] == opd
    assert row["oleh"].startswith("cli:")
    bad = _cli(settings, "keys", "bind", name, "--device", "x")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


# ---------------------------------------------------------------- every CLI write audited with who (issue 12)

def _catalogue_with(path, kontak: str) -> None:
    import yaml

    from geo_api.catalogue import DEFAULT_PATH
    doc = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    doc["opd"][0]["kontak"] = kontak
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def test_every_cli_write_is_audited_with_who(settings, db, katalog, tmp_path):
    import getpass

    from geo_api.db import connect
    from maps import demo

    me = f"cli:{getpass.getuser()}"
    tag = uuid.uuid4().hex[:6]
    start = db.execute("SELECT coalesce(max(id), 0) AS n FROM audit_log").fetchone()["n"]

    def ok(*args: str) -> str:
        r = _cli(settings, *args)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r.stdout

    ok("routing", "aturan", "add", "--nama", f"uji audit {tag}", "--wilayah", "kota", "--prioritas", "1",
       "--layanan", "banjir", "--opd", "bpbd")
    rule_id = db.execute("SELECT rule_id FROM routing_rule_versi WHERE nama = %s", (f"uji audit {tag}",)
                         ).fetchone()["rule_id"]
    ok("routing", "aturan", "change", str(rule_id), '{"aktif": false}')
    changed = tmp_path / "katalog.yaml"
    _catalogue_with(changed, f"uji {tag}")
    ok("routing", "muat-katalog", "--path", str(changed), "--no-jalan-sintetis")
    ok("routing", "muat-katalog", "--no-jalan-sintetis")  # back to the bundled file: a second change
    ok("routing", "demo", "--key-file", str(tmp_path / "demo_key"))
    demo_key = (tmp_path / "demo_key").read_text().strip()
    demo_name = db.execute("SELECT name FROM api_key WHERE key_hash = %s", (key_hash(demo_key),)).fetchone()["name"]
    with connect(settings) as conn:
        officer = demo.officer_key(conn, tmp_path / "officer_key")
    officer_row = db.execute("SELECT name, semua_opd FROM api_key WHERE key_hash = %s", (key_hash(officer),)
                             ).fetchone()
    assert officer_row["semua_opd"] is True
    name = f"audit-{tag}"
    ok("keys", "create", name, "--role", "opd_officer", "--opd", "dlh")
    ok("keys", "bind", name, "--semua-opd")
    ok("keys", "rotate", name)
    ok("keys", "revoke", name)

    rows = db.execute("SELECT oleh, aksi, objek, sesudah FROM audit_log WHERE id > %s ORDER BY id", (start,)
                      ).fetchall()
    seen = {(r["aksi"], r["objek"]) for r in rows}
    expected = {("rule.add", f"rule:{rule_id}"), ("rule.change", f"rule:{rule_id}"),
                ("katalog.load", "katalog:katalog.yaml"), ("katalog.load", "katalog:katalog_opd.yaml"),
                ("key.create", f"key:{demo_name}"), ("key.create", f"key:{officer_row['name']}"),
                ("key.create", f"key:{name}"), ("key.bind", f"key:{name}"), ("key.rotate", f"key:{name}"),
                ("key.revoke", f"key:{name}")}
    assert expected <= seen, expected - seen
    assert {r["oleh"] for r in rows if (r["aksi"], r["objek"]) in expected} == {me}
    versi = db.execute("SELECT diubah_oleh FROM routing_rule_versi WHERE rule_id = %s", (rule_id,)).fetchall()
    assert {v["diubah_oleh"] for v in versi} == {me}
    assert not [r for r in rows if demo_key in str(r) or officer in str(r)]
    # an idempotent reload changes nothing and audits nothing
    before = db.execute("SELECT count(*) AS n FROM audit_log").fetchone()["n"]
    ok("routing", "muat-katalog", "--no-jalan-sintetis")
    assert db.execute("SELECT count(*) AS n FROM audit_log").fetchone()["n"] == before


def test_rotated_and_revoked_api_keys_stop_at_once_on_open311_too(client, settings, db, katalog):
    """API keys are read per request, nothing caches them: the very next POST after rotate/revoke is refused."""
    name = f"trust-citizen-rot-{uuid.uuid4().hex[:6]}"
    made = _cli(settings, "keys", "create", name, "--role", "citizen_app")
    assert made.returncode == 0, made.stderr
    old = made.stdout.strip().splitlines()[-1]
    assert post_laporan(client, old).status_code == 200
    rotated = _cli(settings, "keys", "rotate", name)
    new = rotated.stdout.strip().splitlines()[-1]
    assert post_laporan(client, old).status_code == 403
    assert post_laporan(client, new).status_code == 200
    assert _cli(settings, "keys", "revoke", name).returncode == 0
    assert post_laporan(client, new).status_code == 403
    assert client.get("/routing/rules", headers={"X-API-Key": new}).status_code == 401
