"""A pipeline's filter section over one batch on several threads, when that is the same.

Who calls it: :class:`~sluice.pipeline.run.runner.PipelineRunner`, once per worker batch.

The worker filters one batch at a time; most of a batch's filter time is Arrow, RE2 and
DuckDB work that releases the GIL, but the steps between the parallel kernels run one after
another, so one core idles while the other filters. When every filter of the section is
*row-local* (each output row depends on one input row only, and no state is kept across
batches), filtering contiguous slices of the batch with one
:class:`~sluice.pipeline.executor.FilterChain` each and putting the results together in
slice order gives exactly the rows (and row order) of one chain over the whole batch. When
the slices' results differ in their schema (a column whose type depends on its values, a
branch only some slices took), the whole batch is filtered again by one chain, so the
result is always the one chain's.

Row-local: conditionals (their predicates are per row) over row-local bodies; the plugins
in :data:`ROW_LOCAL`; ``drop`` without ``percentage``; ``sql`` when the statement is one
plain ``SELECT ... FROM <table> [WHERE ...]`` of known scalar expressions (no aggregate,
window, ``DISTINCT``, ``GROUP BY``, ``ORDER BY``, ``LIMIT``, join, subquery, CTE, unknown
function, random value or current time: one chain reads the clock once per batch, slices
would each read it). Anything else (``window``, ``split``, ``uuid``...) keeps one chain.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, wait
from functools import cache
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from sluice.pipeline.compiler import ConditionalNode, Node, PluginNode
from sluice.pipeline.executor import FilterChain, KernelRegistry

__all__ = ["MIN_SLICE_ROWS", "ROW_LOCAL", "SlicedChain", "row_local"]

ROW_LOCAL = frozenset({"grok", "dissect", "kv", "mutate", "date", "json", "truncate"})
"""Filters whose output row ``i`` depends on input row ``i`` only (no cross-batch state)."""

MIN_SLICE_ROWS = 16_384
"""A batch is cut only into slices at least this long (shorter ones are not worth a thread)."""

_SQL_REFUSED = (
    exp.AggFunc, exp.Window, exp.Distinct, exp.Group, exp.Having, exp.Order, exp.Limit,
    exp.Offset, exp.Join, exp.Subquery, exp.With, exp.Anonymous, exp.Qualify, exp.Union,
    exp.Unnest, exp.Lateral, exp.Rand, exp.Randn, exp.Uuid,
    # the time of the call: slices run at different moments, one chain at one
    exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime, exp.CurrentDatetime,
    exp.Localtimestamp, exp.Localtime, exp.CurrentTimestampLTZ,
)  # fmt: skip


def _sql_row_local(settings: Any) -> bool:
    text = str(getattr(settings, "statement", "")).strip().rstrip(";")
    head = text.split(None, 1)[0].lower() if text else ""
    table = str(getattr(settings, "table_name", "events"))
    query = text if head == "select" else f"SELECT *, {text} FROM {table}"
    if head in ("with", "from"):
        return False
    try:
        trees = sqlglot.parse(query, read="duckdb")
    except sqlglot.errors.SqlglotError:
        return False
    if len(trees) != 1 or not isinstance(trees[0], exp.Select):
        return False
    tree = trees[0]
    if any(isinstance(node, _SQL_REFUSED) for node in tree.walk()):
        return False
    if len(list(tree.find_all(exp.Select))) != 1:
        return False
    tables = list(tree.find_all(exp.Table))
    return len(tables) == 1 and tables[0].name.lower() == table.lower()


def row_local(nodes: tuple[Node, ...]) -> bool:
    """Is every filter of ``nodes`` row-local (see the module doc)?"""
    for node in nodes:
        if isinstance(node, ConditionalNode):
            bodies = [b.body for b in node.branches] + [node.else_body]
            if not all(row_local(body) for body in bodies):
                return False
        elif isinstance(node, PluginNode):
            if node.name == "sql":
                if not _sql_row_local(node.settings):
                    return False
            elif node.name == "drop":
                if getattr(node.settings, "percentage", None) not in (None, 100):
                    return False
            elif node.name not in ROW_LOCAL:
                return False
        else:
            return False
    return True


@cache
def _pool() -> ThreadPoolExecutor:
    """Threads that run one chain over one slice; a task never waits on this pool."""
    return ThreadPoolExecutor(max_workers=_workers(), thread_name_prefix="sluice-chain")


def _workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class SlicedChain:
    """``run(table)``: the filter section over ``table``, in slices on several threads when
    the section is row-local and the batch is long, else with ``chain`` alone."""

    def __init__(
        self, nodes: tuple[Node, ...], chain: FilterChain, kernels: KernelRegistry
    ) -> None:
        self.nodes = nodes
        self.chain = chain
        self.kernels = kernels
        self.sliced = _workers() > 1 and not chain.stateful and row_local(nodes)
        self._chains: list[FilterChain] = [chain]

    def run(self, table: pa.Table) -> pa.Table:
        """What ``chain.run(table)`` returns (see the module doc). Raises what a chain
        raises (the first failing slice's error)."""
        n = table.num_rows
        parts = min(_workers(), n // MIN_SLICE_ROWS) if self.sliced else 1
        if parts <= 1:
            return self.chain.run(table)
        while len(self._chains) < parts:  # one chain per slice: kernels keep connections
            self._chains.append(FilterChain(self.nodes, self.kernels))
        step = -(-n // parts)
        slices = [table.slice(i * step, step) for i in range(parts)]
        futures = [
            _pool().submit(chain.run, part)
            for chain, part in zip(self._chains[1:parts], slices[1:], strict=True)
        ]
        try:
            first = self.chain.run(slices[0])
        finally:  # every slice's chain is idle again before this returns or raises
            wait(futures)
        outs = [first] + [f.result() for f in futures]
        if any(out.schema != first.schema for out in outs[1:]):
            # slices that came out differently (a column typed by its values, a branch
            # only some slices took): the whole batch at once decides, as without slices
            return self.chain.run(table)
        return pa.concat_tables(outs)
