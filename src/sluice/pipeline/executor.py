"""Run a compiled filter section over Arrow batches, and route batches to outputs.

Who calls it: the plugin runtime (one :class:`FilterChain` per pipeline worker), the
conformance tests and ``sluice pipeline`` tools. :class:`FilterChain` walks the compiled
nodes: a plugin node runs its kernel, then, on the rows where it succeeded, the common
options (``add_field``, ``add_tag``, ``remove_field``, ``remove_tag``, all sprintf'd); a
conditional node splits the batch by its predicates, runs each branch on its rows and
puts the rows back in their original order. :func:`route_outputs` does the same split
for an output section and says which rows each output receives.

Kernels: grok, dissect and kv come built by the compiler; ``drop`` is built in; the
runtime registers the others with :meth:`KernelRegistry.register`. A filter without a
kernel raises :class:`ConfigError` when the chain is built, naming it.

Stateful kernels (:class:`StatefulKernel`, e.g. the ``window`` filter) keep events across
batches: the chain also offers :meth:`FilterChain.tick` (what they emit on processing time,
run through the filters after them), :meth:`FilterChain.take_dead` (events they refused,
for the dead-letter queue) and :meth:`FilterChain.snapshot`/:meth:`FilterChain.restore`
(their state, which the runtime checkpoints with the input offset).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline.compiler import ConditionalNode, Node, PluginNode
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.fields import (
    add_tags,
    append_values,
    clear_where,
    get,
    parse_ref,
    remove_tags,
    row_index,
    set_where,
)
from sluice.pipeline.settings.common import CommonFilterSettings, PluginSettings
from sluice.pipeline.sprintf import Sprintf, compile_sprintf

__all__ = [
    "FilterChain",
    "Kernel",
    "KernelRegistry",
    "StatefulKernel",
    "default_kernels",
    "route_outputs",
]

ROW = "__sluice_row__"

Kernel = Callable[[pa.Table], tuple[pa.Table, pa.Array | None]]
"""A batch kernel: table in; table and the mask of rows that failed out. A kernel that
removes rows (drop, split) returns ``None`` as its mask and keeps the hidden row column."""

KernelFactory = Callable[[PluginSettings], Kernel]


@runtime_checkable
class StatefulKernel(Protocol):
    """A kernel that keeps events across batches (the ``window`` filter).

    Called like a :data:`Kernel` (mask ``None``; emitted rows carry the hidden row column).
    The runtime owns it on one thread: it calls :meth:`tick` when the input is idle, drains
    :meth:`take_dead` after every batch and tick, and checkpoints :meth:`snapshot` with the
    input offset (:meth:`restore` on start, before the first batch).
    """

    def __call__(self, table: pa.Table) -> tuple[pa.Table, pa.Array | None]: ...

    def tick(self, now_ms: int | None = None) -> pa.Table:
        """Rows due on processing time (may have no columns when none); ``now_ms``
        defaults to the wall clock."""
        ...

    def flush(self) -> pa.Table:
        """End of input (``sluice pipeline test``, simulate): every row still held, e.g.
        each open window's result; the state is then empty."""
        ...

    def take_dead(self) -> tuple[pa.Table, list[str]]:
        """Events refused since the last call (without the row column) and their reasons."""
        ...

    def snapshot(self) -> bytes:
        """The whole state, to store with the offset after the batches it includes."""
        ...

    def restore(self, blob: bytes) -> None:
        """Replace the state with a :meth:`snapshot`; raises ``ValueError`` when it does
        not fit this kernel's settings."""
        ...


class KernelRegistry:
    """Filter name -> kernel factory. ``default_kernels()`` holds ``drop``."""

    def __init__(self, factories: Mapping[str, KernelFactory] | None = None) -> None:
        self._factories: dict[str, KernelFactory] = dict(factories or {})

    def register(self, name: str, factory: KernelFactory) -> None:
        """Add or replace the kernel factory of filter ``name``."""
        self._factories[name] = factory

    def get(self, name: str) -> KernelFactory | None:
        return self._factories.get(name)

    def names(self) -> list[str]:
        return sorted(self._factories)


def _drop(settings: PluginSettings) -> Kernel:
    percentage = int(getattr(settings, "percentage", 100))

    def kernel(table: pa.Table) -> tuple[pa.Table, pa.Array | None]:
        if percentage >= 100:
            return table.slice(0, 0), None
        keep = pc.greater_equal(pc.random(table.num_rows), percentage / 100)
        return table.filter(keep), None

    return kernel


def default_kernels() -> KernelRegistry:
    """A registry with the kernels this package provides besides grok, dissect and kv."""
    return KernelRegistry({"drop": _drop})


@dataclass(frozen=True, slots=True)
class _Decorations:
    add_field: tuple[tuple[Sprintf, tuple[Sprintf, ...]], ...]
    add_tag: tuple[Sprintf, ...]
    remove_field: tuple[Sprintf, ...]
    remove_tag: tuple[Sprintf, ...]

    @classmethod
    def of(cls, settings: PluginSettings) -> _Decorations:
        if not isinstance(settings, CommonFilterSettings):
            return cls((), (), (), ())
        fields = []
        for name, value in settings.add_field.items():
            values = value if isinstance(value, list) else [value]
            fields.append((compile_sprintf(name), tuple(compile_sprintf(str(v)) for v in values)))
        return cls(
            tuple(fields),
            tuple(compile_sprintf(t) for t in settings.add_tag),
            tuple(compile_sprintf(f) for f in settings.remove_field),
            tuple(compile_sprintf(t) for t in settings.remove_tag),
        )

    def __bool__(self) -> bool:
        return bool(self.add_field or self.add_tag or self.remove_field or self.remove_tag)

    def apply(self, table: pa.Table, ok: pa.Array) -> pa.Table:
        for name_tpl, values in self.add_field:
            for path_name, mask in _by_value(name_tpl, table, ok):
                path = parse_ref(path_name)
                for tpl in values:
                    table = _add_value(table, path, tpl.render(table), mask)
        for tpl in self.add_tag:
            for tag, mask in _by_value(tpl, table, ok):
                table = add_tags(table, [tag], mask)
        for tpl in self.remove_field:
            for field_name, mask in _by_value(tpl, table, ok):
                table = clear_where(table, parse_ref(field_name), mask)
        for tpl in self.remove_tag:
            for tag, mask in _by_value(tpl, table, ok):
                table = remove_tags(table, [tag], mask)
        return table


def _by_value(tpl: Sprintf, table: pa.Table, ok: pa.Array) -> list[tuple[str, pa.Array]]:
    """The distinct rendered values of ``tpl`` among the ``ok`` rows, each with its mask."""
    if tpl.is_constant:
        return [(tpl.template, ok)]
    rendered = tpl.render(table)
    out = []
    for value in pc.unique(pc.filter(rendered, ok)).to_pylist():
        if value:
            out.append((value, pc.and_(ok, pc.equal(rendered, value))))
    return out


def _add_value(table: pa.Table, path: tuple[str, ...], value: pa.Array, mask: pa.Array) -> pa.Table:
    old = get(table, path)
    if old is None or not pc.any(pc.and_(mask, old.is_valid())).as_py():
        return set_where(table, path, value, mask)
    merged = append_values(old, pc.if_else(mask, value, pa.nulls(len(value), pa.string())))
    return set_where(table, path, merged)


class FilterChain:
    """A filter section ready to run: ``chain.run(table) -> table``."""

    def __init__(self, nodes: tuple[Node, ...], kernels: KernelRegistry | None = None) -> None:
        registry = kernels or default_kernels()
        self.stateful: dict[str, StatefulKernel] = {}
        """Filter id -> its stateful kernel (empty: the chain keeps nothing across batches)."""
        self._steps = [self._build(node, registry) for node in nodes]

    def _build(self, node: Node, registry: KernelRegistry) -> Any:
        if isinstance(node, ConditionalNode):
            branches = [
                (b.predicate, [self._build(n, registry) for n in b.body]) for b in node.branches
            ]
            return ("if", branches, [self._build(n, registry) for n in node.else_body])
        kernel = node.kernel.apply if node.kernel is not None else None
        if kernel is None:
            factory = registry.get(node.name)
            if factory is None:
                pos = node.position
                raise ConfigError(
                    f"filter '{node.name}' has no batch kernel in this runtime; "
                    f"available: {', '.join(sorted({'grok', 'dissect', 'kv', *registry.names()}))}",
                    pos.line, pos.column,
                )  # fmt: skip
            kernel = factory(node.settings)
        if isinstance(kernel, StatefulKernel):
            self.stateful[node.id] = kernel
        return ("plugin", node, kernel, _Decorations.of(node.settings))

    def run(self, table: pa.Table) -> pa.Table:
        """Run every filter on ``table``; rows keep their order (dropped rows go)."""
        table = table.append_column(ROW, row_index(table.num_rows))
        table = self._run(self._steps, table)
        return table.drop_columns([ROW])

    def tick(self, now_ms: int | None = None) -> pa.Table | None:
        """What the stateful filters emit on processing time (idle input), each part run
        through the filters after its filter; ``None`` when nothing was emitted."""
        return self._pull(lambda kernel: kernel.tick(now_ms))

    def run_to_end(self, table: pa.Table) -> pa.Table:
        """:meth:`run` over ``table`` as the whole input, then :meth:`flush`: what the
        stateful filters still hold follows the rows (``sluice pipeline test``, simulate)."""
        out = self.run(table) if table.num_rows else table
        held = self.flush()
        if held is None:
            return out
        return held if out.num_rows == 0 else _concat([out, held])

    def flush(self) -> pa.Table | None:
        """End of input: what the stateful filters still hold (:meth:`StatefulKernel.flush`),
        each part run through the filters after its filter; ``None`` when nothing was held."""
        return self._pull(lambda kernel: kernel.flush())

    def _pull(self, pull: Callable[[StatefulKernel], pa.Table]) -> pa.Table | None:
        if not self.stateful:
            return None
        parts = [p.drop_columns([ROW]) for p in self._drain(self._steps, pull) if p.num_rows]
        return _concat(parts) if parts else None

    def _drain(
        self, steps: list[Any], pull: Callable[[StatefulKernel], pa.Table]
    ) -> list[pa.Table]:
        out: list[pa.Table] = []
        for i, step in enumerate(steps):
            produced: list[pa.Table] = []
            if step[0] == "plugin" and isinstance(step[2], StatefulKernel):
                rows = pull(step[2])
                if rows.num_rows:
                    if ROW not in rows.column_names:
                        rows = rows.append_column(ROW, row_index(rows.num_rows))
                    if step[3]:
                        rows = step[3].apply(rows, pa.repeat(pa.scalar(True), rows.num_rows))
                    produced.append(rows)
            elif step[0] == "if":
                for _, body in step[1]:
                    produced.extend(self._drain(body, pull))
                produced.extend(self._drain(step[2], pull))
            out.extend(self._run(steps[i + 1 :], t) for t in produced)
        return out

    def take_dead(self) -> list[tuple[str, pa.Table, list[str]]]:
        """Events the stateful filters refused since the last call: ``(filter id, events,
        reasons)`` per filter that refused some."""
        out = []
        for node_id, kernel in self.stateful.items():
            events, reasons = kernel.take_dead()
            if reasons:
                out.append((node_id, events, reasons))
        return out

    def snapshot(self) -> dict[str, bytes]:
        """The state of every stateful filter, by filter id."""
        return {node_id: kernel.snapshot() for node_id, kernel in self.stateful.items()}

    def restore(self, states: Mapping[str, bytes]) -> list[str]:
        """Restore the filters found in ``states``; returns the ids of stateful filters
        that start empty (no state stored for them). Raises ``ValueError`` when a state
        does not fit its filter's settings."""
        for node_id, blob in states.items():
            if node_id in self.stateful:
                self.stateful[node_id].restore(blob)
        return [node_id for node_id in self.stateful if node_id not in states]

    def _run(self, steps: list[Any], table: pa.Table) -> pa.Table:
        for step in steps:
            if table.num_rows == 0:
                return table
            if step[0] == "plugin":
                _, node, kernel, decorations = step
                n = table.num_rows
                table, failed = kernel(table)
                if failed is not None and table.num_rows != n:
                    raise RuntimeError(
                        f"filter {node.id} changed the row count but reported a mask"
                    )
                if decorations and failed is not None:
                    table = decorations.apply(table, pc.invert(failed))
                elif decorations:
                    table = decorations.apply(
                        table, pa.nulls(table.num_rows, pa.bool_()).fill_null(True)
                    )
            else:
                table = self._branch(step[1], step[2], table)
        return table

    def _branch(self, branches: list[Any], else_steps: list[Any], table: pa.Table) -> pa.Table:
        parts: list[pa.Table] = []
        rest = table
        for predicate, steps in branches:
            if rest.num_rows == 0:
                break
            mask = predicate(rest)
            parts.append(self._run(steps, rest.filter(mask)))
            rest = rest.filter(pc.invert(mask))
        if rest.num_rows:
            parts.append(self._run(else_steps, rest))
        parts = [p for p in parts if p.num_rows] or [table.slice(0, 0)]
        return _concat(parts).sort_by(ROW)


def _concat(parts: list[pa.Table]) -> pa.Table:
    """Concatenate branch outputs whose columns may differ in type: where one branch made
    a field a list (Logstash append), scalars of the others become one-item lists; other
    mismatches that Arrow cannot promote are cast to strings."""
    try:
        return pa.concat_tables(parts, promote_options="permissive")
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        pass
    types: dict[str, set[pa.DataType]] = {}
    for part in parts:
        for f in part.schema:
            if not pa.types.is_null(f.type):
                types.setdefault(f.name, set()).add(f.type)
    fixed = []
    for part in parts:
        for name, kinds in types.items():
            if len(kinds) < 2 or name not in part.column_names:
                continue
            col = part.column(name).combine_chunks()
            if any(pa.types.is_list(k) or pa.types.is_large_list(k) for k in kinds):
                col = _as_string_list(col)
            elif not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
                col = col.cast(pa.string())
            part = part.set_column(part.column_names.index(name), name, col)
        fixed.append(part)
    return pa.concat_tables(fixed, promote_options="permissive")


def _as_string_list(col: pa.Array) -> pa.Array:
    if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
        return col.cast(pa.list_(pa.string()))
    if pa.types.is_null(col.type):
        return pa.nulls(len(col), pa.list_(pa.string()))
    return append_values(pa.nulls(len(col), pa.string()), col)


def route_outputs(nodes: tuple[Node, ...], table: pa.Table) -> list[tuple[PluginNode, pa.Table]]:
    """Which rows each output receives: ``[(output node, rows), ...]`` in config order,
    outputs receiving no row left out. Conditionals route as in a filter section."""
    out: list[tuple[PluginNode, pa.Table]] = []
    for node in nodes:
        if table.num_rows == 0:
            break
        if isinstance(node, PluginNode):
            out.append((node, table))
            continue
        rest = table
        for branch in node.branches:
            mask = branch.predicate(rest)
            out.extend(route_outputs(branch.body, rest.filter(mask)))
            rest = rest.filter(pc.invert(mask))
        out.extend(route_outputs(node.else_body, rest))
    return out
