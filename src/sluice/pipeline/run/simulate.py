"""Run a pipeline's filters over given events without any I/O.

Who calls it: ``POST /v3/sluice/pipelines/simulate/`` (each event after each filter) and
``sluice pipeline test`` (final events diffed against expected ones).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pyarrow as pa

from sluice.pipeline.compiler import ConditionalNode, PluginNode, compile_pipeline
from sluice.pipeline.executor import FilterChain, KernelRegistry, route_outputs
from sluice.pipeline.jsonl import encode_jsonl
from sluice.pipeline.run.events import events_table
from sluice.plugins.codecs import output_view
from sluice.plugins.filters import filter_kernels

__all__ = ["diff_events", "run_filters", "simulate"]


def _json_rows(table: pa.Table) -> list[dict[str, Any]]:
    if table.num_rows == 0:
        return []
    data = encode_jsonl(output_view(table), drop=()).split(b"\n")[:-1]
    return [orjson.loads(line) for line in data]


def run_filters(
    config: str, events: list[dict[str, Any]], kernels: KernelRegistry | None = None
) -> list[dict[str, Any]]:
    """The events after the whole filter section, as JSON objects (times as text).

    The events are the whole input: stateful filters (``window``) then emit what they still
    hold, as at the end of a finite stream (:meth:`FilterChain.run_to_end`)."""
    pipeline = compile_pipeline(config)
    chain = FilterChain(pipeline.filters, kernels or filter_kernels())
    return _json_rows(chain.run_to_end(events_table(events)))


def simulate(
    config: str, events: list[dict[str, Any]], kernels: KernelRegistry | None = None
) -> dict[str, Any]:
    """``{"steps": [{"filter", "events"}...], "outputs": [{"output", "count"}...]}``: the
    events after each top-level filter (a conditional counts as one step, ``if@line``).
    A stateful filter's step ends with what it still holds at the end of the input."""
    registry = kernels or filter_kernels()
    pipeline = compile_pipeline(config)
    table = events_table(events)
    steps = []
    for node in pipeline.filters:
        if table.num_rows:
            table = FilterChain((node,), registry).run_to_end(table)
        label = node.id if isinstance(node, PluginNode) else _label(node)
        steps.append({"filter": label, "events": _json_rows(table)})
    routed = route_outputs(pipeline.outputs, table) if table.num_rows else []
    return {
        "steps": steps,
        "events": _json_rows(table),
        "outputs": [{"output": n.id, "count": rows.num_rows} for n, rows in routed],
    }


def _label(node: ConditionalNode) -> str:
    first = node.branches[0].body[0] if node.branches and node.branches[0].body else None
    return f"if (first: {first.id})" if isinstance(first, PluginNode) else "if"


def _norm(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in sorted(value.items()) if v is not None}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, str) and len(value) >= 20 and value[4:5] == "-" and value[10:11] == "T":
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if parsed.tzinfo is not None:
            return parsed.astimezone(dt.UTC).isoformat()
    return value


def diff_events(
    got: list[dict[str, Any]], expected: list[dict[str, Any]], ignore: tuple[str, ...] = ()
) -> list[str]:
    """Human-readable differences, per event (empty when equal). Times compare as instants;
    fields in ``ignore`` are left out of both sides."""
    out: list[str] = []
    if len(got) != len(expected):
        out.append(f"expected {len(expected)} events, got {len(got)}")
    for i, (g, e) in enumerate(zip(got, expected, strict=False)):
        gn = _norm({k: v for k, v in g.items() if k not in ignore})
        en = _norm({k: v for k, v in e.items() if k not in ignore})
        if gn == en:
            continue
        for key in sorted(set(gn) | set(en)):
            if gn.get(key) != en.get(key):
                out.append(
                    f"event {i + 1}: [{key}] expected {en.get(key, '(absent)')!r}, "
                    f"got {gn.get(key, '(absent)')!r}"
                )
    return out
