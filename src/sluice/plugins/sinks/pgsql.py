"""``pgsql_storage``: a PostgreSQL table per result table, written with ``COPY``.

- **Table**: named after the RT id in the DSN's database (``?schema=name`` picks a schema,
  default ``public``), created on :meth:`~PgsqlSink.open` from the RT schema plus the system
  fields; a field the table lacks is added (``ADD COLUMN IF NOT EXISTS``) on open.
- **Types**: int ``INTEGER``, long/timestamp ``BIGINT``, float ``REAL``, double
  ``DOUBLE PRECISION``, boolean ``BOOLEAN``, string/text ``TEXT``.
- **Indexes**: one per ``indexed_fields`` entry, a unique index on ``storage_keys`` when
  ``has_unique_key`` (writes become ``INSERT ... ON CONFLICT DO UPDATE`` from a temporary
  table filled by ``COPY``; the last row of a key in a batch wins), and one on
  ``dtEventTimeStamp`` when ``expires > 0``.
- **Writes**: the batch is encoded column-wise by Arrow kernels into COPY's text format and
  streamed with ``COPY ... FROM STDIN`` in slices of 10,000 rows (a writer thread sends one
  slice while the next is encoded; up to 100,000 rows per ``COPY``), one transaction per
  batch. A ``COPY`` refused for bad data (e.g. a NUL character in text) is retried by halves
  inside savepoints until the bad rows are isolated and rejected with the server's message.
- **Expiry**: :meth:`~PgsqlSink.expire` deletes rows whose ``dtEventTimeStamp`` is older than
  ``expires`` days (``expires_unit`` other than ``d`` is refused), 10,000 rows a statement.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, ClassVar

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from sluice.model.nodes.storages.pgsql import PgsqlStorageConfig
from sluice.plugins.base import (
    Rejected,
    RetryableError,
    Sink,
    SinkConfigError,
    SinkError,
    WriteResult,
)
from sluice.plugins.sinks._arrow import (
    conform_batch,
    dedupe_last,
    escape,
    require_fields,
    stored_fields,
    string_data,
)
from sluice.plugins.sinks._bisect import index_name, write_bisect

__all__ = ["PgsqlSink", "pg_text_rows"]

log = logging.getLogger(__name__)

_TYPES = {
    "int": "INTEGER",
    "long": "BIGINT",
    "timestamp": "BIGINT",
    "float": "REAL",
    "double": "DOUBLE PRECISION",
    "boolean": "BOOLEAN",
    "string": "TEXT",
    "text": "TEXT",
}
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
_EXPIRE_CHUNK = 10_000


def pg_text_rows(table: pa.Table, fields: list[tuple[str, str]]) -> pa.Array:
    """Each row as one line of ``COPY``'s text format (tab-separated, ``\\N`` for null),
    built column-wise."""
    parts: list[Any] = []
    for i, (name, ftype) in enumerate(fields):
        col = table.column(name)
        if ftype in ("string", "text"):
            lit = escape(col, _ESCAPES)
        elif ftype == "boolean":
            lit = pc.if_else(col, "t", "f")
        else:
            lit = col.cast(pa.string())
        parts.append(pc.fill_null(lit, "\\N"))
        parts.append("\t" if i < len(fields) - 1 else "\n")
    out = pc.binary_join_element_wise(*parts, "")
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


class PgsqlSink(Sink):
    """Writes a result table into a PostgreSQL table (see the module docstring)."""

    node_types: ClassVar[tuple[str, ...]] = ("pgsql_storage",)
    config_model = PgsqlStorageConfig
    max_copy_rows: ClassVar[int] = 100_000
    copy_slice_rows: ClassVar[int] = 10_000

    def __init__(self, config: Any, schema: Any, connection: Any) -> None:
        super().__init__(config, schema, connection)
        cfg: PgsqlStorageConfig = self.config  # type: ignore[assignment]
        self.cfg = cfg
        if cfg.expires_unit not in (None, "", "d", "D"):
            raise SinkConfigError(
                f"expires_unit {cfg.expires_unit!r} is not supported; expires counts days (d)."
            )
        self.fields = stored_fields(self.schema)
        require_fields(self.fields, cfg.indexed_fields, "indexed fields")
        self.keys: list[str] = list(cfg.storage_keys) if cfg.has_unique_key else []
        if cfg.has_unique_key and not self.keys:
            raise SinkConfigError("has_unique_key needs storage_keys naming the key fields.")
        require_fields(self.fields, self.keys, "storage keys")
        self.table = self.rt_id
        self.schema_name = str(connection.params.get("schema") or "public")
        self._target = sql.Identifier(self.schema_name, self.table)
        self._temp = sql.Identifier("sluice_stage")
        self._cols = sql.SQL(",").join(sql.Identifier(n) for n, _ in self.fields)
        self._conn: psycopg.Connection[Any] | None = None
        self._staged = False

    # -- connection -------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        c = self.connection
        try:
            self._conn = psycopg.connect(
                host=c.host,
                port=c.port or 5432,
                user=c.user or "postgres",
                password=c.password,
                dbname=c.database or "postgres",
                connect_timeout=5,
                application_name="sluice",
                autocommit=True,
            )
        except psycopg.Error as exc:
            raise RetryableError(
                f"PostgreSQL cluster {c.name} ({c.masked_dsn}) is unreachable: {exc}"
            ) from exc
        self._staged = False
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # the socket may already be gone
                conn.close()

    def _fail(self, exc: Exception, doing: str) -> SinkError:
        self._drop()
        if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError, OSError)):
            return RetryableError(f"Lost PostgreSQL table {self.table} while {doing}: {exc}")
        return SinkError(f"PostgreSQL refused {doing} on table {self.table}: {exc}")

    # -- life cycle -------------------------------------------------------------------------

    def open(self) -> None:
        """Connect, create the table if needed and add missing columns and indexes."""
        conn = self._connect()
        try:
            with conn.transaction():
                cols = sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(_TYPES[t]))
                    for n, t in self.fields
                )
                conn.execute(
                    sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(self._target, cols)
                )
                for name, ftype in self.fields:
                    conn.execute(
                        sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                            self._target, sql.Identifier(name), sql.SQL(_TYPES[ftype])
                        )
                    )
                for name, unique, fields in self._indexes():
                    conn.execute(
                        sql.SQL("CREATE {} INDEX IF NOT EXISTS {} ON {} ({})").format(
                            sql.SQL("UNIQUE" if unique else ""),
                            sql.Identifier(name),
                            self._target,
                            sql.SQL(",").join(sql.Identifier(f) for f in fields),
                        )
                    )
        except psycopg.Error as exc:
            raise self._fail(exc, "creating or evolving it") from exc

    def _indexes(self) -> list[tuple[str, bool, list[str]]]:
        out: list[tuple[str, bool, list[str]]] = []
        if self.keys:
            out.append((index_name("uk", self.keys, self.table), True, self.keys))
        for name in dict.fromkeys(self.cfg.indexed_fields):
            out.append((index_name("ix", [name], self.table), False, [name]))
        if self.cfg.expires > 0 and "dtEventTimeStamp" not in self.cfg.indexed_fields:
            out.append(
                (index_name("ix", ["dtEventTimeStamp"], self.table), False, ["dtEventTimeStamp"])
            )
        return out

    def write(self, table: pa.Table) -> WriteResult:
        """Copy (or upsert) the batch in one transaction; bad rows are rejected."""
        if table.num_rows == 0:
            return WriteResult()
        data = conform_batch(table, self.fields, f"table {self.table}")
        kept = None
        if self.keys:
            data, kept = dedupe_last(data, self.keys)
        conn = self._connect()
        target = self._temp if self.keys else self._target
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(target, self._cols)

        def attempt(lo: int, hi: int) -> None:
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy(copy_sql, writer=QueuedLibpqWriter(cur)) as copy:
                    # slices are encoded while the server parses the previous one
                    for start in range(lo, hi, self.copy_slice_rows):
                        part = data.slice(start, min(self.copy_slice_rows, hi - start))
                        offsets, buf = string_data(pg_text_rows(part, self.fields))
                        copy.write(buf[offsets[0] : offsets[-1]])
                if self.keys:
                    cur.execute(self._merge_sql())
                    cur.execute(sql.SQL("TRUNCATE {}").format(self._temp))

        try:
            rejected: list[Rejected] = []
            with conn.transaction():
                if self.keys:
                    self._stage(conn)
                for lo in range(0, data.num_rows, self.max_copy_rows):
                    hi = min(lo + self.max_copy_rows, data.num_rows)
                    rejected.extend(write_bisect(lo, hi, attempt, _row_error))
        except psycopg.Error as exc:
            raise self._fail(exc, "writing a batch") from exc
        if kept is not None:
            rejected = [Rejected(int(kept[r.index].as_py()), r.reason) for r in rejected]
        if rejected:
            log.warning(
                "PostgreSQL table %s refused %d of %d rows; the first reason: %s",
                self.table,
                len(rejected),
                table.num_rows,
                rejected[0].reason,
            )
        return WriteResult(written=table.num_rows - len(rejected), rejected=rejected)

    def _stage(self, conn: psycopg.Connection[Any]) -> None:
        if self._staged:
            return
        conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS) "
                "ON COMMIT DELETE ROWS"
            ).format(self._temp, self._target)
        )
        self._staged = True

    def _merge_sql(self) -> sql.Composed:
        others = [n for n, _ in self.fields if n not in self.keys]
        keys = sql.SQL(",").join(sql.Identifier(k) for k in self.keys)
        if others:
            sets = sql.SQL(",").join(
                sql.SQL("{0}=EXCLUDED.{0}").format(sql.Identifier(n)) for n in others
            )
            action: sql.Composable = sql.SQL("DO UPDATE SET {}").format(sets)
        else:
            action = sql.SQL("DO NOTHING")
        return sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) {}").format(
            self._target, self._cols, self._cols, self._temp, keys, action
        )

    def expire(self, now_ms: int) -> int:
        """Delete rows older than ``expires`` days; returns how many."""
        cutoff = self.cutoff_ms(now_ms)
        if cutoff is None:
            return 0
        conn = self._connect()
        stmt = sql.SQL(
            "DELETE FROM {t} WHERE ctid IN (SELECT ctid FROM {t} WHERE {c} < %s LIMIT {n})"
        ).format(t=self._target, c=sql.Identifier("dtEventTimeStamp"), n=sql.Literal(_EXPIRE_CHUNK))
        total = 0
        try:
            while True:
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute(stmt, (cutoff,))
                    deleted = cur.rowcount
                total += deleted
                if deleted < _EXPIRE_CHUNK:
                    break
        except psycopg.Error as exc:
            raise self._fail(exc, "deleting expired rows") from exc
        if total:
            log.info("Deleted %d expired rows from PostgreSQL table %s.", total, self.table)
        return total

    def close(self) -> None:
        """Close the connection."""
        self._drop()


def _row_error(exc: Exception) -> str | None:
    if isinstance(exc, (psycopg.errors.DataError, psycopg.errors.IntegrityError)):
        diag = exc.diag
        return f"PostgreSQL error {exc.sqlstate}: {diag.message_primary or exc}"
    return None
