"""The windowed task's SQL and feed plumbing: row carrying, plain projections, partition runs.

Who calls it: :class:`~sluice.runtime.tasks.windowed.WindowedRealtimeProcessor`. The input
row index (:data:`ROW_COLUMN`) rides through the pre- and post-aggregation so DLQ records keep
their origin; a pre-aggregation that only renames columns runs as an Arrow selection; a
micro-batch's rows are fed to the operator as per-partition runs in fetch order.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from sluice.model.errors import Message
from sluice.runtime.engine import FlowTaskError
from sluice.runtime.tasks.batch import InputBatch

__all__ = [
    "ROW_COLUMN",
    "arange",
    "feed_ranks",
    "feed_runs",
    "plain_projection",
    "projection",
    "with_row_post",
    "with_row_pre",
]

ROW_COLUMN = "__sluice_row"
"""Input row index carried through the pre- and post-aggregation (origins of DLQ records)."""
_EVENT_TIME = re.compile(r'("__s\d+")\."dtEventTimeStamp" AS "dtEventTimeStamp"')
PLAIN_TYPES = (pa.types.is_integer, pa.types.is_floating, pa.types.is_string, pa.types.is_boolean)


def _fail(zh: str, en: str) -> FlowTaskError:
    return FlowTaskError(Message(zh, en))


def with_row_pre(pre_sql: str) -> str:
    """``pre_sql`` also projecting the input row index (next to the event time)."""
    match = _EVENT_TIME.search(pre_sql)
    if match is None:
        raise _fail(
            "窗口节点的事件时间不是输入表的 dtEventTimeStamp 字段",
            "The windowed node's event time is not the input's dtEventTimeStamp field",
        )
    extra = f'{match.group(0)}, {match.group(1)}."{ROW_COLUMN}" AS "{ROW_COLUMN}"'
    return pre_sql[: match.start()] + extra + pre_sql[match.end() :]


def projection(pre_sql: str, relation: str) -> list[tuple[str, str]] | None:
    """``[(input column, output name), ...]`` when ``pre_sql`` only renames input columns
    (``SELECT "s"."a" AS "x", ... FROM "rel" AS "s"``: no expression, filter or UDTF),
    else None. Such a query is run as an Arrow column selection instead of a DuckDB query."""
    head, sep, tail = pre_sql.partition(" FROM ")
    match = re.fullmatch(r'"([A-Za-z0-9_]+)" AS "(__s\d+)"', tail)
    if not sep or not head.startswith("SELECT ") or match is None or match.group(1) != relation:
        return None
    alias = re.escape(match.group(2))
    item = re.compile(rf'"{alias}"\."([^"]+)" AS "([^"]+)"')
    pairs: list[tuple[str, str]] = []
    for text in head.removeprefix("SELECT ").split(", "):
        found = item.fullmatch(text)
        if found is None:
            return None
        pairs.append((found.group(1), found.group(2)))
    return pairs


def plain_projection(table: pa.Table, pairs: list[tuple[str, str]]) -> pa.Table | None:
    """The rows DuckDB would return for a :func:`projection` query over ``table``, or None
    when a column is missing or of a type whose DuckDB round trip is not the identity."""
    names = table.column_names
    for source, _ in pairs:
        if source not in names or not any(t(table.schema.field(source).type) for t in PLAIN_TYPES):
            return None
    columns = [table.column(source) for source, _ in pairs]
    return pa.Table.from_arrays(columns, names=[name for _, name in pairs])


def with_row_post(post_sql: str) -> str:
    """``post_sql`` also projecting the row index of ``__agg`` (to find each row's window)."""
    inner = f'"__agg"."{ROW_COLUMN}" AS "{ROW_COLUMN}", '
    if " FROM (SELECT " in post_sql:  # wrapped by the output type conversion
        head, _, tail = post_sql.partition(" FROM (SELECT ")
        outer = f'SELECT "__q"."{ROW_COLUMN}" AS "{ROW_COLUMN}", '
        return outer + head.removeprefix("SELECT ") + " FROM (SELECT " + inner + tail
    return "SELECT " + inner + post_sql.removeprefix("SELECT ")


def arange(n: int) -> pa.Array:
    """0, 1, ..., n - 1 as int64."""
    ones = pa.repeat(pa.scalar(1, pa.int64()), n)
    result: pa.Array = pc.subtract(pc.cumulative_sum(ones), 1)
    return result


def feed_ranks(source: InputBatch, order: list[int]) -> pa.Array | None:
    """Feed rank (index in ``order``) of every input record; None for a single partition."""
    if len(order) == 1:
        return None
    rank = {partition: i for i, partition in enumerate(order)}
    chunks = [pa.repeat(pa.scalar(rank[s.partition], pa.int32()), s.count) for s in source.spans]
    return pa.concat_arrays(chunks)


def feed_runs(
    pre: pa.Table, order: list[int], ranks: pa.Array | None
) -> tuple[pa.Table, list[tuple[int, int]]]:
    """``pre`` in feed order and its ``(partition, rows)`` runs.

    The feed order is: partitions in ``order``, each partition's records by input index (its
    arrival order), rows of one record (a UDTF's expansion) as the query gave them. Queries
    keep the order of their input, so this is usually ``pre`` as it is (checked with one
    vector comparison); otherwise a stable sort on (feed rank, input index) restores it.
    """
    if ranks is None:
        return pre, [(order[0], pre.num_rows)]
    rows = pre.column(ROW_COLUMN)
    mine = ranks.take(rows)
    key = pc.add(pc.multiply(mine.cast(pa.int64()), len(ranks)), rows)
    n = len(key)
    if n > 1 and not pc.all(pc.less_equal(key.slice(0, n - 1), key.slice(1))).as_py():
        indices = pc.sort_indices(key)
        pre = pre.take(indices)
        mine = mine.take(indices)
    counts = pc.value_counts(mine)
    values = counts.field("values").to_pylist()
    sizes = dict(zip(values, counts.field("counts").to_pylist(), strict=True))
    return pre, [(p, int(sizes.get(i, 0))) for i, p in enumerate(order)]
