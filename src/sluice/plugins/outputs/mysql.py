"""The ``mysql`` output (JDBC-style, like Logstash's jdbc output): events written as rows of
an existing MySQL/MariaDB table.

``url`` is ``mysql://user:password@host:port/db``; ``table`` a table of that database.
``open`` connects (``STRICT_ALL_TABLES``, so bad values are errors, not silent truncation)
and reads the table's columns (a missing table is a config error). Each batch goes to the
columns of :func:`sluice.plugins.outputs._rows.typed_columns`, encoded column-wise into
literal tuples by the ``mysql`` sink's encoder
(:func:`sluice.plugins.sinks.mysql.mysql_literals`), as multi-row ``INSERT`` statements of
``batch_size`` rows in one transaction; ``mode => upsert`` adds ``ON DUPLICATE KEY UPDATE``
(the table's unique keys decide). Rows the server refuses for their data are isolated by
halving (each statement is atomic) and rejected to the dead-letter topic with the server's
message; a lost connection fails the batch (the runtime retries it).
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pymysql
from pymysql import err as myerr

from sluice.pipeline.errors import ConfigError
from sluice.plugins.outputs._rows import typed_columns
from sluice.plugins.outputs.base import Output, Rejected
from sluice.plugins.sinks._bisect import write_bisect
from sluice.plugins.sinks.mysql import mysql_literals, quote_ident

__all__ = ["MysqlOutput"]

_LOST = frozenset({1205, 1213, 2002, 2003, 2006, 2013, 2014, 2055})  # not about the rows


class MysqlOutput(Output):
    """One connection; one transaction per batch."""

    conn: Any = None

    def open(self) -> None:
        s = self.settings
        url = urlsplit(s.url)
        if url.scheme not in ("mysql", "mariadb") or not url.path.strip("/"):
            raise ConfigError(f"mysql output: url {s.url!r} is not mysql://user@host:port/db")
        if s.batch_size <= 0:
            raise ConfigError("mysql output: batch_size must be positive")
        self.params = {
            "host": url.hostname or "127.0.0.1", "port": url.port or 3306,
            "user": unquote(url.username or "root"), "password": unquote(url.password or ""),
            "database": url.path.strip("/"),
        }  # fmt: skip
        self._connect()

    def _connect(self) -> None:
        s = self.settings
        try:
            self.conn = pymysql.connect(
                **self.params, charset="utf8mb4", autocommit=False, connect_timeout=5,
                init_command="SET SESSION sql_mode='STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
            )  # fmt: skip
            with self.conn.cursor() as cur:
                cur.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = %s"
                    " AND table_name = %s ORDER BY ordinal_position",
                    (self.params["database"], s.table),
                )
                self.table_columns = [r[0] for r in cur.fetchall()]
        except (myerr.MySQLError, OSError) as exc:
            raise ConfigError(f"mysql output cannot connect: {exc}") from None
        if not self.table_columns:
            raise ConfigError(f"mysql output: table {s.table} does not exist")
        unknown = sorted(set(s.columns) - set(self.table_columns))
        if unknown:
            raise ConfigError(f"mysql output: table {s.table} has no column {unknown[0]!r}")

    def write(self, table: pa.Table) -> Rejected:
        if table.num_rows == 0:
            return []
        s = self.settings
        if self.conn is None:
            self._connect()
        data, fields = typed_columns(table, list(s.columns), self.table_columns)
        if not fields:
            return [(i, f"no event field is a column of {s.table}") for i in range(len(table))]
        tuples = [t[:-1] for t in mysql_literals(data, fields).to_pylist()]  # no trailing ","
        cols = ",".join(quote_ident(n) for n, _ in fields)
        prefix = f"INSERT INTO {quote_ident(s.table)} ({cols}) VALUES "
        suffix = ""
        if s.mode == "upsert":
            sets = ",".join(f"{quote_ident(n)}=VALUES({quote_ident(n)})" for n, _ in fields)
            suffix = f" ON DUPLICATE KEY UPDATE {sets}"

        def attempt(lo: int, hi: int) -> None:
            with self.conn.cursor() as cur:
                for start in range(lo, hi, s.batch_size):
                    rows = ",".join(tuples[start : min(hi, start + s.batch_size)])
                    cur.execute(prefix + rows + suffix)

        try:
            rejected = []
            for start in range(0, len(tuples), s.batch_size):
                stop = min(len(tuples), start + s.batch_size)
                rejected.extend(write_bisect(start, stop, attempt, _row_error))
            self.conn.commit()
        except (myerr.MySQLError, OSError):
            self.close()
            raise
        return [(r.index, f"MySQL refused the row: {r.reason}") for r in rejected]

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None


def _row_error(exc: Exception) -> str | None:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
    if code in _LOST or not isinstance(exc, myerr.MySQLError):
        return None
    if isinstance(
        exc, myerr.DataError | myerr.IntegrityError | myerr.OperationalError | myerr.InternalError
    ):
        return f"error {code}: {exc.args[1] if len(exc.args) > 1 else exc}"
    return None
