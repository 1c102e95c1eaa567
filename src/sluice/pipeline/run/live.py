"""Which top-level event fields can a pipeline observe? (the input projection)

Who calls it: the pipeline runner, once per pipeline, to let the JSON-lines bulk path parse
only the fields that matter (:class:`sluice.pipeline.run.chunks.ChunkDecoder`).

:func:`live_fields` walks the filter section backwards from what the outputs read (below).
A filter it does not know sees every field, except:

- ``sql`` replaces the batch with its query's result, so before it only the columns its
  query names are live (any ``*``, a qualified or whole-row reference means every field);
- ``drop`` (with the default ``percentage => 100``) lets nothing through, so nothing after
  it is live;
- ``window`` consumes its input: before it only its ``timestamp``, ``group_by`` and
  aggregated fields are live (its late events reach the dead-letter topic with those);
- a conditional needs the fields its conditions name plus what any branch needs.

Outputs see every field, except a ``file`` output with a ``line``/``plain`` codec, which
reads only the fields its ``format`` and ``path`` name (and a conditional output section
the fields its conditions name).

The answer is ``None`` (every field) or a set of top-level names. It is conservative: a
field left out is one no filter, condition or output can ever read. (A batch a filter
fails on goes to the dead-letter topic with only those fields.)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sluice.pipeline import ast
from sluice.pipeline.compiler import ConditionalNode, Node, Pipeline, PluginNode
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.sprintf import compile_sprintf
from sluice.plugins.codecs.line import DEFAULT_FORMAT
from sluice.plugins.filters.sql_filter import statement_columns

__all__ = ["live_fields"]

Live = frozenset[str] | None


def _condition_fields(node: Any) -> Live:
    """Top-level names of the field references in a condition (``None``: unknowable)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.FieldRef):
            if not item.path:
                return None
            found.add(item.path[0])
        elif isinstance(item, ast.String) and "%{" in item.value:
            return None
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
        elif isinstance(item, tuple | list):
            stack.extend(item)
    return frozenset(found)


def _union(a: Live, b: Live) -> Live:
    return None if a is None or b is None else a | b


def _before(nodes: tuple[Node, ...], after: Live) -> Live:
    live = after
    for node in reversed(nodes):
        if isinstance(node, PluginNode):
            if node.name == "sql":
                cfg: Any = node.settings
                live = statement_columns(str(cfg.statement), str(cfg.table_name))
            elif node.name == "window":
                w: Any = node.settings
                names = [w.timestamp, *w.group_by, *(a.column for a in w.agg_specs() if a.column)]
                live = frozenset(names)
            elif node.name == "drop" and getattr(node.settings, "percentage", 100) >= 100:
                live = frozenset()
            else:
                live = None
        elif isinstance(node, ConditionalNode):
            out: Live = _before(node.else_body, live)
            for branch in node.branches:
                out = _union(out, _before(branch.body, live))
                out = _union(out, _condition_fields(branch.condition))
            live = out
        else:
            live = None
        if live is None:
            return None
    return live


def _output_fields(node: PluginNode) -> Live:
    """What one output reads: a ``file`` output with a ``line``/``plain`` codec the fields
    its format and path name; any other output every field."""
    cfg: Any = node.settings
    codec = getattr(cfg, "codec", None)
    if node.name != "file" or codec is None or codec.name not in ("line", "plain"):
        return None
    try:
        fmt = compile_sprintf(str(codec.settings.get("format", DEFAULT_FORMAT)))
        path = compile_sprintf(str(cfg.path))
    except ConfigError:
        return None
    return _union(fmt.fields, path.fields)


def _outputs_read(nodes: tuple[Node, ...]) -> Live:
    """What an output section reads: its outputs' fields and its conditions' fields."""
    live: Live = frozenset()
    for node in nodes:
        if isinstance(node, PluginNode):
            live = _union(live, _output_fields(node))
        elif isinstance(node, ConditionalNode):
            live = _union(live, _outputs_read(node.else_body))
            for branch in node.branches:
                live = _union(live, _outputs_read(branch.body))
                live = _union(live, _condition_fields(branch.condition))
        else:
            return None
        if live is None:
            return None
    return live


def live_fields(pipeline: Pipeline) -> Live:
    """The top-level fields the filters and outputs of ``pipeline`` can read, or ``None``
    when that is every field (or when there is no output)."""
    outputs = _outputs_read(pipeline.outputs)
    return _before(pipeline.filters, outputs or None)
