"""Fixtures for the SQL layer tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqltest_helpers import LOG_SCHEMA, Rows, run_query


@pytest.fixture
def logs() -> Rows:
    """Five log records with nulls, unicode and JSON text."""
    return [
        {
            "log": "ERROR disk full",
            "ip": "10.0.0.1",
            "serverIp": "1.1.1.1",
            "level": "ERROR",
            "n": 5,
            "ratio": 0.5,
            "dtEventTimeStamp": 1_700_000_000_000,
        },
        {
            "log": "info ok",
            "ip": "10.0.0.2",
            "serverIp": "1.1.1.1",
            "level": "INFO",
            "n": 1,
            "ratio": 1.5,
            "dtEventTimeStamp": 1_700_000_001_000,
        },
        {
            "log": None,
            "ip": None,
            "serverIp": "1.1.1.2",
            "level": "WARN",
            "n": None,
            "ratio": None,
            "dtEventTimeStamp": 1_700_000_002_000,
        },
        {
            "log": "警告: 磁盘 error",
            "ip": "10.0.0.3",
            "serverIp": "1.1.1.2",
            "level": "WARN",
            "n": 3,
            "ratio": 2.0,
            "dtEventTimeStamp": 1_700_000_003_000,
        },
        {
            "log": '{"a": {"b": "deep"}, "k": 7}',
            "ip": "10.0.0.4",
            "serverIp": "1.1.1.3",
            "level": "DEBUG",
            "n": 10,
            "ratio": -1.0,
            "dtEventTimeStamp": 1_700_000_004_000,
        },
    ]


@pytest.fixture
def run(logs: Rows) -> Callable[[str], Rows]:
    """Run ``sql`` over the ``logs`` rows as input RT ``591_logs``."""

    def _run(sql: str) -> Rows:
        return run_query(sql, {"591_logs": (LOG_SCHEMA, logs)})[1]

    return _run
