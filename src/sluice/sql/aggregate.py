"""Split an aggregate (GROUP BY) query into the steps a window operator runs.

A windowed realtime node (``scroll``/``slide``/``accumulate``/``session``) cannot run its
SQL per batch: the aggregates span a window. :func:`plan_aggregate` cuts the query in three:

1. **pre-aggregation** (``pre_sql``, over the input relations, run per batch): FROM, joins,
   lateral UDTFs and WHERE, projecting the group keys as ``__k0, __k1, ...``, each
   aggregate's argument as ``__v0, __v1, ...`` and ``dtEventTimeStamp`` (event time, ms) for
   window assignment;
2. **aggregation** (by the window operator, per window and group): one accumulator per
   :class:`AggregateSpec` (``count``, ``sum``, ``avg``, ``min``, ``max``, ``first``,
   ``last``; ``distinct`` where asked), yielding ``__a0, __a1, ...``; :meth:`AggregatePlan.finish`
   does this step in DuckDB for a window's buffered pre-rows (``agg_sql``);
3. **post-aggregation** (``post_sql``, over relation ``__agg`` with the ``__k*`` and
   ``__a*`` columns): the SELECT list (group keys and aggregates replaced by their columns,
   constants and scalar functions around them) and HAVING, converted to the output types.

``first``/``last`` are BKData's (Flink's FIRST_VALUE/LAST_VALUE): the first/last non-null
value in arrival order within the window.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from sluice.model.errors import Message
from sluice.sql.dialect import EVENT_TIME_FIELD, Rewritten
from sluice.sql.errors import sql_error
from sluice.sql.execution import run_sql

__all__ = ["AggregatePlan", "AggregateSpec", "GroupKey", "plan_aggregate"]

PRE_RELATION = "__pre"
AGG_RELATION = "__agg"
SEQ_COLUMN = "__seq"


@dataclass(frozen=True)
class GroupKey:
    """One GROUP BY key.

    Attributes:
        column: its column in the pre-aggregation rows and in ``__agg`` (``__k<i>``).
        expression_sql: the key expression as DuckDB SQL over the inputs (for display).
    """

    column: str
    expression_sql: str


@dataclass(frozen=True)
class AggregateSpec:
    """One aggregate to accumulate per window and group.

    Attributes:
        func: ``count``, ``sum``, ``avg``, ``min``, ``max``, ``first`` or ``last``.
        argument_sql: the argument as DuckDB SQL over the inputs; ``None`` for ``count(*)``.
        argument_column: the argument's column in the pre-aggregation rows (``__v<j>``), or
            ``None`` for ``count(*)``.
        distinct: aggregate distinct values only (``count(distinct x)``).
        output: the accumulator's column in ``__agg`` (``__a<j>``).
    """

    func: str
    argument_sql: str | None
    argument_column: str | None
    distinct: bool
    output: str


@dataclass(frozen=True)
class AggregatePlan:
    """The three steps of an aggregate query (see the module doc).

    Attributes:
        group_keys: GROUP BY keys (empty for a global aggregate).
        aggregates: distinct aggregate calls of the SELECT list and HAVING.
        pre_sql: DuckDB SQL over the input relations -> ``pre_columns``.
        pre_columns: ``__k*``, ``__v*`` and ``dtEventTimeStamp``, in that order.
        agg_sql: DuckDB SQL over ``__pre`` (pre rows plus ``__seq`` arrival order) ->
            ``__k*`` + ``__a*`` per group.
        post_sql: DuckDB SQL over ``__agg`` -> the output rows (projection, HAVING, types).
        having_sql: the HAVING condition over ``__agg`` (``None`` without HAVING).
        agg_relation: the relation name ``post_sql`` reads (``__agg``).
    """

    group_keys: tuple[GroupKey, ...]
    aggregates: tuple[AggregateSpec, ...]
    pre_sql: str
    pre_columns: tuple[str, ...]
    agg_sql: str
    post_sql: str
    having_sql: str | None
    agg_relation: str = AGG_RELATION

    def finish(
        self, con: duckdb.DuckDBPyConnection, pre_rows: pa.Table, schema: pa.Schema
    ) -> pa.Table:
        """Aggregate one window's pre rows (arrival order) and return its output rows."""
        seq = pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), len(pre_rows))), 1)
        aggregated = run_sql(
            con, self.agg_sql, {PRE_RELATION: pre_rows.append_column(SEQ_COLUMN, seq)}, None
        )
        return run_sql(con, self.post_sql, {AGG_RELATION: aggregated}, schema)


def _q(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.Column(this=_q(name), table=_q(table) if table else None)


def _agg_expression(spec: AggregateSpec) -> exp.Expression:
    if spec.argument_column is None:
        return exp.Count(this=exp.Star())
    value = _col(spec.argument_column)
    if spec.func in ("first", "last"):
        picker = "arg_min" if spec.func == "first" else "arg_max"
        call = exp.Anonymous(this=picker, expressions=[value, _col(SEQ_COLUMN)])
        return exp.Filter(
            this=call,
            expression=exp.Where(
                this=exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null()))
            ),
        )
    arg: exp.Expression = exp.Distinct(expressions=[value]) if spec.distinct else value
    return exp.Anonymous(this=spec.func, expressions=[arg])


def plan_aggregate(
    sql: str, rewritten: Rewritten, converted: list[exp.Expression] | None
) -> AggregatePlan:
    """Build the :class:`AggregatePlan` of a rewritten aggregate query.

    Args:
        sql: the user's SQL (for error messages).
        rewritten: the rewrite of an aggregate query (``rewritten.is_aggregate``).
        converted: output conversions over relation ``__q`` (from ``convert_outputs``).

    Raises:
        NodeValidError: a selected column that is neither grouped nor aggregated.
    """
    keys = [k.copy() for k in rewritten.group_keys]
    calls: list[exp.Expression] = []
    specs: list[AggregateSpec] = []
    pre_projection: list[exp.Expression] = []
    for i, key in enumerate(keys):
        pre_projection.append(exp.Alias(this=key.copy(), alias=_q(f"__k{i}")))
    for call in rewritten.aggregates:
        if any(call.node == seen for seen in calls):
            continue
        j = len(calls)
        calls.append(call.node)
        column = None
        if call.argument is not None:
            column = f"__v{j}"
            pre_projection.append(exp.Alias(this=call.argument.copy(), alias=_q(column)))
        specs.append(
            AggregateSpec(
                func=call.func,
                argument_sql=call.argument.sql(dialect="duckdb") if call.argument else None,
                argument_column=column,
                distinct=call.distinct,
                output=f"__a{j}",
            )
        )
    pre_columns = [f"__k{i}" for i in range(len(keys))]
    pre_columns += [s.argument_column for s in specs if s.argument_column]
    if rewritten.event_time is not None:
        pre_projection.append(
            exp.Alias(this=rewritten.event_time.copy(), alias=_q(EVENT_TIME_FIELD))
        )
        pre_columns.append(EVENT_TIME_FIELD)
    pre = rewritten.select.copy()
    pre.set("expressions", pre_projection)
    pre.set("group", None)
    pre.set("having", None)

    def to_post(node: exp.Expression) -> exp.Expression:
        for i, key in enumerate(keys):
            if node == key:
                return _col(f"__k{i}", AGG_RELATION)
        for j, seen in enumerate(calls):
            if node == seen:
                return _col(f"__a{j}", AGG_RELATION)
        if isinstance(node, exp.Column):
            raise sql_error(
                sql,
                None,
                Message(
                    f"字段 `{node.name}` 必须出现在 GROUP BY 中或被聚合",
                    f"column `{node.name}` must appear in GROUP BY or inside an aggregate",
                ),
            )
        return node

    post = exp.Select(
        expressions=[e.copy().transform(to_post) for e in rewritten.select.expressions]
    )
    post.set(
        "from_",
        exp.From(
            this=exp.Table(this=_q(AGG_RELATION), alias=exp.TableAlias(this=_q(AGG_RELATION)))
        ),
    )
    having_sql = None
    having = rewritten.select.args.get("having")
    if having is not None:
        condition = having.this.copy().transform(to_post)
        post.set("where", exp.Where(this=condition))
        having_sql = condition.sql(dialect="duckdb")
    if converted is not None:
        outer = exp.Select(expressions=[c.copy() for c in converted])
        outer.set("from_", exp.From(this=exp.Subquery(this=post, alias=exp.TableAlias(this="__q"))))
        post = outer

    agg = exp.Select(
        expressions=[_col(f"__k{i}") for i in range(len(keys))]
        + [exp.Alias(this=_agg_expression(s), alias=_q(s.output)) for s in specs]
    )
    agg.set("from_", exp.From(this=exp.Table(this=_q(PRE_RELATION))))
    if keys:
        agg.set("group", exp.Group(expressions=[_col(f"__k{i}") for i in range(len(keys))]))
    return AggregatePlan(
        group_keys=tuple(GroupKey(f"__k{i}", k.sql(dialect="duckdb")) for i, k in enumerate(keys)),
        aggregates=tuple(specs),
        pre_sql=pre.sql(dialect="duckdb"),
        pre_columns=tuple(pre_columns),
        agg_sql=agg.sql(dialect="duckdb"),
        post_sql=post.sql(dialect="duckdb"),
        having_sql=having_sql,
    )
