"""Fuzz every documented endpoint with schemathesis: no 5xx, every answer in the envelope.

The fuzzed app runs on a SQLite store of its own (the PostgreSQL paths are covered by the
other API tests, which run on both backends).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from sluice.api.app import create_app
from sluice.bus import MemoryBus
from sluice.runtime.manager import FlowManager
from sluice.runtime.schema import infer_sql_schema
from sluice.store.db import Database
from sluice.store.service import FlowStore

_DIR = Path(tempfile.mkdtemp(prefix="sluice-fuzz-"))
_DB = Database(f"sqlite:///{_DIR / 'fuzz.db'}")
_DB.migrate()
_BUS = MemoryBus()
_BUS.open()
APP = create_app(FlowStore(_DB, inferrer=infer_sql_schema), FlowManager(_DB), bus=_BUS)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_always_the_envelope(case: Any) -> None:
    response = case.call()
    assert response.status_code < 500, response.text
    assert response.status_code in (200, 404), response.text
    body = response.json()
    assert set(body) == {"result", "code", "message", "data", "errors"}, body
    assert isinstance(body["result"], bool) and len(body["code"]) == 7
    assert "Traceback" not in response.text
