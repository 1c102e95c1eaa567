"""The web page is served, and every API path it calls exists in the OpenAPI document."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from sluice.api.app import create_app
from sluice.bus import MemoryBus
from sluice.runtime.manager import FlowManager
from sluice.store.db import Database
from sluice.store.service import FlowStore
from sluice.web import STATIC_DIR


def _client() -> TestClient:
    db = Database("sqlite://")
    db.migrate()
    bus = MemoryBus()
    bus.open()
    return TestClient(create_app(FlowStore(db), FlowManager(db), bus=bus))


def test_page_is_served_at_root_and_ui() -> None:
    client = _client()
    root = client.get("/", follow_redirects=False)
    assert root.status_code in (302, 307) and root.headers["location"] == "/ui/"
    page = client.get("/ui/")
    assert page.status_code == 200 and "<title>Sluice</title>" in page.text
    assert client.get("/ui/sluice.js").status_code == 200
    assert client.get("/ui/sluice.css").status_code == 200


def test_every_api_path_the_page_calls_exists() -> None:
    templates = {
        re.sub(r"\{[^}]+\}", "{}", p) for p in _client().get("/openapi.json").json()["paths"]
    }
    script = (
        (STATIC_DIR / "sluice.js")
        .read_text(encoding="utf-8")
        .replace("${API}", "/v3/dataflow/flow")
    )
    called: set[str] = set()
    for literal in re.findall(r"`(/v3/[^`]*)`", script):
        variants = [
            literal.replace("${button.dataset.action}", a) for a in ("start", "stop", "restart")
        ]
        called |= {re.sub(r"\$\{[^}]+\}", "{}", v).split("?")[0] for v in variants}
    assert len(called) >= 6, called
    missing = sorted(path for path in called if path not in templates)
    assert not missing, f"the page calls paths the API does not serve: {missing}"
