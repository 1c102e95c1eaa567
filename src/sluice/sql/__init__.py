"""Sluice's realtime SQL layer: BKSQL (Flink-like) -> DuckDB over Arrow, sandboxed.

Public entry points:

- :func:`compile_realtime_sql` -> :class:`CompiledQuery` (``run``, ``output_schema``,
  ``aggregate``: an :class:`AggregatePlan` for windowed GROUP BY queries);
- :func:`compile_logic_expression` -> :class:`LogicExpression` (split nodes' ``logic_exp``);
- :data:`DEFAULT_REGISTRY` / :class:`FunctionRegistry`: the UDF/UDTF registry;
- :class:`SandboxSettings` and :func:`open_connection`: the DuckDB sandbox;
- :func:`ensure_system_fields` and the BKData type helpers.

See ``docs/sql.md`` for the dialect.
"""

from __future__ import annotations

from sluice.sql.aggregate import AggregatePlan, AggregateSpec, GroupKey
from sluice.sql.builtins import DEFAULT_REGISTRY
from sluice.sql.compiler import CompiledQuery, compile_realtime_sql
from sluice.sql.execution import SqlExecutionError
from sluice.sql.expression import LogicExpression, compile_logic_expression
from sluice.sql.functions import (
    AggregateFunction,
    FunctionRegistry,
    ScalarFunction,
    TableFunction,
)
from sluice.sql.sandbox import SandboxSettings, open_connection
from sluice.sql.system_fields import ensure_system_fields
from sluice.sql.types import (
    BKDATA_TO_ARROW,
    BKDATA_TYPES,
    SYSTEM_FIELDS,
    Schema,
    arrow_schema,
    arrow_type,
)

__all__ = [
    "BKDATA_TO_ARROW",
    "BKDATA_TYPES",
    "DEFAULT_REGISTRY",
    "SYSTEM_FIELDS",
    "AggregateFunction",
    "AggregatePlan",
    "AggregateSpec",
    "CompiledQuery",
    "FunctionRegistry",
    "GroupKey",
    "LogicExpression",
    "SandboxSettings",
    "ScalarFunction",
    "Schema",
    "SqlExecutionError",
    "TableFunction",
    "arrow_schema",
    "arrow_type",
    "compile_logic_expression",
    "compile_realtime_sql",
    "ensure_system_fields",
    "open_connection",
]
