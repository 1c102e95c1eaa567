"""The node's own SQL over the rows of one closed join window (two-stream window joins).

Who calls it: :class:`~sluice.runtime.tasks.window_join.WindowJoinProcessor`, once per window
the watermark closed, with that window's rows of both inputs. A plain join runs the compiled
query (``CompiledQuery.run``); a GROUP BY runs ``pre_aggregate`` then ``finish_aggregate``.
When DuckDB fails on a window, its left rows are halved until the failing ones are isolated:
those are logged and counted as dropped (their origin is no longer in the batch, so they
cannot be dead-lettered); the rest of the window still produces its rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import pyarrow as pa

from sluice.sql import CompiledQuery, SqlExecutionError

__all__ = ["JoinWindowSql", "concat_tables"]

log = logging.getLogger(__name__)

_Step = Callable[[pa.Table, pa.Table], pa.Table]


def concat_tables(parts: Sequence[pa.Table]) -> pa.Table | None:
    """One table of ``parts`` (schemas unified permissively); ``None`` when there are none."""
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else pa.concat_tables(parts, promote_options="permissive")


class JoinWindowSql:
    """Runs ``query`` over one window's left and right rows.

    Args:
        query: the node's compiled SQL reading exactly ``inputs`` (left, right).
        inputs: the two input result tables, in the query's order.
        node_name: for log lines.
    """

    def __init__(self, query: CompiledQuery, inputs: Sequence[str], node_name: str) -> None:
        self.query = query
        self.left_rt, self.right_rt = inputs
        self.node_name = node_name

    def run(self, left: pa.Table, right: pa.Table, start: int) -> tuple[pa.Table | None, int]:
        """The SQL's result over the window starting at ``start`` ms, each row stamped with
        ``dtEventTimeStamp = start``, and how many left rows were dropped (``None`` when the
        window yields no row)."""
        if self.query.aggregate is None:
            pieces: list[pa.Table] = []
            lost = self._bisect(left, right, start, pieces, self._plain)
            result = concat_tables(pieces)
        else:
            pre: list[pa.Table] = []
            lost = self._bisect(left, right, start, pre, self._pre)
            rows = concat_tables(pre)
            if rows is None:
                return None, lost
            try:
                result = self.query.finish_aggregate(rows)
            except SqlExecutionError as exc:
                log.error(
                    "Node %s dropped the join window starting at %d ms: %s",
                    self.node_name,
                    start,
                    exc,
                )
                return None, lost
        if result is None or result.num_rows == 0:
            return None, lost
        if "dtEventTimeStamp" in result.column_names:
            result = result.drop_columns(["dtEventTimeStamp"])
        stamps = pa.repeat(pa.scalar(start, pa.int64()), result.num_rows)
        return result.append_column("dtEventTimeStamp", stamps), lost

    def _plain(self, left: pa.Table, right: pa.Table) -> pa.Table:
        return self.query.run({self.left_rt: left, self.right_rt: right})

    def _pre(self, left: pa.Table, right: pa.Table) -> pa.Table:
        return self.query.pre_aggregate({self.left_rt: left, self.right_rt: right})

    def _bisect(
        self, left: pa.Table, right: pa.Table, start: int, pieces: list[pa.Table], step: _Step
    ) -> int:
        """Run ``step`` on the window; halve the left rows around DuckDB failures.

        Returns how many left rows were dropped (each logged with its error).
        """
        try:
            pieces.append(step(left, right))
            return 0
        except SqlExecutionError as exc:
            if left.num_rows <= 1:
                log.error(
                    "Node %s dropped %d record(s) of %s from the join window starting at %d ms: %s",
                    self.node_name,
                    left.num_rows,
                    self.left_rt,
                    start,
                    exc,
                )
                return int(left.num_rows)
        half = left.num_rows // 2
        return self._bisect(left.slice(0, half), right, start, pieces, step) + self._bisect(
            left.slice(half), right, start, pieces, step
        )
