"""The ``postgresql`` output (JDBC-style, like Logstash's jdbc output): events written as
rows of an existing table.

``url`` is a libpq URI (``postgresql://user:password@host:port/db``); ``table`` may be
``schema.table``. ``open`` connects and reads the table's columns (a missing table is a
config error). Each batch goes to the columns of :func:`sluice.plugins.outputs._rows.
typed_columns` in one transaction: encoded column-wise into ``COPY``'s text format by the
``pgsql`` sink's encoder (:func:`sluice.plugins.sinks.pgsql.pg_text_rows`) and streamed
with ``COPY ... FROM STDIN`` (``batch_size`` rows per ``COPY``). ``mode => upsert`` copies
into a temporary table first and runs ``INSERT ... ON CONFLICT (keys) DO UPDATE`` (``keys``
must name a unique index). Rows PostgreSQL refuses for their data (a bad number, a
constraint) are isolated by halving inside savepoints and rejected to the dead-letter topic
with the server's message; a lost connection fails the batch (the runtime retries it).
"""

from __future__ import annotations

import contextlib
from typing import Any

import psycopg
import pyarrow as pa
from psycopg import sql
from psycopg.errors import CardinalityViolation

from sluice.pipeline.errors import ConfigError
from sluice.plugins.outputs._rows import typed_columns
from sluice.plugins.outputs.base import Output, Rejected
from sluice.plugins.sinks._bisect import write_bisect
from sluice.plugins.sinks.pgsql import pg_text_rows

__all__ = ["PostgresqlOutput"]


class PostgresqlOutput(Output):
    """One connection; one transaction per batch."""

    conn: Any = None

    def open(self) -> None:
        s = self.settings
        if s.mode == "upsert" and not s.keys:
            raise ConfigError("postgresql output: mode => upsert needs keys")
        if s.batch_size <= 0:
            raise ConfigError("postgresql output: batch_size must be positive")
        schema, _, name = s.table.rpartition(".")
        self.target = sql.Identifier(schema or "public", name)
        self.schema_name, self.table_name = schema or "public", name
        self._connect()

    def _connect(self) -> None:
        s = self.settings
        try:
            self.conn = psycopg.connect(s.url, autocommit=True, connect_timeout=5)
        except psycopg.Error as exc:
            raise ConfigError(f"postgresql output cannot connect: {exc}") from None
        rows = self.conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = %s ORDER BY ordinal_position",
            (self.schema_name, self.table_name),
        ).fetchall()
        if not rows:
            raise ConfigError(f"postgresql output: table {s.table} does not exist")
        self.table_columns = [r[0] for r in rows]
        unknown = sorted(set(s.columns) - set(self.table_columns))
        if unknown:
            raise ConfigError(f"postgresql output: table {s.table} has no column {unknown[0]!r}")

    def write(self, table: pa.Table) -> Rejected:
        if table.num_rows == 0:
            return []
        s = self.settings
        if self.conn is None or self.conn.closed:
            self._connect()
        data, fields = typed_columns(table, list(s.columns), self.table_columns)
        if not fields:
            return [(i, f"no event field is a column of {s.table}") for i in range(len(table))]
        lines = pg_text_rows(data, fields).to_pylist()
        cols = sql.SQL(",").join(sql.Identifier(n) for n, _ in fields)
        upsert = s.mode == "upsert"
        dest = sql.Identifier("sluice_upsert") if upsert else self.target
        copy = sql.SQL("COPY {} ({}) FROM STDIN").format(dest, cols)

        def attempt(lo: int, hi: int) -> None:
            with self.conn.transaction():  # a savepoint inside the batch's transaction
                if upsert:
                    self.conn.execute(sql.SQL("TRUNCATE sluice_upsert"))
                with self.conn.cursor().copy(copy) as cp:
                    for start in range(lo, hi, s.batch_size):
                        cp.write("".join(lines[start : min(hi, start + s.batch_size)]))
                if upsert:
                    self.conn.execute(self._merge(fields))

        try:
            with self.conn.transaction():
                if upsert:
                    self.conn.execute(sql.SQL(
                        "CREATE TEMP TABLE IF NOT EXISTS sluice_upsert "
                        "(LIKE {} INCLUDING DEFAULTS) ON COMMIT PRESERVE ROWS"
                    ).format(self.target))  # fmt: skip
                rejected = write_bisect(0, len(lines), attempt, _row_error)
        except (psycopg.OperationalError, psycopg.InterfaceError):
            self.close()
            raise
        return [(r.index, f"PostgreSQL refused the row: {r.reason}") for r in rejected]

    def _merge(self, fields: list[tuple[str, str]]) -> sql.Composed:
        cols = sql.SQL(",").join(sql.Identifier(n) for n, _ in fields)
        keys = sql.SQL(",").join(sql.Identifier(k) for k in self.settings.keys)
        rest = [n for n, _ in fields if n not in self.settings.keys]
        sets = sql.SQL(",").join(
            sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(n), sql.Identifier(n)) for n in rest
        )
        action = sql.SQL("DO UPDATE SET {}").format(sets) if rest else sql.SQL("DO NOTHING")
        return sql.SQL(
            "INSERT INTO {} ({}) SELECT {} FROM sluice_upsert ON CONFLICT ({}) {}"
        ).format(self.target, cols, cols, keys, action)

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None


def _row_error(exc: Exception) -> str | None:
    # CardinalityViolation: one key twice in a range; halving writes them one after the other
    if isinstance(exc, psycopg.DataError | psycopg.IntegrityError | CardinalityViolation):
        return str(exc).splitlines()[0]
    return None
