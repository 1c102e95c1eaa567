"""Add BKData's system fields to an Arrow table, vectorised.

BKData gives every record ``dtEventTimeStamp`` (event time, epoch ms), ``dtEventTime``
(the same as ``'YYYY-mm-dd HH:MM:SS'``), ``localTime`` (processing time, same format) and
``thedate`` (event day, ``yyyymmdd`` integer). :func:`ensure_system_fields` adds whichever
are missing: ``dtEventTimeStamp`` defaults to the processing time ``now_ms``; the others are
derived from it. Times are rendered in ``timezone`` (UTC by default; BKData deployments
usually run in ``Asia/Shanghai``).
"""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["date_int", "ensure_system_fields", "format_ms"]

_FMT = "%Y-%m-%d %H:%M:%S"


def _wall_clock(ms: pa.Array | pa.ChunkedArray, timezone: str) -> pa.Array:
    seconds = pc.divide(pc.cast(ms, pa.int64()), 1000)
    if timezone.upper() in ("UTC", "ETC/UTC"):
        return pc.cast(seconds, pa.timestamp("s"))
    return pc.local_timestamp(pc.cast(seconds, pa.timestamp("s", tz=timezone)))


def format_ms(ms: pa.Array | pa.ChunkedArray, timezone: str) -> pa.Array:
    """Format epoch-ms ``int64`` values as ``'YYYY-mm-dd HH:MM:SS'`` in ``timezone``."""
    result: pa.Array = pc.cast(_wall_clock(ms, timezone), pa.string())
    return result


def date_int(ms: pa.Array | pa.ChunkedArray, timezone: str) -> pa.Array:
    """Return the day of epoch-ms values in ``timezone`` as ``int32`` ``yyyymmdd``."""
    local = _wall_clock(ms, timezone)
    ymd = pc.add(
        pc.add(pc.multiply(pc.year(local), 10000), pc.multiply(pc.month(local), 100)),
        pc.day(local),
    )
    result: pa.Array = pc.cast(ymd, pa.int32())
    return result


def ensure_system_fields(
    table: pa.Table, *, now_ms: int | None = None, timezone: str = "UTC"
) -> pa.Table:
    """Return ``table`` with ``dtEventTimeStamp``, ``dtEventTime``, ``localTime``, ``thedate``.

    Existing columns are kept as they are; a ``dtEventTimeStamp`` holding nulls gets
    ``now_ms`` in those rows.

    Args:
        table: any Arrow table.
        now_ms: the processing time in epoch ms (defaults to the wall clock).
        timezone: IANA zone used to render the text fields and ``thedate``.
    """
    now = int(time.time() * 1000) if now_ms is None else now_ms
    n = table.num_rows
    names = set(table.column_names)
    if "dtEventTimeStamp" in names:
        stamps = pc.cast(table.column("dtEventTimeStamp"), pa.int64())
        if stamps.null_count:
            stamps = pc.fill_null(stamps, now)
            table = table.set_column(
                table.column_names.index("dtEventTimeStamp"), "dtEventTimeStamp", stamps
            )
    else:
        stamps = pa.repeat(pa.scalar(now, pa.int64()), n)
        table = table.append_column(pa.field("dtEventTimeStamp", pa.int64()), stamps)
    if "dtEventTime" not in names:
        table = table.append_column(
            pa.field("dtEventTime", pa.string()), format_ms(stamps, timezone)
        )
    if "localTime" not in names:
        local = datetime.fromtimestamp(now / 1000, ZoneInfo(timezone)).strftime(_FMT)
        table = table.append_column(
            pa.field("localTime", pa.string()), pa.repeat(pa.scalar(local, pa.string()), n)
        )
    if "thedate" not in names:
        days = date_int(stamps, timezone)
        table = table.append_column(pa.field("thedate", pa.int32()), days)
    return table
