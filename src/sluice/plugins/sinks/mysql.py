"""``mysql_storage`` / ``tspider_storage``: a MariaDB/MySQL table per result table.

- **Table**: named after the RT id (e.g. ``591_clean``) in the cluster DSN's database, created
  on :meth:`~MysqlSink.open` from the RT schema plus the system fields (``dtEventTime``,
  ``dtEventTimeStamp``, ``localTime``, ``thedate``); ``utf8mb4``, InnoDB. A field the table
  lacks is added (``ALTER TABLE ... ADD COLUMN``) on open; columns are never dropped.
- **Types**: int ``INT``, long/timestamp ``BIGINT``, float ``FLOAT``, double ``DOUBLE``,
  boolean ``TINYINT(1)``, string ``TEXT`` (``VARCHAR(255)`` when indexed or a key), text
  ``MEDIUMTEXT`` (``VARCHAR(255)`` when indexed or a key).
- **Indexes**: one per ``indexed_fields`` entry; ``has_unique_key`` + ``storage_keys`` make a
  unique key and writes ``INSERT ... ON DUPLICATE KEY UPDATE`` (the last row of a key in a
  batch wins); ``expires > 0`` adds an index on ``dtEventTimeStamp``.
- **Writes**: multi-row ``INSERT`` statements of up to 4 MiB whose SQL literals are built by
  Arrow compute kernels over whole columns, sent as bytes, one transaction per batch. A
  statement refused for bad data is halved until the bad rows are found; they are rejected
  with the server's message and the rest is written. The session runs in strict mode, so a
  value that does not fit is refused, never truncated.
- **Expiry**: :meth:`~MysqlSink.expire` deletes rows whose ``dtEventTimeStamp`` is older
  than ``expires`` days, 10,000 rows per statement.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pymysql
import pymysql.err as myerr

from sluice.model.nodes.storages.mysql import MysqlStorageConfig
from sluice.plugins.base import RetryableError, Sink, SinkConfigError, SinkError, WriteResult
from sluice.plugins.sinks._arrow import (
    byte_chunks,
    conform_batch,
    dedupe_last,
    escape,
    require_fields,
    stored_fields,
    string_data,
)
from sluice.plugins.sinks._bisect import index_name, write_bisect

__all__ = ["MysqlSink", "mysql_literals", "quote_ident"]

log = logging.getLogger(__name__)

_TYPES = {
    "int": "INT",
    "long": "BIGINT",
    "timestamp": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "boolean": "TINYINT(1)",
    "string": "TEXT",
    "text": "MEDIUMTEXT",
}
_RETRY_CODES = frozenset({1040, 1053, 1205, 1213, 1927, 2002, 2003, 2006, 2013, 2014, 2055})
_ROW_CODES = frozenset({1048, 1062, 1264, 1265, 1292, 1300, 1366, 1406, 1452, 3140, 4025})
_ESCAPES = (("\\", "\\\\"), ("'", "\\'"), ("\x00", "\\0"), ("\n", "\\n"), ("\r", "\\r"))
_EXPIRE_CHUNK = 10_000


def quote_ident(name: str) -> str:
    """A back-quoted MySQL identifier."""
    return "`" + name.replace("`", "``") + "`"


def mysql_literals(table: pa.Table, fields: list[tuple[str, str]]) -> pa.Array:
    """Each row as ``(v1,v2,...),`` in MySQL literal syntax, built column-wise."""
    parts: list[Any] = ["("]
    for i, (name, ftype) in enumerate(fields):
        col = table.column(name)
        if ftype in ("string", "text"):
            lit = pc.binary_join_element_wise("'", escape(col, _ESCAPES), "'", "")
        elif ftype == "boolean":
            lit = pc.if_else(col, "1", "0")
        else:
            lit = col.cast(pa.string())
        parts.append(pc.fill_null(lit, "NULL"))
        parts.append("," if i < len(fields) - 1 else "),")
    result: pa.Array | pa.ChunkedArray = pc.binary_join_element_wise(*parts, "")
    if isinstance(result, pa.ChunkedArray):
        return result.combine_chunks()
    return result


class MysqlSink(Sink):
    """Writes a result table into a MariaDB/MySQL table (see the module docstring)."""

    node_types: ClassVar[tuple[str, ...]] = ("mysql_storage", "tspider_storage")
    config_model = MysqlStorageConfig
    max_statement_bytes: ClassVar[int] = 4 * 1024 * 1024
    max_statement_rows: ClassVar[int] = 50_000

    def __init__(self, config: Any, schema: Any, connection: Any) -> None:
        super().__init__(config, schema, connection)
        cfg: MysqlStorageConfig = self.config  # type: ignore[assignment]
        self.cfg = cfg
        self.fields = stored_fields(self.schema)
        require_fields(self.fields, cfg.indexed_fields, "indexed fields")
        self.keys: list[str] = list(cfg.storage_keys) if cfg.has_unique_key else []
        if cfg.has_unique_key and not self.keys:
            raise SinkConfigError("has_unique_key needs storage_keys naming the key fields.")
        require_fields(self.fields, self.keys, "storage keys")
        self.table = self.rt_id
        self._conn: pymysql.connections.Connection[Any] | None = None
        cols = ",".join(quote_ident(n) for n, _ in self.fields)
        self._prefix = f"INSERT INTO {quote_ident(self.table)} ({cols}) VALUES ".encode()
        self._suffix = b""
        if self.keys:
            others = [n for n, _ in self.fields if n not in self.keys] or self.keys[:1]
            sets = ",".join(f"{quote_ident(n)}=VALUES({quote_ident(n)})" for n in others)
            self._suffix = f" ON DUPLICATE KEY UPDATE {sets}".encode()

    # -- connection -------------------------------------------------------------------------

    def _connect(self) -> pymysql.connections.Connection[Any]:
        if self._conn is not None:
            return self._conn
        c = self.connection
        try:
            self._conn = pymysql.connect(
                host=c.host,
                port=c.port or 3306,
                user=c.user or "root",
                password=c.password or "",
                database=c.database,
                charset="utf8mb4",
                autocommit=False,
                connect_timeout=5,
                read_timeout=120,
                write_timeout=120,
                init_command="SET SESSION sql_mode='STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
            )
        except (myerr.MySQLError, OSError) as exc:
            raise RetryableError(
                f"MySQL cluster {c.name} ({c.masked_dsn}) is unreachable: {exc}"
            ) from exc
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # the socket may already be gone
                conn.close()

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, (myerr.InterfaceError, OSError, ConnectionError)):
            return True
        if isinstance(exc, myerr.InternalError) and _code(exc) not in _ROW_CODES:
            return True
        return isinstance(exc, myerr.MySQLError) and _code(exc) in _RETRY_CODES

    def _fail(self, exc: Exception, doing: str) -> SinkError:
        self._drop()
        if self._retryable(exc):
            return RetryableError(f"Lost MySQL table {self.table} while {doing}: {exc}")
        return SinkError(f"MySQL refused {doing} on table {self.table}: {exc}")

    # -- life cycle -------------------------------------------------------------------------

    def open(self) -> None:
        """Connect, create the table if needed and add missing columns and indexes."""
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute(self._create_sql())
                cur.execute(
                    "SELECT COLUMN_NAME FROM information_schema.COLUMNS "
                    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
                    (self.table,),
                )
                have = {str(r[0]) for r in cur.fetchall()}
                for name, ftype in self.fields:
                    if name not in have:
                        log.info("Adding column %s to MySQL table %s.", name, self.table)
                        cur.execute(
                            f"ALTER TABLE {quote_ident(self.table)} ADD COLUMN "
                            f"{quote_ident(name)} {self._type(name, ftype)} NULL"
                        )
                cur.execute(
                    "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS "
                    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
                    (self.table,),
                )
                indexes = {str(r[0]) for r in cur.fetchall()}
                for name, unique, cols in self._indexes():
                    if name not in indexes:
                        kind = "UNIQUE INDEX" if unique else "INDEX"
                        cur.execute(
                            f"ALTER TABLE {quote_ident(self.table)} ADD {kind} "
                            f"{quote_ident(name)} ({','.join(quote_ident(c) for c in cols)})"
                        )
            conn.commit()
        except (myerr.MySQLError, OSError) as exc:
            raise self._fail(exc, "creating or evolving it") from exc

    def _type(self, name: str, ftype: str) -> str:
        keyed = name in self.keys or name in self.cfg.indexed_fields
        if ftype in ("string", "text") and keyed:
            return "VARCHAR(255)"
        return _TYPES[ftype]

    def _indexes(self) -> list[tuple[str, bool, list[str]]]:
        out: list[tuple[str, bool, list[str]]] = []
        if self.keys:
            out.append((index_name("uk", self.keys), True, self.keys))
        for name in dict.fromkeys(self.cfg.indexed_fields):
            out.append((index_name("ix", [name]), False, [name]))
        if self.cfg.expires > 0 and "dtEventTimeStamp" not in self.cfg.indexed_fields:
            out.append((index_name("ix", ["dtEventTimeStamp"]), False, ["dtEventTimeStamp"]))
        return out

    def _create_sql(self) -> str:
        cols = [f"{quote_ident(n)} {self._type(n, t)} NULL" for n, t in self.fields]
        for name, unique, fields in self._indexes():
            kind = "UNIQUE KEY" if unique else "KEY"
            cols.append(f"{kind} {quote_ident(name)} ({','.join(quote_ident(c) for c in fields)})")
        return (
            f"CREATE TABLE IF NOT EXISTS {quote_ident(self.table)} ({', '.join(cols)}) "
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        )

    def write(self, table: pa.Table) -> WriteResult:
        """Insert (or upsert) the batch in one transaction; bad rows are rejected."""
        if table.num_rows == 0:
            return WriteResult()
        data = conform_batch(table, self.fields, f"table {self.table}")
        kept = None
        if self.keys:
            data, kept = dedupe_last(data, self.keys)
        offsets, buf = string_data(mysql_literals(data, self.fields))
        conn = self._connect()

        def attempt(lo: int, hi: int) -> None:
            body = buf[offsets[lo] : offsets[hi] - 1].to_pybytes()
            conn.query(self._prefix + body + self._suffix)

        try:
            rejected = []
            for lo, hi in byte_chunks(offsets, self.max_statement_bytes, self.max_statement_rows):
                rejected.extend(write_bisect(lo, hi, attempt, self._row_error))
            conn.commit()
        except (myerr.MySQLError, OSError) as exc:
            raise self._fail(exc, "writing a batch") from exc
        if kept is not None:
            rejected = [type(r)(int(kept[r.index].as_py()), r.reason) for r in rejected]
        if rejected:
            log.warning(
                "MySQL table %s refused %d of %d rows; the first reason: %s",
                self.table,
                len(rejected),
                table.num_rows,
                rejected[0].reason,
            )
        return WriteResult(written=table.num_rows - len(rejected), rejected=rejected)

    def _row_error(self, exc: Exception) -> str | None:
        if self._retryable(exc):
            return None
        if isinstance(exc, (myerr.DataError, myerr.IntegrityError)) or _code(exc) in _ROW_CODES:
            return f"MySQL error {_code(exc)}: {exc.args[1] if len(exc.args) > 1 else exc}"
        return None

    def expire(self, now_ms: int) -> int:
        """Delete rows older than ``expires`` days; returns how many."""
        cutoff = self.cutoff_ms(now_ms)
        if cutoff is None:
            return 0
        conn = self._connect()
        total = 0
        sql = (
            f"DELETE FROM {quote_ident(self.table)} WHERE {quote_ident('dtEventTimeStamp')} < %s "
            f"LIMIT {_EXPIRE_CHUNK}"
        )
        try:
            while True:
                with conn.cursor() as cur:
                    deleted = int(cur.execute(sql, (cutoff,)))
                conn.commit()
                total += deleted
                if deleted < _EXPIRE_CHUNK:
                    break
        except (myerr.MySQLError, OSError) as exc:
            raise self._fail(exc, "deleting expired rows") from exc
        if total:
            log.info("Deleted %d expired rows from MySQL table %s.", total, self.table)
        return total

    def close(self) -> None:
        """Close the connection."""
        self._drop()


def _code(exc: BaseException) -> int:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else 0
