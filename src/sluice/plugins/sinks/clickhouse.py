"""``clickhouse_storage``: a ClickHouse MergeTree table written through the HTTP interface.

- **Table**: ``{database}.{rt_id}`` (database from the DSN path, default ``default``), created
  on :meth:`~ClickhouseSink.open` as ``MergeTree`` partitioned by the day of
  ``dtEventTimeStamp`` (``toYYYYMMDD``) and ordered by ``order_by`` (default
  ``dtEventTimeStamp``). With ``has_unique_key`` + ``primary_keys`` it is a
  ``ReplacingMergeTree`` ordered by the keys: rows with the same key are deduplicated when
  parts merge (query with ``FINAL`` for exact results). Missing columns are added on open.
- **Types**: int ``Int32``, long/timestamp ``Int64``, float ``Float32``, double ``Float64``,
  boolean ``UInt8``, string/text ``String``; ``Nullable`` except the sorting columns and
  ``dtEventTimeStamp``, which ClickHouse needs non-null: rows with nulls there are rejected.
- **Writes**: ``INSERT ... FORMAT JSONEachRow`` with the rows encoded column-wise by DuckDB,
  up to 16 MiB per request; an insert refused for bad data is halved until the bad rows are
  found and rejected with ClickHouse's message.
- **Expiry**: :meth:`~ClickhouseSink.expire` drops the daily partitions older than ``expires``
  days (ClickHouse 18.16, the Debian package, has no ``TTL`` clause).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
import pyarrow as pa
import pyarrow.compute as pc

from sluice.model.nodes.storages.clickhouse import ClickhouseStorageConfig
from sluice.plugins.base import (
    Rejected,
    RetryableError,
    Sink,
    SinkConfigError,
    SinkError,
    WriteResult,
)
from sluice.plugins.sinks._arrow import (
    byte_chunks,
    conform_batch,
    json_rows,
    require_fields,
    stored_fields,
    string_data,
)
from sluice.plugins.sinks._bisect import write_bisect

__all__ = ["ClickhouseError", "ClickhouseSink"]

log = logging.getLogger(__name__)

_TYPES = {
    "int": "Int32",
    "long": "Int64",
    "timestamp": "Int64",
    "float": "Float32",
    "double": "Float64",
    "boolean": "UInt8",
    "string": "String",
    "text": "String",
}
# ClickHouse error codes about the inserted data (CANNOT_PARSE_*, TYPE_MISMATCH, ...)
_ROW_CODES = frozenset({6, 26, 27, 32, 38, 41, 53, 69, 70, 72, 117, 131, 349})
_RETRY_CODES = frozenset({159, 209, 210, 242, 252, 319, 425})
_CODE = re.compile(r"Code:\s*(\d+)")


class ClickhouseError(SinkError):
    """ClickHouse answered an error; ``code`` is its numeric error code (0 if none)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _quote(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


class ClickhouseSink(Sink):
    """Writes a result table into ClickHouse (see the module docstring)."""

    node_types: ClassVar[tuple[str, ...]] = ("clickhouse_storage",)
    config_model = ClickhouseStorageConfig
    max_request_bytes: ClassVar[int] = 16 * 1024 * 1024
    max_request_rows: ClassVar[int] = 200_000

    def __init__(self, config: Any, schema: Any, connection: Any) -> None:
        super().__init__(config, schema, connection)
        cfg: ClickhouseStorageConfig = self.config  # type: ignore[assignment]
        self.cfg = cfg
        self.fields = stored_fields(self.schema)
        if cfg.has_unique_key and not cfg.primary_keys:
            raise SinkConfigError("has_unique_key needs primary_keys naming the key fields.")
        self.sorting = list(
            cfg.primary_keys if cfg.has_unique_key else (cfg.order_by or ["dtEventTimeStamp"])
        )
        require_fields(self.fields, self.sorting, "sorting fields")
        require_fields(self.fields, cfg.primary_keys, "primary keys")
        self.required = list(dict.fromkeys([*self.sorting, "dtEventTimeStamp"]))
        self.database = connection.database or "default"
        self.table = f"{_quote(self.database)}.{_quote(self.rt_id)}"
        self._http: httpx.Client | None = None

    # -- HTTP -------------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        if self._http is None:
            c = self.connection
            auth = (c.user, c.password or "") if c.user else None
            self._http = httpx.Client(base_url=c.http_base(), auth=auth, timeout=120.0)
        return self._http

    def query(self, sql: str, body: bytes | None = None) -> str:
        """Run one statement (with ``body`` as its data); returns the response text.

        Raises:
            RetryableError: ClickHouse is unreachable or temporarily refuses.
            ClickhouseError: ClickHouse refused the statement.
        """
        try:
            resp = self._client().post("/", params={"query": sql}, content=body or b"")
        except httpx.TransportError as exc:
            self.close()
            raise RetryableError(
                f"ClickHouse at {self.connection.masked_dsn} is unreachable: {exc}"
            ) from exc
        if resp.status_code == 200:
            return resp.text
        match = _CODE.search(resp.text)
        code = int(match.group(1)) if match else 0
        message = resp.text.strip().splitlines()[0] if resp.text.strip() else str(resp.status_code)
        if code in _RETRY_CODES or resp.status_code in (502, 503, 504):
            raise RetryableError(f"ClickHouse cannot take writes to {self.rt_id} now: {message}")
        raise ClickhouseError(f"ClickHouse error {code}: {message}", code)

    # -- life cycle -------------------------------------------------------------------------

    def _type(self, name: str, ftype: str) -> str:
        base = _TYPES[ftype]
        return base if name in self.required else f"Nullable({base})"

    def open(self) -> None:
        """Create the table if needed and add missing columns."""
        cols = ", ".join(f"{_quote(n)} {self._type(n, t)}" for n, t in self.fields)
        engine = "ReplacingMergeTree()" if self.cfg.has_unique_key else "MergeTree()"
        order = ", ".join(_quote(n) for n in self.sorting)
        try:
            self.query(
                f"CREATE TABLE IF NOT EXISTS {self.table} ({cols}) ENGINE = {engine} "
                f"PARTITION BY toYYYYMMDD(toDateTime(intDiv({_quote('dtEventTimeStamp')}, 1000)))"
                f" ORDER BY ({order})"
            )
            have = set(
                self.query(
                    "SELECT name FROM system.columns WHERE database = "
                    f"'{_lit(self.database)}' AND table = '{_lit(self.rt_id)}' FORMAT TSV"
                ).split("\n")
            )
            for name, ftype in self.fields:
                if name not in have:
                    log.info("Adding column %s to ClickHouse table %s.", name, self.rt_id)
                    self.query(
                        f"ALTER TABLE {self.table} ADD COLUMN {_quote(name)} "
                        f"{self._type(name, ftype)}"
                    )
        except ClickhouseError as exc:
            raise SinkError(f"ClickHouse refused table {self.rt_id}: {exc}") from exc

    def write(self, table: pa.Table) -> WriteResult:
        """Insert the batch; rows with nulls in sorting columns or bad data are rejected."""
        if table.num_rows == 0:
            return WriteResult()
        data = conform_batch(table, self.fields, f"table {self.rt_id}")
        index = pa.array(range(table.num_rows), pa.int64())
        rejected: list[Rejected] = []
        bad = pa.repeat(pa.scalar(False), data.num_rows)
        for name in self.required:
            mask = pc.is_null(data.column(name))
            if pc.any(mask).as_py():
                seen = {r.index for r in rejected}
                rejected.extend(
                    Rejected(int(i), f"the sorting field {name} is null")
                    for i in pc.indices_nonzero(mask).to_pylist()
                    if int(i) not in seen
                )
                bad = pc.or_(bad, mask)
        if rejected:
            keep = pc.invert(bad)
            data, index = data.filter(keep), index.filter(keep)
        bools = [n for n, t in self.fields if t == "boolean"]
        if bools:
            for name in bools:
                pos = data.schema.get_field_index(name)
                data = data.set_column(pos, name, data.column(name).cast(pa.uint8()))
        offsets, buf = string_data(pc.binary_join_element_wise(json_rows(data), "\n", ""))
        sql = f"INSERT INTO {self.table} FORMAT JSONEachRow"

        def attempt(lo: int, hi: int) -> None:
            self.query(sql, buf[offsets[lo] : offsets[hi]].to_pybytes())

        def row_error(exc: Exception) -> str | None:
            if isinstance(exc, ClickhouseError) and exc.code in _ROW_CODES:
                return str(exc)
            return None

        try:
            for lo, hi in byte_chunks(offsets, self.max_request_bytes, self.max_request_rows):
                for r in write_bisect(lo, hi, attempt, row_error):
                    rejected.append(Rejected(int(index[r.index].as_py()), r.reason))
        except ClickhouseError as exc:
            raise SinkError(f"ClickHouse refused a batch for {self.rt_id}: {exc}") from exc
        rejected.sort(key=lambda r: r.index)
        return WriteResult(written=table.num_rows - len(rejected), rejected=rejected)

    def expire(self, now_ms: int) -> int:
        """Drop the daily partitions older than ``expires`` days; returns how many."""
        cutoff = self.cutoff_ms(now_ms)
        if cutoff is None:
            return 0
        oldest = int(datetime.fromtimestamp(cutoff / 1000, UTC).strftime("%Y%m%d"))
        text = self.query(
            "SELECT DISTINCT partition FROM system.parts WHERE active AND database = "
            f"'{_lit(self.database)}' AND table = '{_lit(self.rt_id)}' FORMAT TSV"
        )
        old = sorted({int(p) for p in text.split() if p.isdigit() and int(p) < oldest})
        for part in old:
            self.query(f"ALTER TABLE {self.table} DROP PARTITION {part}")
            log.info("Dropped expired partition %s of ClickHouse table %s.", part, self.rt_id)
        return len(old)

    def close(self) -> None:
        """Close the HTTP client."""
        client, self._http = self._http, None
        if client is not None:
            client.close()


def _lit(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")
