"""Schemathesis against the platform's own /openapi.json: every operation, no 5xx, nothing off its schema.

The fuzzer runs with valid keys (a gis_admin key in X-API-Key, a citizen_app key as Open311's api_key), so
authenticated operations are exercised past their key check. It gets its own database and server: generated
routing rules and unpublished layers must not change what the other test modules see.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from psycopg import sql as psql
from psycopg.rows import dict_row
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from geo_api import catalogue
from geo_api.apikeys import key_hash, new_key
from geo_api.db import connect, migrate
from geo_api.settings import Settings
from ingestion.bundled import load_bundled
from tests.conftest import LiveServer, _with_db

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
# Bounded so the whole module stays around a couple of minutes on a shared 2-core machine.
EXAMPLES = int(os.environ.get("SATUPETA_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def fuzz_settings(base_settings: Settings) -> Iterator[Settings]:
    """A database of its own for the fuzzer (migrated, bundled data loaded), dropped afterwards."""
    name = f"satupeta_fuzz_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(base_settings.dsn, autocommit=True) as admin:
        admin.execute(psql.SQL("CREATE DATABASE {}").format(psql.Identifier(name)))
    try:
        settings_ = base_settings.model_copy(update={"database_url": _with_db(base_settings.dsn, name)})
        migrate(settings_)
        with connect(settings_) as conn:
            load_bundled(conn, settings_.data_dir)
        yield settings_
    finally:
        with psycopg.connect(base_settings.dsn, autocommit=True) as admin:
            admin.execute(psql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psql.Identifier(name)))


@pytest.fixture(scope="module")
def fuzz_keys(fuzz_settings: Settings) -> dict[str, str]:
    """A gis_admin and a citizen_app key in the fuzz database."""
    keys = {"gis_admin": new_key(), "citizen_app": new_key()}
    with connect(fuzz_settings) as conn:
        for role, key in keys.items():
            conn.execute("INSERT INTO api_key (name, role, key_hash) VALUES (%s, %s, %s)",
                         (f"fuzz-{role}", role, key_hash(key)))
    return keys


@pytest.fixture(scope="module")
def fuzz_server(fuzz_settings: Settings) -> Iterator[LiveServer]:
    """The real app on a real socket, on the fuzz database."""
    with LiveServer(fuzz_settings) as server:
        yield server


def _seed(server: LiveServer, settings_: Settings, keys: dict[str, str]) -> dict[str, str]:
    """The OPD catalogue, its rules and synthetic roads, and one laporan: ids for the explicit examples."""
    async def setup():
        async with await psycopg.AsyncConnection.connect(settings_.dsn, row_factory=dict_row,
                                                         autocommit=True) as conn:
            await catalogue.setup(conn, settings_)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a browser test may hold this thread's loop
        pool.submit(asyncio.run, setup()).result()
    r = httpx.post(f"{server.url}/open311/v2/requests.json", timeout=30, data={
        "api_key": keys["citizen_app"], "service_code": "sampah_menumpuk", "lat": "-6.18994",
        "long": "106.62483", "description": "Sampah menumpuk (fuzz seed)"})
    assert r.status_code == 200, r.text
    laporan_id = r.json()[0]["service_request_id"]
    return {"cid": "kelurahan", "collection_id": "kelurahan", "tms_id": "WebMercatorQuad", "z": "12",
            "x": "3261", "y": "2118", "fid": "1", "fmt": "json", "service_code": "sampah_menumpuk",
            "service_request_id": laporan_id, "laporan_id": laporan_id, "rule_id": "1",
            "layer_id": "jalan_sintetis", "vehicle_id": "1"}


def _operations(server: LiveServer, examples: dict[str, str]) -> list:
    """Every operation of the served /openapi.json (path parameters given real ids as examples, so the
    explicit phase reaches past the 404s) except the SSE stream, which never ends."""
    raw = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
    for operations in raw["paths"].values():
        for op in operations.values():
            for param in op.get("parameters", []):
                if param["in"] == "path" and param["name"] in examples:
                    param["example"] = examples[param["name"]]
    schema = schemathesis.openapi.from_dict(raw)
    schema.config.base_url = server.url
    ops = [r.ok() for r in schema.get_all_operations()]
    return [op for op in ops if op.path != "/fleet/live/stream"]


def _fuzz(op, keys: dict[str, str], failures: list[str]) -> int:
    """Run bounded positive and negative examples of one operation; failures are collected, not raised."""
    seen = [0]
    strategy = st.one_of(op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE))

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case):
        seen[0] += 1
        if case.path.startswith("/open311/") and case.method == "POST":
            case.query = {**(case.query or {}), "api_key": keys["citizen_app"]}
        headers = {"X-API-Key": keys["gis_admin"]} if "x-api-key" not in {k.lower() for k in case.headers or {}} \
            else {}
        try:
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=60)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every failure kind is reported, with the case that caused it
            failures.append(f"{op.method.upper()} {op.path}: {type(exc).__name__}: {str(exc)[:1500]}")

    run()
    return seen[0]


def test_every_operation(fuzz_server, fuzz_settings, fuzz_keys):
    """No 5xx, and every response matches its documented status, content type and schema."""
    failures: list[str] = []
    ops = _operations(fuzz_server, _seed(fuzz_server, fuzz_settings, fuzz_keys))
    cases = sum(_fuzz(op, fuzz_keys, failures) for op in ops)
    print(f"\nfuzz: {len(ops)} operations, {cases} cases, {len(failures)} failing cases")
    assert not failures, "\n\n".join(failures[:30])
