"""User SQL cannot reach files, the network, extensions or settings: both layers are tested."""

from __future__ import annotations

import duckdb
import pytest

from sluice.model.errors import NodeValidError
from sluice.sql import SandboxSettings, compile_realtime_sql, open_connection

INPUTS = {"591_a": [("log", "string")]}


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("select * from read_csv('/etc/passwd')", "table function `read_csv` is not allowed"),
        ("select * from read_parquet('/tmp/x.parquet')", "table function `read_parquet`"),
        ("select * from glob('/etc/*')", "table function `glob` is not allowed"),
        ("select * from duckdb_settings()", "table function `duckdb_settings`"),
        ("select * from read_text('/etc/hostname')", "table function `read_text`"),
        ("select * from 591_a, query('select 1')", "table function `query`"),
        ("COPY (select 1) TO '/tmp/x.csv'", "only a SELECT statement is allowed, not COPY"),
        ("ATTACH '/tmp/x.db' AS x", "only a SELECT statement is allowed, not ATTACH"),
        ("INSTALL httpfs", "only a SELECT statement is allowed, not INSTALL"),
        ("LOAD httpfs", "only a SELECT statement is allowed, not LOAD"),
        ("PRAGMA database_list", "only a SELECT statement is allowed, not PRAGMA"),
        ("SET enable_external_access = true", "only a SELECT statement is allowed, not SET"),
        ("CREATE TABLE t AS SELECT 1", "only a SELECT statement is allowed, not CREATE"),
        ("DROP TABLE t", "only a SELECT statement is allowed, not DROP"),
        ("INSERT INTO t VALUES (1)", "only a SELECT statement is allowed, not INSERT"),
        ("select log from 591_a; drop table x", "only one SELECT statement is allowed"),
        ("select log into t2 from 591_a", "INTO is not allowed in realtime SQL"),
        ("select getenv('HOME') as h from 591_a", "unknown function `getenv`"),
        ("select * from '/etc/passwd'", "unknown result table `/etc/passwd`"),
        ('select * from "/etc/passwd"', "unknown result table `/etc/passwd`"),
        ("select * from 591_a a join 591_a.secret b on true", "qualified table names"),
        ("select current_setting('threads') as h from 591_a", "unknown function"),
        ("select read_blob('/etc/passwd') as h from 591_a", "unknown function `read_blob`"),
    ],
)
def test_user_sql_escapes_are_refused_at_compile_time(sql: str, fragment: str) -> None:
    with pytest.raises(NodeValidError) as caught:
        compile_realtime_sql(sql, INPUTS)
    assert fragment in caught.value.message("en")
    assert caught.value.code == "1500001"


@pytest.mark.parametrize(
    "statement",
    [
        "select * from read_csv('/etc/passwd')",
        "select * from glob('/etc/*')",
        "COPY (select 1) TO '/tmp/sluice-sandbox-test.csv'",
        "ATTACH '/tmp/sluice-sandbox-test.db' AS x",
        "INSTALL httpfs",
        "LOAD httpfs",
    ],
)
def test_engine_level_refuses_external_access(statement: str) -> None:
    con = open_connection()
    with pytest.raises(duckdb.Error, match=r"(?i)disabled|permission"):
        con.sql(statement)


def test_engine_configuration_is_locked() -> None:
    con = open_connection(SandboxSettings(memory_limit="256MB", threads=1))
    with pytest.raises(duckdb.Error, match="locked"):
        con.sql("SET enable_external_access = true")
    assert con.sql("select current_setting('threads')").fetchall() == [(1,)]


def test_sandbox_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="threads"):
        SandboxSettings(threads=0)
    with pytest.raises(ValueError, match="extra"):
        SandboxSettings(memory="1GB")  # type: ignore[call-arg]
