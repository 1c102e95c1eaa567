"""API fixtures: the app over SQLite (always) and PostgreSQL (when reachable; required in CI)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from servicecheck import require_service
from sluice.api.app import create_app
from sluice.runtime.engine import LocalEngine
from sluice.runtime.manager import FlowManager
from sluice.runtime.schema import infer_sql_schema
from sluice.store.db import Database
from sluice.store.service import FlowStore

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"sluice_test_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    Database(url).migrate()
    yield url
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _reset_pg(db: Database) -> None:
    tables = [
        "dataflow_link_info",
        "dataflow_node_relation",
        "sluice_result_table_field",
        "dataflow_node_info",
        "dataflow_info",
        "dataflow_execute_log",
        "dataflow_version_log",
        "sluice_result_table",
    ]
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The metadata store, once per backend."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'sluice.db'}")
        db.migrate()
    else:
        db = Database(request.getfixturevalue("pg_url"))
        _reset_pg(db)
    yield db
    db.dispose()


@pytest.fixture
def engine() -> LocalEngine:
    """The engine the manager deploys with; tests register runners on it."""
    return LocalEngine()


@pytest.fixture
def manager(database: Database, engine: LocalEngine) -> Iterator[FlowManager]:
    """The flow manager over the test store."""
    flow_manager = FlowManager(database, engine)
    yield flow_manager
    flow_manager.close()


@pytest.fixture
def client(database: Database, manager: FlowManager) -> TestClient:
    """An HTTP client of the app (in-process ASGI)."""
    return TestClient(
        create_app(FlowStore(database, inferrer=infer_sql_schema), manager),
        raise_server_exceptions=False,
    )


class Api:
    """Small helper over the client: calls the flow API and returns the envelope."""

    def __init__(
        self, client: TestClient | httpx.Client, prefix: str = "/v3/dataflow/flow"
    ) -> None:
        self.client = client
        self.prefix = prefix

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        lang: str | None = None,
        params: Any = None,
    ) -> dict[str, Any]:
        headers = {"Blueking-Language": lang} if lang else {}
        url = path if path.startswith("/v3/sluice") else f"{self.prefix}/{path}"
        response = self.client.request(method, url, json=body, headers=headers, params=params)
        assert response.status_code in (200, 404), response.text
        data: dict[str, Any] = response.json()
        assert set(data) == {"result", "code", "message", "data", "errors"}, data
        return data

    def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        data = self.call(method, path, body, **kwargs)
        assert data["result"] is True and data["code"] == "1500200", data
        return data["data"]

    def fail(
        self, method: str, path: str, body: Any = None, *, code: str, **kwargs: Any
    ) -> dict[str, Any]:
        data = self.call(method, path, body, **kwargs)
        assert data["result"] is False and data["code"] == code, data
        assert data["data"] is None
        return data

    def make_table(self, bk_biz_id: int, table_name: str, fields: list[tuple[str, str]]) -> str:
        body = {
            "bk_biz_id": bk_biz_id,
            "table_name": table_name,
            "fields": [{"field_name": n, "field_type": t} for n, t in fields],
        }
        return str(self.ok("POST", "/v3/sluice/result_tables/", body)["result_table_id"])


@pytest.fixture
def api(client: TestClient) -> Api:
    """The API helper over the in-process client."""
    return Api(client)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["sqlite", "postgresql"])
def live_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A real ``sluice server`` process on a free loopback port; yields its base URL."""
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "sluice.cli.main",
        "server",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path / "data"),
    ]
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
        _reset_pg(Database(url))
        cmd += ["--database-url", url]
    log_path = tmp_path / "server.log"
    log_file = log_path.open("wb")
    proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/v3/dataflow/flow/healthz/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            proc.kill()
            raise RuntimeError(
                f"sluice server did not start: {proc.stdout.read() if proc.stdout else ''!r}"
            )
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log_file.close()
        print(log_path.read_text(errors="replace")[-20000:])  # shown by pytest when the test failed
