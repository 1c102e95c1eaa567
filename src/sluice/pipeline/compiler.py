"""Compile a config (text or AST) into a typed :class:`Pipeline` description.

Who calls it: the CLI (``sluice pipeline run FILE``), the API and the plugin runtime.
``compile_pipeline(text)`` parses, then checks every plugin against
:mod:`sluice.pipeline.registry_spec`, validates its settings through the plugin's pydantic
model, compiles conditions into batch predicates and builds the batch kernels of grok,
dissect and kv (so bad patterns fail here, not on the first batch).

Every problem raises :class:`ConfigError` positioned at the plugin or setting:

- an unknown plugin lists the plugins valid in that section;
- an unknown setting lists the plugin's settings;
- a bad value says what was expected; a missing required setting names it;
- conditionals are not allowed in ``input`` sections; plugin ``id`` values must be unique.

A setting given twice is merged as Logstash merges it: two hashes become one hash,
anything else becomes one array of all the values.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from sluice.pipeline import ast
from sluice.pipeline.conditions import Predicate, compile_condition
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.parser import parse
from sluice.pipeline.registry_spec import known_plugins, setting_names, settings_model
from sluice.pipeline.settings.common import PluginSettings

__all__ = [
    "Branch",
    "ConditionalNode",
    "Node",
    "Pipeline",
    "PluginNode",
    "compile_pipeline",
    "to_python",
]


@dataclass(frozen=True, slots=True)
class PluginNode:
    """One plugin: section, name, unique id, validated settings, and (for grok, dissect
    and kv) the built batch kernel."""

    section: ast.SectionKind
    name: str
    id: str
    settings: PluginSettings
    position: ast.Position = field(default=ast.NO_POSITION, compare=False)
    kernel: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Branch:
    """One ``if``/``else if`` arm: its condition, the compiled predicate, its body."""

    condition: ast.Condition
    body: tuple[Node, ...]
    predicate: Predicate = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ConditionalNode:
    """``if``/``else if``/``else``: the first branch whose predicate holds takes the row."""

    branches: tuple[Branch, ...]
    else_body: tuple[Node, ...] = ()
    position: ast.Position = field(default=ast.NO_POSITION, compare=False)


Node = PluginNode | ConditionalNode


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A compiled pipeline: the node trees of the three sections and the source AST."""

    inputs: tuple[Node, ...]
    filters: tuple[Node, ...]
    outputs: tuple[Node, ...]
    source: ast.PipelineConfig = field(compare=False, repr=False)

    def plugins(self, section: ast.SectionKind | None = None) -> Iterator[PluginNode]:
        """Every plugin node (of ``section``, or of all sections), depth first."""
        roots = {"input": self.inputs, "filter": self.filters, "output": self.outputs}
        for kind, nodes in roots.items():
            if section is None or section == kind:
                yield from _walk(nodes)


def _walk(nodes: tuple[Node, ...]) -> Iterator[PluginNode]:
    for node in nodes:
        if isinstance(node, PluginNode):
            yield node
        else:
            for branch in node.branches:
                yield from _walk(branch.body)
            yield from _walk(node.else_body)


def to_python(value: ast.Value) -> Any:
    """A setting value as plain Python: str, int, float, bool, list, dict; a codec
    (``json { ... }``) becomes ``{"name": "json", "settings": {...}}``."""
    if isinstance(value, ast.String | ast.Bareword):
        return value.value
    if isinstance(value, ast.Number | ast.Boolean):
        return value.value
    if isinstance(value, ast.Array):
        return [to_python(v) for v in value.items]
    if isinstance(value, ast.Hash):
        return {str(k.value): to_python(v) for k, v in value.entries}
    return {"name": value.name, "settings": _settings_dict(value.settings)}


def _settings_dict(settings: tuple[ast.Setting, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for s in settings:
        value = to_python(s.value)
        if s.key not in out:
            out[s.key] = value
        elif isinstance(out[s.key], dict) and isinstance(value, dict):
            out[s.key] = {**out[s.key], **value}
        else:
            old = out[s.key] if isinstance(out[s.key], list) else [out[s.key]]
            out[s.key] = old + (value if isinstance(value, list) else [value])
    return out


def _suggest(word: str, names: list[str]) -> str:
    close = difflib.get_close_matches(word, names, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Compiler:
    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.counts: dict[str, int] = {}

    def nodes(self, section: ast.SectionKind, body: tuple[ast.Statement, ...]) -> tuple[Node, ...]:
        out: list[Node] = []
        for stmt in body:
            if isinstance(stmt, ast.If):
                out.append(self.conditional(section, stmt))
            else:
                out.append(self.plugin(section, stmt))
        return tuple(out)

    def conditional(self, section: ast.SectionKind, stmt: ast.If) -> ConditionalNode:
        pos = stmt.position
        if section == "input":
            raise ConfigError(
                "conditionals are not allowed in an input section", pos.line, pos.column
            )
        branches = []
        for cond, body in stmt.branches:
            try:
                predicate = compile_condition(cond)
            except ConfigError as exc:
                raise ConfigError(exc.reason, pos.line, pos.column, exc.expected) from None
            branches.append(Branch(cond, self.nodes(section, body), predicate))
        else_body = self.nodes(section, stmt.else_body) if stmt.else_body is not None else ()
        return ConditionalNode(tuple(branches), else_body, pos)

    def plugin(self, section: ast.SectionKind, call: ast.PluginCall) -> PluginNode:
        pos = call.position
        model = settings_model(section, call.name)
        if model is None:
            valid = known_plugins(section)
            raise ConfigError(
                f"unknown {section} plugin '{call.name}'{_suggest(call.name, valid)}; "
                f"valid {section} plugins: {', '.join(valid)}",
                pos.line, pos.column, valid,
            )  # fmt: skip
        valid_settings = setting_names(model)
        for s in call.settings:
            if s.key not in valid_settings:
                raise ConfigError(
                    f"unknown setting '{s.key}' for {section} plugin '{call.name}'"
                    f"{_suggest(s.key, valid_settings)}; valid settings: "
                    f"{', '.join(valid_settings)}",
                    s.position.line, s.position.column, valid_settings,
                )  # fmt: skip
        raw = _settings_dict(call.settings)
        try:
            settings = model.model_validate(raw)
        except ValidationError as exc:
            raise self._value_error(section, call, exc) from None
        node_id = self._id(call, settings)
        kernel = None
        if section == "filter" and call.name in _KERNELS:
            try:
                kernel = _KERNELS[call.name](settings)
            except ConfigError as exc:
                where = next((s.position for s in call.settings if s.key in _PATTERN_KEYS), pos)
                raise ConfigError(
                    f"{call.name}: {exc.reason}", where.line, where.column, exc.expected
                ) from None
        return PluginNode(section, call.name, node_id, settings, pos, kernel)

    def _id(self, call: ast.PluginCall, settings: PluginSettings) -> str:
        explicit = getattr(settings, "id", None)
        if explicit:
            if explicit in self.ids:
                pos = call.position
                raise ConfigError(f"duplicate plugin id '{explicit}'", pos.line, pos.column)
            self.ids.add(explicit)
            return str(explicit)
        n = self.counts.get(call.name, 0) + 1
        self.counts[call.name] = n
        while f"{call.name}_{n}" in self.ids:
            n += 1
        self.ids.add(f"{call.name}_{n}")
        return f"{call.name}_{n}"

    @staticmethod
    def _value_error(
        section: ast.SectionKind, call: ast.PluginCall, exc: ValidationError
    ) -> ConfigError:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else ""
        key = key[:-1] if key.endswith("_") else key
        pos = next((s.position for s in call.settings if s.key == key), call.position)
        if err["type"] == "missing":
            return ConfigError(
                f"{section} plugin '{call.name}' needs the setting '{key}'",
                pos.line, pos.column, [key],
            )  # fmt: skip
        return ConfigError(
            f"invalid value for setting '{key}' of {section} plugin '{call.name}': {err['msg']}",
            pos.line, pos.column,
        )  # fmt: skip


def _grok(settings: Any) -> Any:
    from sluice.pipeline.grok import Grok

    return Grok(settings)


def _dissect(settings: Any) -> Any:
    from sluice.pipeline.dissect import Dissect

    return Dissect(settings)


def _kv(settings: Any) -> Any:
    from sluice.pipeline.kv import Kv

    return Kv(settings)


_KERNELS = {"grok": _grok, "dissect": _dissect, "kv": _kv}
_PATTERN_KEYS = frozenset(
    {"match", "mapping", "pattern_definitions", "field_split_pattern", "value_split_pattern"}
)


def compile_pipeline(
    config: str | ast.PipelineConfig, *, support_escapes: bool = False
) -> Pipeline:
    """Parse (if given text) and compile a pipeline config.

    Raises:
        ConfigError: for any syntax or semantic problem, positioned.
    """
    tree = parse(config, support_escapes=support_escapes) if isinstance(config, str) else config
    c = _Compiler()
    return Pipeline(
        c.nodes("input", tree.inputs),
        c.nodes("filter", tree.filters),
        c.nodes("output", tree.outputs),
        tree,
    )
