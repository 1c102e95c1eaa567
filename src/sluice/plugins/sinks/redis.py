"""``redis_storage`` / ``tredis_storage``: Redis ``kv``, ``join``, ``list`` and ``publish`` tables.

Layout (``sep`` is ``separator``, default ``:``; ``ksep`` is ``key_separator``, default ``_``):

| storage_type | Redis data |
| --- | --- |
| ``kv`` | ``SET {key_prefix}{k1}{sep}{k2}... {v1}{sep}{v2}...`` (``SET NX`` with ``setnx``) |
| ``join`` | ``SET {rt_id}{sep}{k1}{ksep}{k2}... <record as JSON>``: the table KV sources read |
| ``list`` | ``RPUSH {key_prefix}{rt_id} <record as JSON>...`` |
| ``publish`` | ``PUBLISH {rt_id} <record as JSON>`` per record |

Records are the RT's schema fields as one compact JSON object. ``expires`` days (> 0) becomes
each key's TTL (``SET ... EX``; ``EXPIRE`` on the list), so Redis enforces it and
:meth:`~RedisSink.expire` has nothing to do. A record whose key field is null is rejected.

Writes are pipelined to the extreme: a chunk of up to 20,000 records is one ``EVAL`` of a
short Lua loop (or one ``RPUSH``) whose arguments are encoded column-wise by Arrow into RESP,
so a chunk costs one round trip and one reply. Re-writing a batch after a lost connection
sets the same keys again (idempotent for ``kv``/``join``); ``list`` and ``publish`` are
at-least-once. Standalone Redis only (a chunk's keys span hash slots).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import redis

from sluice.model.nodes.storages.redis import RedisStorageConfig
from sluice.plugins.base import (
    Rejected,
    RetryableError,
    Sink,
    SinkConfigError,
    SinkError,
    WriteResult,
)
from sluice.plugins.redis_resp import (
    DEFAULT_KEY_SEPARATOR,
    DEFAULT_SEPARATOR,
    bulk,
    join_key_prefix,
    join_keys,
    open_client,
    resp_args,
    stringify,
)
from sluice.plugins.sinks._arrow import (
    byte_chunks,
    conform_batch,
    json_rows,
    require_fields,
    stored_fields,
    string_data,
)

__all__ = ["RedisSink"]

log = logging.getLogger(__name__)

_SCRIPT = b"""local mode, ttl, n, done = ARGV[1], tonumber(ARGV[2]), #KEYS, 0
for i = 1, n do
  local r
  if mode == 'publish' then r = redis.call('PUBLISH', KEYS[i], ARGV[i + 2])
  elseif mode == 'setnx' and ttl > 0 then r = redis.call('SET', KEYS[i], ARGV[i + 2], 'NX', 'EX', ttl)
  elseif mode == 'setnx' then r = redis.call('SET', KEYS[i], ARGV[i + 2], 'NX')
  elseif ttl > 0 then r = redis.call('SET', KEYS[i], ARGV[i + 2], 'EX', ttl)
  else r = redis.call('SET', KEYS[i], ARGV[i + 2]) end
  if r then done = done + 1 end
end
return done"""
_RETRYABLE = (redis.ConnectionError, redis.TimeoutError, OSError)


class RedisSink(Sink):
    """Writes a result table into Redis (see the module docstring)."""

    node_types: ClassVar[tuple[str, ...]] = ("redis_storage", "tredis_storage")
    config_model = RedisStorageConfig
    max_chunk_rows: ClassVar[int] = 20_000
    max_chunk_bytes: ClassVar[int] = 16 * 1024 * 1024

    def __init__(self, config: Any, schema: Any, connection: Any) -> None:
        super().__init__(config, schema, connection)
        cfg: RedisStorageConfig = self.config  # type: ignore[assignment]
        self.cfg = cfg
        if cfg.expires_unit not in (None, "", "d", "D"):
            raise SinkConfigError(
                f"expires_unit {cfg.expires_unit!r} is not supported; expires counts days (d)."
            )
        self.record_fields = stored_fields(self.schema)[: len(self.schema)]
        self.fields = stored_fields(self.schema)
        if cfg.storage_type in ("kv", "join") and not cfg.keys:
            raise SinkConfigError(f"A Redis {cfg.storage_type} table needs keys.")
        require_fields(self.fields, cfg.keys, "keys")
        if cfg.storage_type == "kv":
            if not cfg.values:
                raise SinkConfigError("A Redis kv table needs values (the value fields).")
            require_fields(self.fields, cfg.values, "values")
        self.separator = cfg.separator if cfg.separator is not None else DEFAULT_SEPARATOR
        self.key_separator = (
            cfg.key_separator if cfg.key_separator is not None else DEFAULT_KEY_SEPARATOR
        )
        self.ttl = cfg.expires * 86_400 if cfg.expires > 0 else 0
        self._client: redis.Redis | None = None

    def open(self) -> None:
        """Connect and check the server answers."""
        self._client = open_client(self.connection)
        try:
            self._client.ping()
        except _RETRYABLE as exc:
            raise RetryableError(
                f"Redis cluster {self.connection.name} ({self.connection.masked_dsn}) "
                f"is unreachable: {exc}"
            ) from exc

    def write(self, table: pa.Table) -> WriteResult:
        """Write the batch: keys and values built column-wise, one round trip per chunk."""
        if table.num_rows == 0:
            return WriteResult()
        data = conform_batch(table, self.fields, f"Redis table {self.rt_id}")
        cfg = self.cfg
        rejected: list[Rejected] = []
        if cfg.storage_type in ("kv", "join"):
            cols = [data.column(k) for k in cfg.keys]
            bad = pc.is_null(cols[0])
            for col in cols[1:]:
                bad = pc.or_(bad, pc.is_null(col))
            if pc.any(bad).as_py():
                idx = pc.indices_nonzero(bad).to_pylist()
                rejected = [
                    Rejected(int(i), f"a key field ({', '.join(cfg.keys)}) is null") for i in idx
                ]
                data = data.filter(pc.invert(bad))
        if data.num_rows:
            self._send(data)
        return WriteResult(written=table.num_rows - len(rejected), rejected=rejected)

    def _values(self, data: pa.Table) -> pa.Array:
        cfg = self.cfg
        if cfg.storage_type == "kv":
            parts: list[Any] = []
            for i, name in enumerate(cfg.values):
                if i:
                    parts.append(self.separator)
                parts.append(pc.fill_null(stringify(data.column(name)), ""))
            out = pc.binary_join_element_wise(*parts, "") if len(parts) > 1 else parts[0]
            return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out
        names = [n for n, _ in self.record_fields]
        return json_rows(data.select(names))

    def _keys(self, data: pa.Table) -> pa.Array:
        cfg = self.cfg
        cols = [data.column(k) for k in cfg.keys]
        if cfg.storage_type == "kv":
            return join_keys(cols, cfg.key_prefix or "", self.separator)
        return join_keys(cols, join_key_prefix(self.rt_id, cfg.separator), self.key_separator)

    def _send(self, data: pa.Table) -> None:
        cfg = self.cfg
        values = resp_args(self._values(data))
        voffs, vbuf = string_data(values)
        if cfg.storage_type == "list":
            key = (cfg.key_prefix or "") + self.rt_id
            commands = [
                (b"*%d\r\n" % (hi - lo + 2) + bulk("RPUSH", key), vbuf[voffs[lo] : voffs[hi]])
                for lo, hi in byte_chunks(voffs, self.max_chunk_bytes, self.max_chunk_rows)
            ]
            if self.ttl:
                commands.append((b"*3\r\n" + bulk("EXPIRE", key, self.ttl), b""))
            self._run([[head, body.to_pybytes() if body else b""] for head, body in commands])
            return
        if cfg.storage_type == "publish":
            keys = pa.repeat(pa.scalar(self.rt_id), data.num_rows)
            mode = "publish"
        else:
            keys = self._keys(data)
            mode = "setnx" if cfg.setnx and cfg.storage_type == "kv" else "set"
        koffs, kbuf = string_data(resp_args(keys))
        batches = []
        for lo, hi in byte_chunks(voffs, self.max_chunk_bytes, self.max_chunk_rows):
            n = hi - lo
            head = b"*%d\r\n" % (2 * n + 5) + bulk("EVAL", _SCRIPT, n)
            batches.append(
                [
                    head,
                    kbuf[koffs[lo] : koffs[hi]].to_pybytes(),
                    bulk(mode, self.ttl),
                    vbuf[voffs[lo] : voffs[hi]].to_pybytes(),
                ]
            )
        self._run(batches)

    def _run(self, commands: list[list[bytes]]) -> None:
        """Send every packed command, then read every reply (one round trip in total)."""
        if self._client is None:
            self.open()
        assert self._client is not None
        pool = self._client.connection_pool
        try:
            conn = pool.get_connection()
        except _RETRYABLE as exc:
            raise RetryableError(
                f"Redis ({self.connection.masked_dsn}) is unreachable for {self.rt_id}: {exc}"
            ) from exc
        try:
            for parts in commands:
                conn.send_packed_command(parts, check_health=False)  # type: ignore[no-untyped-call]
            errors = []
            for _ in commands:
                try:
                    conn.read_response()
                except redis.ResponseError as exc:
                    errors.append(str(exc))
        except _RETRYABLE as exc:
            conn.disconnect()  # type: ignore[no-untyped-call]
            raise RetryableError(
                f"Lost Redis ({self.connection.masked_dsn}) while writing {self.rt_id}: {exc}"
            ) from exc
        finally:
            pool.release(conn)
        if errors:
            message = errors[0]
            if message.startswith(("OOM", "BUSY", "LOADING", "MASTERDOWN", "READONLY")):
                raise RetryableError(f"Redis cannot take writes for {self.rt_id} now: {message}")
            raise SinkError(f"Redis refused writes to {self.rt_id}: {message}")

    def close(self) -> None:
        """Close the connection pool."""
        client, self._client = self._client, None
        if client is not None:
            client.close()
