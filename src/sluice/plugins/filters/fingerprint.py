"""The ``fingerprint`` filter: a hash of source fields in ``target``.

Logstash reference behaviour: ``method`` SHA1, SHA256, SHA384, SHA512, MD5 (an HMAC when
``key`` is set; hex, or base64 with ``base64encode``), MURMUR3 (32-bit, seed 0, an
integer), UUID (random), PUNCTUATION (the punctuation of the value). Without
``concatenate_sources`` each source field present is hashed in turn into ``target`` (the
last one wins); with it, one hash of ``|field|value|field|value|`` over the sorted
sources (an absent field is an empty value). Events with no source present are left alone.

Hashing runs per value (hashlib/hmac in C); the values are taken from Arrow as one list.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline.batch import string_view
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.executor import Kernel
from sluice.pipeline.fields import get, parse_ref, set_where
from sluice.pipeline.settings.common import PluginSettings
from sluice.plugins.filters._util import all_false, all_true, as_mask
from sluice.plugins.filters.uuid_filter import random_uuids

__all__ = ["fingerprint_kernel", "murmur3_32"]

_HASHES = {"SHA1": "sha1", "SHA256": "sha256", "SHA384": "sha384", "SHA512": "sha512", "MD5": "md5"}


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit, as an unsigned integer."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed & mask
    n = len(data)
    end = n - n % 4
    for i in range(0, end, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    k = 0
    tail = data[end:]
    if len(tail) == 3:
        k ^= tail[2] << 16
    if len(tail) >= 2:
        k ^= tail[1] << 8
    if tail:
        k ^= tail[0]
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h


def _texts(arr: pa.Array) -> list[str | None]:
    """Values as Ruby ``to_s`` would print them (objects and arrays as JSON)."""
    if pa.types.is_struct(arr.type) or pa.types.is_list(arr.type):
        return [None if v is None else orjson.dumps(v).decode() for v in arr.to_pylist()]
    view = string_view(pa.table({"v": arr}), ("v",))
    assert view is not None
    out: list[str | None] = view.to_pylist()
    return out


def _hasher(cfg: Any) -> Callable[[str], str | int]:
    method = str(cfg.method)
    key = cfg.key.encode() if cfg.key is not None else None
    b64 = bool(cfg.base64encode)
    if method in _HASHES:
        name = _HASHES[method]

        def digest(text: str) -> str | int:
            raw = (
                hmac.new(key, text.encode(), name).digest()
                if key is not None
                else hashlib.new(name, text.encode()).digest()
            )
            return base64.b64encode(raw).decode() if b64 else raw.hex()

        return digest
    if method == "MURMUR3":
        return lambda text: murmur3_32(text.encode())
    if method == "PUNCTUATION":
        return lambda text: "".join(c for c in text if not c.isalnum() and not c.isspace())
    raise ConfigError(
        f"fingerprint method {method} is not supported",
        expected=[*_HASHES, "MURMUR3", "PUNCTUATION", "UUID"],
    )


def fingerprint_kernel(settings: PluginSettings) -> Kernel:
    """Build the fingerprint kernel; rows with no source present are not matched."""
    cfg: Any = settings
    target = parse_ref(cfg.target)
    sources = [parse_ref(s) for s in cfg.source]
    names = list(cfg.source)
    if cfg.concatenate_all_fields:
        raise ConfigError("fingerprint concatenate_all_fields is not supported")
    if cfg.method == "UUID":

        def uuid_kernel(table: pa.Table) -> tuple[pa.Table, pa.Array | None]:
            n = table.num_rows
            return set_where(table, target, random_uuids(n)), all_false(n)

        return uuid_kernel
    fn = _hasher(cfg)
    out_type = pa.int64() if cfg.method == "MURMUR3" else pa.string()

    def kernel(table: pa.Table) -> tuple[pa.Table, pa.Array | None]:
        n = table.num_rows
        columns = {name: get(table, path) for name, path in zip(names, sources, strict=True)}
        if cfg.concatenate_sources:
            texts = {k: _texts(v) if v is not None else [None] * n for k, v in columns.items()}
            keys = sorted(texts)
            joined = ["".join(f"|{k}|{texts[k][i] or ''}" for k in keys) + "|" for i in range(n)]
            values = pa.array([fn(t) for t in joined], out_type)
            return set_where(table, target, values), all_false(n)
        matched = all_false(n)
        for arr in columns.values():
            if arr is None:
                continue
            values = pa.array([None if t is None else fn(t) for t in _texts(arr)], out_type)
            table = set_where(table, target, values)
            matched = pc.or_(matched, as_mask(arr.is_valid()))
        return table, pc.invert(matched) if len(columns) else all_true(n)

    return kernel
