"""The UDF/UDTF registry: what every function name in realtime SQL means.

One explicit :class:`FunctionRegistry` object maps each (lower-case) name to one of:

- :class:`ScalarFunction`: rewritten into DuckDB SQL (built-in, vectorised functions), e.g.
  ``if(c, a, b)``, ``JSON_VALUE(s, '$.a')``, ``split_index(s, ',', 0)``, ``from_unixtime(t)``;
- :class:`AggregateFunction`: ``count``, ``sum``, ``avg``, ``min``, ``max``, BKData's
  ``first``/``last`` (first/last non-null value in arrival order, as Flink's
  ``FIRST_VALUE``/``LAST_VALUE``); only legal in aggregate queries;
- :class:`TableFunction` (UDTF): used as ``FROM rt, lateral table(f(x)) as T(a, b)``; the
  body is a DuckDB ``SELECT`` evaluated per input row (DuckDB decorrelates it, so it runs
  vectorised over the whole batch); zero output rows drop the input row, as in Flink.

The log platform's UDTFs live in BKBase and are not public; their semantics here are
**inferred** from the templates (see ``docs/sql.md`` and the reference
``bklog-dataflow-client.md`` section 4).

:data:`sluice.sql.builtins.DEFAULT_REGISTRY` holds the built-ins;
:meth:`FunctionRegistry.copy` gives an isolated registry to extend (tests, plugins). Unknown names are reported by the compiler with
the list of known names (:meth:`FunctionRegistry.known`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import sqlglot
from sqlglot import exp

from sluice.model.errors import Message

__all__ = [
    "AggregateFunction",
    "Call",
    "FunctionArgumentError",
    "FunctionRegistry",
    "ScalarFunction",
    "StaticType",
    "TableFunction",
    "by_arity",
    "select_template",
    "template",
]

StaticType = str | None
"""A BKData type name, ``"sqltime"`` for a DuckDB timestamp value, or ``None`` if unknown."""


class FunctionArgumentError(Exception):
    """Raised by a rewrite when the arguments of a call are not acceptable.

    The compiler turns it into a positioned ``NodeValidError`` pointing at the call.
    """

    def __init__(self, reason: Message) -> None:
        super().__init__(reason.en)
        self.reason = reason


@dataclass(frozen=True)
class Call:
    """One call being rewritten: its DuckDB-ready arguments and what is known of their types."""

    name: str
    args: list[exp.Expression]
    arg_types: list[StaticType]

    def literal(self, index: int) -> str:
        """Return argument ``index`` as a string literal's value, or raise if it is not one."""
        arg = self.args[index]
        if isinstance(arg, exp.Literal) and arg.is_string:
            return str(arg.this)
        raise FunctionArgumentError(
            Message(
                f"{self.name}() 的第 {index + 1} 个参数必须是字符串常量",
                f"argument {index + 1} of {self.name}() must be a string literal",
            )
        )

    def int_literal(self, index: int) -> int:
        """Return argument ``index`` as an integer literal's value, or raise."""
        arg = self.args[index]
        if isinstance(arg, exp.Literal) and not arg.is_string and str(arg.this).isdigit():
            return int(arg.this)
        raise FunctionArgumentError(
            Message(
                f"{self.name}() 的第 {index + 1} 个参数必须是整数常量",
                f"argument {index + 1} of {self.name}() must be an integer literal",
            )
        )


Rewrite = Callable[[Call], exp.Expression]


@dataclass(frozen=True)
class ScalarFunction:
    """A scalar function: ``rewrite`` turns a call into a DuckDB expression."""

    name: str
    min_args: int
    max_args: int | None
    rewrite: Rewrite
    returns: StaticType = None
    description: str = ""


@dataclass(frozen=True)
class AggregateFunction:
    """An aggregate; ``name`` is also the accumulator kind the window operator implements."""

    name: str
    allows_star: bool = False
    allows_distinct: bool = True
    description: str = ""


@dataclass(frozen=True)
class TableFunction:
    """A UDTF: ``body`` builds a DuckDB ``SELECT`` producing ``len(columns)`` columns per row.

    The body may reference the call arguments (already rewritten, possibly correlated to the
    outer row); the compiler wraps it as ``CROSS JOIN LATERAL (<body>) AS T(<names>)``.
    """

    name: str
    min_args: int
    max_args: int | None
    columns: tuple[tuple[str, str], ...]
    body: Callable[[Call], exp.Select]
    description: str = ""


def template(sql: str) -> Callable[[Call], exp.Expression]:
    """Return a rewrite filling ``{0}``, ``{1}``... of a DuckDB SQL template with the args.

    The template is parsed once; arguments are substituted as trees (never as text).
    """
    marked = sql
    for i in range(10):
        marked = marked.replace("{" + str(i) + "}", f"__sluice_arg{i}__")
    tree = sqlglot.parse_one(marked, read="duckdb")

    def rewrite(call: Call) -> exp.Expression:
        def fill(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column) and node.name.startswith("__sluice_arg"):
                return call.args[int(node.name[len("__sluice_arg") : -2])].copy()
            return node

        return tree.copy().transform(fill)

    return rewrite


def by_arity(*templates: str) -> Rewrite:
    """Rewrite picking the template by argument count (``templates[n - min]``)."""
    built = [template(t) for t in templates]
    counts = [t.count("{") and max(int(c) for c in _placeholders(t)) + 1 for t in templates]

    def rewrite(call: Call) -> exp.Expression:
        for count, fn in zip(counts, built, strict=True):
            if count == len(call.args):
                return fn(call)
        return built[-1](call)

    return rewrite


def _placeholders(sql: str) -> list[str]:
    return [part.split("}")[0] for part in sql.split("{")[1:]]


def select_template(sql: str) -> Callable[[Call], exp.Select]:
    fill = template(sql)

    def body(call: Call) -> exp.Select:
        tree = fill(call)
        if not isinstance(tree, exp.Select):
            raise TypeError("a UDTF body template must be a SELECT")
        return tree

    return body


@dataclass
class FunctionRegistry:
    """Name -> function for realtime SQL; one instance per sandbox configuration.

    Use :data:`DEFAULT_REGISTRY` or ``DEFAULT_REGISTRY.copy()`` and ``register_*`` to extend.
    Names are case-insensitive.
    """

    scalars: dict[str, ScalarFunction] = field(default_factory=dict)
    aggregates: dict[str, AggregateFunction] = field(default_factory=dict)
    tables: dict[str, TableFunction] = field(default_factory=dict)

    def register_scalar(self, fn: ScalarFunction) -> None:
        """Add or replace a scalar function."""
        self.scalars[fn.name.lower()] = fn

    def register_aggregate(self, fn: AggregateFunction) -> None:
        """Add or replace an aggregate (the window operator must implement its name)."""
        self.aggregates[fn.name.lower()] = fn

    def register_table(self, fn: TableFunction) -> None:
        """Add or replace a UDTF."""
        self.tables[fn.name.lower()] = fn

    def kind_of(self, name: str) -> Literal["scalar", "aggregate", "table"] | None:
        """Return what ``name`` is, or ``None`` when it is unknown."""
        key = name.lower()
        if key in self.scalars:
            return "scalar"
        if key in self.aggregates:
            return "aggregate"
        if key in self.tables:
            return "table"
        return None

    def known(self, kind: Literal["scalar", "aggregate", "table"] | None = None) -> list[str]:
        """Return the sorted known names, of one kind or all."""
        pools: Sequence[dict[str, object]] = {
            "scalar": [self.scalars],
            "aggregate": [self.aggregates],
            "table": [self.tables],
            None: [self.scalars, self.aggregates, self.tables],
        }[kind]  # type: ignore[assignment]
        return sorted({name for pool in pools for name in pool})

    def copy(self) -> FunctionRegistry:
        """Return an independent registry with the same entries."""
        return FunctionRegistry(dict(self.scalars), dict(self.aggregates), dict(self.tables))
