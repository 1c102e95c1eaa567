"""``/v3/sluice/clusters/``: the cluster router on a tiny app over a migrated SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from starlette.responses import Response

from sluice.api.envelope import failure
from sluice.api.routes.clusters import router
from sluice.model.errors import FlowError
from sluice.plugins.clusters import ClusterRegistry
from sluice.store.clusters import ClusterStore
from sluice.store.db import Database

URL = "/v3/sluice/clusters/"


@pytest.fixture
def clusters(tmp_path: Path) -> Iterator[ClusterStore]:
    db = Database(f"sqlite:///{tmp_path / 'meta.db'}")
    db.migrate()
    yield ClusterStore(db)
    db.dispose()


@pytest.fixture
def client(clusters: ClusterStore, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("SLUICE_CLUSTER_REDIS_ENVCACHE", "redis://:envpw@127.0.0.1:6379/1")
    app = FastAPI()
    app.state.clusters = clusters
    app.include_router(router, prefix="/v3/sluice")

    @app.exception_handler(FlowError)
    async def render(request: Request, exc: FlowError) -> Response:
        return failure(exc.code, exc.message("en"), exc.errors)

    return TestClient(app)


def test_crud_masks_passwords_everywhere(client: TestClient, clusters: ClusterStore) -> None:
    body = {
        "cluster_type": "mysql",
        "cluster_name": "main",
        "dsn": "mysql://app:pw1@db:3306/x",
        "description": "main db",
        "bk_username": "admin",
    }
    created = client.post(URL, json=body).json()
    assert created["result"] is True, created
    assert created["data"]["dsn"] == "mysql://app:***@db:3306/x"
    assert created["data"]["created_by"] == "admin" and created["data"]["source"] == "store"

    listed = client.get(URL).text
    assert "pw1" not in listed and "envpw" not in listed
    names = {
        (c["cluster_type"], c["cluster_name"], c["source"]) for c in client.get(URL).json()["data"]
    }
    assert names == {("mysql", "main", "store"), ("redis", "envcache", "env")}
    assert [
        c["cluster_name"] for c in client.get(URL, params={"cluster_type": "redis"}).json()["data"]
    ] == ["envcache"]

    one = client.get(f"{URL}mysql/main/").json()["data"]
    assert one["description"] == "main db" and "pw1" not in one["dsn"]
    assert (
        client.get(f"{URL}redis/envcache/").json()["data"]["dsn"] == "redis://:***@127.0.0.1:6379/1"
    )

    changed = client.patch(f"{URL}mysql/main/", json={"dsn": "mysql://app:pw2@db2:3306/x"}).json()
    assert changed["data"]["dsn"] == "mysql://app:***@db2:3306/x"
    assert changed["data"]["description"] == "main db"
    # the runtime resolves the stored secret through the registry's lookup
    reg = ClusterRegistry(environ={}, lookup=clusters.lookup)
    assert reg.resolve("mysql", "main").password == "pw2"

    assert client.delete(f"{URL}mysql/main/").json()["data"]["deleted"] is True
    gone = client.get(f"{URL}mysql/main/").json()
    assert gone["result"] is False and gone["code"] == "1500404"


def test_bad_requests(client: TestClient) -> None:
    ok = {"cluster_type": "mysql", "cluster_name": "a", "dsn": "mysql://root@h/db"}
    assert client.post(URL, json=ok).json()["result"] is True
    dup = client.post(URL, json=ok).json()
    assert dup["code"] == "1500001" and "already exists" in dup["message"]
    wrong = client.post(URL, json={**ok, "cluster_name": "b", "dsn": "redis://u:leak@h/0"}).json()
    assert wrong["code"] == "1500001" and "leak" not in wrong["message"]
    assert "starts with mysql" in wrong["message"]
    unknown = client.post(URL, json={**ok, "cluster_type": "ignite", "dsn": "http://h"}).json()
    assert unknown["result"] is False and "Unsupported cluster type" in unknown["message"]
    extra = client.post(URL, json={**ok, "cluster_name": "c", "dns": "x"}).json()
    assert extra["code"] == "1500001" and "dns" in extra["errors"]
    bad_name = client.post(URL, json={**ok, "cluster_name": "a b"}).json()
    assert bad_name["code"] == "1500001"
    missing = client.put(f"{URL}mysql/none/", json={"description": "x"}).json()
    assert missing["code"] == "1500404"
    assert client.get(URL, params={"cluster_type": "nope"}).json()["code"] == "1500001"
