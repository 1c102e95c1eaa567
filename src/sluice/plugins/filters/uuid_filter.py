"""The ``uuid`` filter: a random (version 4) UUID in ``target``.

Logstash reference behaviour: the field gets a new UUID unless it already has a value and
``overwrite`` is false. Every event is "matched".
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline.executor import Kernel
from sluice.pipeline.fields import get, parse_ref, set_where
from sluice.pipeline.settings.common import PluginSettings
from sluice.plugins.filters._util import all_false

__all__ = ["random_uuids", "uuid_kernel"]


def random_uuids(n: int) -> pa.Array:
    """``n`` random version-4 UUIDs as canonical strings."""
    raw = os.urandom(16 * n)
    return pa.array(
        [str(uuid.UUID(bytes=raw[i : i + 16], version=4)) for i in range(0, 16 * n, 16)],
        pa.string(),
    )


def uuid_kernel(settings: PluginSettings) -> Kernel:
    """Build the uuid kernel (no failures)."""
    cfg: Any = settings
    target = parse_ref(cfg.target)
    overwrite = bool(cfg.overwrite)

    def kernel(table: pa.Table) -> tuple[pa.Table, pa.Array | None]:
        n = table.num_rows
        old = get(table, target)
        values = random_uuids(n)
        mask = None if overwrite or old is None else pc.invert(old.is_valid())
        return set_where(table, target, values, mask), all_false(n)

    return kernel
