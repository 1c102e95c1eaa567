"""Versioned binary container for window state: a JSON header plus named Arrow IPC tables.

Layout (all integers little-endian)::

    b"SLWS" | u16 format version | u32 header length | header JSON (UTF-8)
    then per table: u16 name length | name | u64 IPC length | Arrow IPC stream (zstd)

The header carries the scalar state (watermarks, counters, a fingerprint of the operator's
configuration); the tables carry the partial aggregates. Decoding checks the magic, the
version and every length, and raises :class:`SnapshotError` with the reason otherwise.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import pyarrow as pa

__all__ = ["FORMAT_VERSION", "SnapshotError", "decode", "encode"]

MAGIC = b"SLWS"
FORMAT_VERSION = 1
_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd")


class SnapshotError(ValueError):
    """A window snapshot is corrupt, from another format version or another operator."""


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=_OPTIONS) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def encode(header: dict[str, Any], tables: dict[str, pa.Table | None]) -> bytes:
    """Serialise ``header`` and the non-empty ``tables`` into one snapshot blob."""
    head = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    out = [MAGIC, struct.pack("<HI", FORMAT_VERSION, len(head)), head]
    for name, table in tables.items():
        if table is None or table.num_rows == 0:
            continue
        raw = name.encode()
        body = _ipc(table)
        out += [struct.pack("<H", len(raw)), raw, struct.pack("<Q", len(body)), body]
    return b"".join(out)


def decode(blob: bytes) -> tuple[dict[str, Any], dict[str, pa.Table]]:
    """Inverse of :func:`encode`.

    Raises:
        SnapshotError: bad magic, unsupported version, truncated or malformed content.
    """
    view = memoryview(blob)
    if len(view) < 10 or bytes(view[:4]) != MAGIC:
        raise SnapshotError("window snapshot does not start with the SLWS magic bytes")
    version, head_len = struct.unpack_from("<HI", view, 4)
    if version != FORMAT_VERSION:
        raise SnapshotError(
            f"window snapshot has format version {version}; this engine reads {FORMAT_VERSION}"
        )
    pos = 10 + head_len
    if pos > len(view):
        raise SnapshotError("window snapshot is truncated inside its header")
    try:
        header: dict[str, Any] = json.loads(bytes(view[10:pos]))
    except ValueError as exc:
        raise SnapshotError(f"window snapshot header is not valid JSON: {exc}") from exc
    tables: dict[str, pa.Table] = {}
    while pos < len(view):
        if pos + 2 > len(view):
            raise SnapshotError("window snapshot is truncated before a table name")
        (name_len,) = struct.unpack_from("<H", view, pos)
        name = bytes(view[pos + 2 : pos + 2 + name_len]).decode()
        pos += 2 + name_len
        if pos + 8 > len(view):
            raise SnapshotError(f"window snapshot is truncated before table {name!r}")
        (body_len,) = struct.unpack_from("<Q", view, pos)
        pos += 8
        if pos + body_len > len(view):
            raise SnapshotError(f"window snapshot is truncated inside table {name!r}")
        try:
            reader = pa.ipc.open_stream(pa.py_buffer(view[pos : pos + body_len]))
            tables[name] = reader.read_all()
        except pa.ArrowInvalid as exc:
            raise SnapshotError(f"window snapshot table {name!r} is not Arrow IPC: {exc}") from exc
        pos += body_len
    return header, tables
