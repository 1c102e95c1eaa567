"""Batched lookups in a Redis ``join`` table: the KV side of a stream-table LEFT JOIN.

A ``redis_storage`` node with ``storage_type: join`` stores each record of its RT as JSON under
``{rt_id}{separator}{k1}{key_separator}{k2}...`` (:mod:`sluice.plugins.sinks.redis`). A
``kv_source``/``unified_kv_source`` node exposes that table to a ``realtime`` node, which
runs ``... FROM stream a LEFT JOIN kv b ON a.k1 = b.k1 AND ...``. The runtime evaluates the
join as a lookup: for each micro-batch it calls :meth:`RedisKvLookup.lookup` with the stream's
key columns and gets one row of the KV table per stream row (all nulls on a miss), to join
positionally.

Per batch: keys are built column-wise, deduplicated, served from a bounded LRU cache with a
TTL where possible, and the rest fetched with **one** ``MGET`` (one round trip); the JSON
records are parsed in one pass by Arrow's JSON reader. Only hits are cached: a key written
later is seen at once if it was missing, and a changed record once its cache entry expires (``cache_ttl_s``; 0 disables caching).
A stream row whose key field is null never matches (SQL ``NULL = x`` is not true).
"""

from __future__ import annotations

import io
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import redis

from sluice.model.nodes.storages.redis import RedisStorageConfig
from sluice.plugins.base import RetryableError, SinkConfigError
from sluice.plugins.clusters import ClusterConnection
from sluice.plugins.redis_resp import (
    DEFAULT_KEY_SEPARATOR,
    bulk,
    join_key_prefix,
    join_keys,
    open_client,
    resp_args,
)
from sluice.plugins.sinks._arrow import string_data
from sluice.sql.types import BKDATA_TO_ARROW

__all__ = ["CacheStats", "JoinTable", "RedisKvLookup"]

log = logging.getLogger(__name__)

_MISS = b""


@dataclass(frozen=True)
class JoinTable:
    """Where and how a join table is stored: the writing node's layout and its RT schema."""

    rt_id: str
    keys: tuple[str, ...]
    schema: tuple[tuple[str, str], ...]
    separator: str | None = None
    key_separator: str | None = None

    @classmethod
    def from_storage(
        cls, config: RedisStorageConfig, schema: Sequence[tuple[str, str]]
    ) -> JoinTable:
        """The join table a ``redis_storage`` node with ``storage_type: join`` writes.

        Raises:
            SinkConfigError: the node is not a join table or a key is not in the schema.
        """
        if config.storage_type != "join":
            raise SinkConfigError(
                f"KV sources read Redis join tables; {config.result_table_id} is stored as "
                f"{config.storage_type!r}."
            )
        names = {n for n, _ in schema}
        missing = [k for k in config.keys if k not in names]
        if not config.keys or missing:
            raise SinkConfigError(
                f"The join keys {', '.join(missing) or '(none)'} are not fields of "
                f"{config.result_table_id}."
            )
        return cls(
            rt_id=config.result_table_id,
            keys=tuple(config.keys),
            schema=tuple((str(n), str(t).lower()) for n, t in schema),
            separator=config.separator,
            key_separator=config.key_separator,
        )

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of looked-up rows."""
        return pa.schema([(n, BKDATA_TO_ARROW[t]) for n, t in self.schema])


@dataclass
class CacheStats:
    """Counters since the lookup was created: per distinct key of each batch."""

    hits: int = 0
    misses: int = 0
    fetched: int = 0
    round_trips: int = 0
    evictions: int = 0


class RedisKvLookup:
    """Looks up stream rows in a Redis join table, with a bounded LRU + TTL cache.

    Not thread-safe: one instance per task. ``cache_size`` bounds the entries (LRU eviction),
    ``cache_ttl_s`` their age (0 turns the cache off).
    """

    def __init__(
        self,
        table: JoinTable,
        connection: ClusterConnection,
        *,
        cache_size: int = 100_000,
        cache_ttl_s: float = 60.0,
        clock: Any = time.monotonic,
    ) -> None:
        if cache_size < 0 or cache_ttl_s < 0:
            raise SinkConfigError("cache_size and cache_ttl_s must not be negative.")
        self.table = table
        self.connection = connection
        self.cache_size = cache_size
        self.cache_ttl_s = cache_ttl_s
        self.stats = CacheStats()
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._client: redis.Redis | None = None
        self._schema = table.arrow_schema()
        self._prefix = join_key_prefix(table.rt_id, table.separator)
        self._ksep = (
            table.key_separator if table.key_separator is not None else DEFAULT_KEY_SEPARATOR
        )

    def open(self) -> None:
        """Connect; raises :class:`RetryableError` when Redis is unreachable."""
        self._client = open_client(self.connection)
        try:
            self._client.ping()
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            raise RetryableError(
                f"Redis cluster {self.connection.name} ({self.connection.masked_dsn}) "
                f"is unreachable: {exc}"
            ) from exc

    def close(self) -> None:
        """Close the connection pool; the cache is kept."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def __len__(self) -> int:
        return len(self._cache)

    def lookup(self, keys: pa.Table | Mapping[str, pa.Array] | Sequence[pa.Array]) -> pa.Table:
        """The stored record for each row's key (nulls on a miss), one row per input row.

        ``keys`` holds the stream's key columns in the join table's key order: a table or
        mapping by the join table's key names, or a list of arrays. Values are compared as
        text, so a stream ``long`` 7 matches a stored ``string`` "7".

        Raises:
            RetryableError: Redis is unreachable; retry the batch.
            SinkConfigError: the wrong number of key columns.
        """
        cols = self._columns(keys)
        n = len(cols[0]) if cols else 0
        if n == 0:
            return self._schema.empty_table()
        full = join_keys(cols, self._prefix, self._ksep)
        uniq = pc.unique(full.filter(pc.is_valid(full)))
        values = self._values(uniq.to_pylist())
        found = [i for i, v in enumerate(values) if v]
        rows = self._parse([values[i] for i in found])
        # position of each distinct key among the found rows, then of each input row
        slot: list[int | None] = [None] * len(values)
        for j, i in enumerate(found):
            slot[i] = j
        per_key = pa.array(slot, pa.int64())
        idx = pc.take(per_key, pc.index_in(full, value_set=uniq))
        return rows.take(idx)

    def _columns(
        self, keys: pa.Table | Mapping[str, pa.Array] | Sequence[pa.Array]
    ) -> list[pa.Array | pa.ChunkedArray]:
        if isinstance(keys, pa.Table):
            cols = [keys.column(k) for k in self.table.keys]
        elif isinstance(keys, Mapping):
            cols = [keys[k] for k in self.table.keys]
        else:
            cols = list(keys)
        if len(cols) != len(self.table.keys):
            raise SinkConfigError(
                f"The join on {self.table.rt_id} needs {len(self.table.keys)} key columns "
                f"({', '.join(self.table.keys)}), got {len(cols)}."
            )
        return cols

    def _values(self, keys: list[str]) -> list[bytes]:
        """The stored JSON of each key (``b""`` for a miss), from the cache or one MGET."""
        now = self._clock()
        out: list[bytes] = [_MISS] * len(keys)
        todo: list[int] = []
        use_cache = self.cache_ttl_s > 0 and self.cache_size > 0
        for i, key in enumerate(keys):
            hit = self._cache.get(key) if use_cache else None
            if hit is not None and now - hit[0] < self.cache_ttl_s:
                self._cache.move_to_end(key)
                out[i] = hit[1]
                self.stats.hits += 1
            else:
                todo.append(i)
        self.stats.misses += len(todo)
        if todo:
            fetched = self._mget([keys[i] for i in todo])
            self.stats.fetched += len(todo)
            for i, value in zip(todo, fetched, strict=True):
                out[i] = value
                # Only hits are cached: a key missing now may be written at any moment
                # (often by the same flow's join storage), and must be seen when it is.
                if use_cache and value != _MISS:
                    self._cache[keys[i]] = (now, value)
                    self._cache.move_to_end(keys[i])
            while use_cache and len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
                self.stats.evictions += 1
        return out

    def _mget(self, keys: list[str]) -> list[bytes]:
        if self._client is None:
            self.open()
        assert self._client is not None
        offs, buf = string_data(resp_args(pa.array(keys, pa.string())))
        command = [
            b"*%d\r\n" % (len(keys) + 1) + bulk("MGET"),
            buf[offs[0] : offs[-1]].to_pybytes(),
        ]
        pool = self._client.connection_pool
        try:
            conn = pool.get_connection()
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            raise RetryableError(
                f"Redis ({self.connection.masked_dsn}) is unreachable for lookups in "
                f"{self.table.rt_id}: {exc}"
            ) from exc
        try:
            conn.send_packed_command(command, check_health=False)  # type: ignore[no-untyped-call]
            reply = conn.read_response()
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            conn.disconnect()  # type: ignore[no-untyped-call]
            raise RetryableError(
                f"Lost Redis ({self.connection.masked_dsn}) while looking up "
                f"{self.table.rt_id}: {exc}"
            ) from exc
        finally:
            pool.release(conn)
        self.stats.round_trips += 1
        return [v if isinstance(v, bytes) else _MISS for v in reply]

    def _parse(self, values: list[bytes]) -> pa.Table:
        if not values:
            return self._schema.empty_table()
        options = pajson.ParseOptions(
            explicit_schema=self._schema, unexpected_field_behavior="ignore"
        )
        try:
            table = pajson.read_json(io.BytesIO(b"\n".join(values)), parse_options=options)
            if table.num_rows == len(values):
                return table.select(self._schema.names).cast(self._schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
        return self._parse_slowly(values)

    def _parse_slowly(self, values: list[bytes]) -> pa.Table:
        """Record by record, for a batch with a value Arrow cannot read: bad ones are misses."""
        rows: list[dict[str, Any] | None] = []
        for value in values:
            try:
                record = orjson.loads(value)
            except orjson.JSONDecodeError:
                record = None
            if not isinstance(record, dict):
                log.warning(
                    "A value in Redis join table %s is not a JSON object; treated as a miss.",
                    self.table.rt_id,
                )
                record = None
            rows.append(record)
        arrays = []
        for field in self._schema:
            column = [r.get(field.name) if r else None for r in rows]
            try:
                arrays.append(pa.array(column, field.type, from_pandas=False))
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                arrays.append(pa.array([None] * len(rows), field.type))
        return pa.Table.from_arrays(arrays, schema=self._schema)
