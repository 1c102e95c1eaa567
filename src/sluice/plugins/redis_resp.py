"""Redis helpers shared by the Redis sink and the KV lookup: clients, join keys and RESP
commands packed column-wise.

Big commands (thousands of keys) are encoded by Arrow kernels over whole columns into the
Redis protocol (RESP) and sent through a redis-py connection with ``send_packed_command``;
redis-py reads the reply. No Python runs per key on the write path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import redis

from sluice.plugins.clusters import ClusterConnection

__all__ = [
    "bulk",
    "join_key_prefix",
    "join_keys",
    "open_client",
    "resp_args",
    "stringify",
]

DEFAULT_SEPARATOR = ":"
DEFAULT_KEY_SEPARATOR = "_"


def open_client(connection: ClusterConnection) -> redis.Redis:
    """A redis-py client for a ``redis``/``tredis`` cluster (no I/O until first use)."""
    db = int(connection.database) if connection.database and connection.database.isdigit() else 0
    return redis.Redis(
        host=connection.host,
        port=connection.port or 6379,
        db=db,
        username=connection.user or None,
        password=connection.password,
        ssl=connection.scheme == "rediss",
        socket_connect_timeout=5,
        socket_timeout=60,
        health_check_interval=0,
    )


def stringify(col: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A column as strings (booleans as ``true``/``false``, numbers as Arrow prints them)."""
    if pa.types.is_string(col.type):
        return col
    if pa.types.is_boolean(col.type):
        return pc.if_else(col, "true", "false")
    return col.cast(pa.string())


def join_key_prefix(rt_id: str, separator: str | None) -> str:
    """The part of every join key before the key fields: ``{rt_id}{separator}``."""
    return rt_id + (separator if separator is not None else DEFAULT_SEPARATOR)


def join_keys(
    columns: Sequence[pa.Array | pa.ChunkedArray], prefix: str, key_separator: str
) -> pa.Array:
    """``prefix + k1 + key_separator + k2 ...`` per row; null where any key field is null."""
    parts: list[Any] = [prefix]
    for i, col in enumerate(columns):
        if i:
            parts.append(key_separator)
        parts.append(stringify(col))
    out = pc.binary_join_element_wise(*parts, "")
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def bulk(*args: str | bytes | int) -> bytes:
    """RESP bulk strings for a few scalar arguments."""
    out = bytearray()
    for arg in args:
        raw = arg if isinstance(arg, bytes) else str(arg).encode()
        out += b"$%d\r\n%s\r\n" % (len(raw), raw)
    return bytes(out)


def resp_args(values: pa.Array) -> pa.Array:
    """Each value as one RESP bulk string ``$<bytes>\\r\\n<value>\\r\\n`` (a large_string array
    whose data buffer is the ready-to-send concatenation). ``values`` holds no nulls."""
    lengths = pc.binary_length(values).cast(pa.string())
    out = pc.binary_join_element_wise("$", lengths, "\r\n", values, "\r\n", "")
    if isinstance(out, pa.ChunkedArray):
        out = out.combine_chunks()
    return out.cast(pa.large_string())
