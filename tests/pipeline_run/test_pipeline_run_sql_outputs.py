"""The postgresql and mysql outputs against the real servers on 127.0.0.1: inserts into an
existing table (columns picked from the table), upserts on keys, a bad row rejected to the
dead-letter topic while the rest of the batch is written."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pipeline_run_helpers import read_topic, wait_for

from sluice.bus import Bus
from sluice.pipeline.run import PipelineRunner

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _skip(what: str, exc: Exception) -> None:
    if os.environ.get("SLUICE_REQUIRE_SERVICES") == "1":
        raise exc
    pytest.skip(f"{what} is not reachable: {exc}")


@pytest.fixture
def pg() -> Iterator[Any]:
    import psycopg

    try:
        conn = psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        _skip("PostgreSQL on 127.0.0.1:5432", exc)
    yield conn
    conn.close()


def _events(lines: list[str]) -> str:
    items = ", ".join(f'"{line}"' for line in lines)
    return (
        f"input {{ generator {{ lines => [{items}] count => {len(lines)} }} }}\n"
        'filter { dissect { mapping => { "message" => "%{name} %{n}" } } }\n'
    )


def test_postgresql_insert_and_rejects(bus: Bus, tmp_path: Path, pg: Any) -> None:
    table = f"sluice_out_{uuid.uuid4().hex[:8]}"
    pg.execute(f"CREATE TABLE {table} (name TEXT NOT NULL, n INTEGER, extra TEXT)")
    try:
        config = _events(["a 1", "b x", "c 3"]) + (
            f'output {{ postgresql {{ url => "{PG_URL}" table => "{table}" }} }}'
        )
        with PipelineRunner("pgout", config, bus, tmp_path) as runner:
            assert wait_for(lambda: runner.status()["events_out"] == 3 and runner.lag() == 0)
        rows = pg.execute(f"SELECT name, n, extra FROM {table} ORDER BY name").fetchall()
        assert rows == [("a", 1, None), ("c", 3, None)]
        dead = read_topic(bus, "pipeline_pgout_dlq")
        assert [d["event"]["name"] for d in dead] == ["b"]
        assert "PostgreSQL refused the row" in dead[0]["reason"]
    finally:
        pg.execute(f"DROP TABLE IF EXISTS {table}")


def test_postgresql_upsert(bus: Bus, tmp_path: Path, pg: Any) -> None:
    table = f"sluice_up_{uuid.uuid4().hex[:8]}"
    pg.execute(f"CREATE TABLE {table} (name TEXT PRIMARY KEY, n TEXT)")
    pg.execute(f"INSERT INTO {table} VALUES ('a', 'old'), ('z', 'keep')")
    try:
        config = _events(["a 1", "b 2", "b 3"]) + (
            f'output {{ postgresql {{ url => "{PG_URL}" table => "public.{table}" '
            'mode => "upsert" keys => ["name"] columns => ["name", "n"] } }'
        )
        with PipelineRunner("pgup", config, bus, tmp_path) as runner:
            assert wait_for(lambda: runner.status()["events_out"] == 3 and runner.lag() == 0)
        rows = dict(pg.execute(f"SELECT name, n FROM {table}").fetchall())
        assert rows["a"] == "1" and rows["z"] == "keep" and rows["b"] in ("2", "3")
        assert read_topic(bus, "pipeline_pgup_dlq") == []
    finally:
        pg.execute(f"DROP TABLE IF EXISTS {table}")


@pytest.fixture
def my() -> Iterator[Any]:
    import pymysql

    try:
        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="",
                               database="test", autocommit=True, connect_timeout=3)  # fmt: skip
    except pymysql.MySQLError as exc:
        _skip("MariaDB on 127.0.0.1:3306", exc)
    yield conn
    conn.close()


def _my_rows(my: Any, sql: str) -> list[tuple[Any, ...]]:
    with my.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def test_mysql_insert_upsert_and_rejects(bus: Bus, tmp_path: Path, my: Any) -> None:
    table = f"sluice_out_{uuid.uuid4().hex[:8]}"
    _my_rows(my, f"CREATE TABLE {table} (name VARCHAR(20) PRIMARY KEY, n INT, note TEXT)")
    try:
        url = "mysql://root@127.0.0.1:3306/test"
        config = _events(["a 1", "b x", "c 3"]) + (
            f'output {{ mysql {{ url => "{url}" table => "{table}" }} }}'
        )
        with PipelineRunner("myout", config, bus, tmp_path / "a") as runner:
            assert wait_for(lambda: runner.status()["events_out"] == 3 and runner.lag() == 0)
        assert _my_rows(my, f"SELECT name, n, note FROM {table} ORDER BY name") == [
            ("a", 1, None), ("c", 3, None)
        ]  # fmt: skip
        dead = read_topic(bus, "pipeline_myout_dlq")
        assert [d["event"]["name"] for d in dead] == ["b"]
        assert "MySQL refused the row" in dead[0]["reason"]
        upsert = _events(["a 7", "d 4"]) + (
            f'output {{ mysql {{ url => "{url}" table => "{table}" mode => "upsert" }} }}'
        )
        with PipelineRunner("myup", upsert, bus, tmp_path / "b") as runner:
            assert wait_for(lambda: runner.status()["events_out"] == 2 and runner.lag() == 0)
        assert _my_rows(my, f"SELECT name, n FROM {table} ORDER BY name") == [
            ("a", 7), ("c", 3), ("d", 4)
        ]  # fmt: skip
    finally:
        _my_rows(my, f"DROP TABLE IF EXISTS {table}")
