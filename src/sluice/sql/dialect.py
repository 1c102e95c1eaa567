"""Rewrite a parsed BKSQL ``SELECT`` into DuckDB SQL over Sluice's input relations.

:func:`rewrite_select` walks the tree once and, on the way:

- maps every ``FROM <rt_id>`` (ids such as ``591_abc`` start with digits) to the registered
  Arrow relation of that input (``__rt_<n>``) under an internal alias, so user aliases,
  qualified names (``a.signature``) and lateral UDTF outputs resolve without clashes;
- resolves every column (unknown / ambiguous columns and tables are positioned errors) and
  records which fields of each input are read;
- rewrites every function through the :class:`~sluice.sql.functions.FunctionRegistry`
  (unknown names are positioned errors listing the known ones), ``CAST`` into ``TRY_CAST``
  (a bad value becomes NULL instead of failing the batch), ``lateral table(f(x)) as T(a, b)``
  into ``CROSS JOIN LATERAL (<udtf body>) AS T(a, b)``;
- collects the aggregate calls and group keys that :mod:`sluice.sql.aggregate` splits into
  an :class:`~sluice.sql.aggregate.AggregatePlan`.

The output is a :class:`Rewritten` (DuckDB tree + facts); :mod:`sluice.sql.compiler` turns it
into a runnable query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from sluice.sql.errors import node_offset, sql_error
from sluice.sql.functions import Call, FunctionArgumentError, FunctionRegistry, StaticType
from sluice.sql.rewrite_expr import AggregateCall, ExpressionRewriter
from sluice.sql.rewrite_expr import quoted as _q
from sluice.sql.scope import Relation, Scope
from sluice.sql.types import SYSTEM_FIELDS

__all__ = ["AggregateCall", "OutputColumn", "Rewritten", "relation_name", "rewrite_select"]

EVENT_TIME_FIELD = "dtEventTimeStamp"

_UNSUPPORTED_CLAUSES = {
    "with": "WITH",
    "distinct": "SELECT DISTINCT",
    "order": "ORDER BY",
    "limit": "LIMIT",
    "offset": "OFFSET",
    "qualify": "QUALIFY",
    "windows": "WINDOW",
    "into": "INTO",
    "locks": "FOR UPDATE",
}


# Typed (non-Anonymous) nodes that are syntax rather than named functions.
def relation_name(index: int) -> str:
    """The DuckDB name under which input number ``index`` is registered (``__rt_<index>``)."""
    return f"__rt_{index}"


@dataclass(frozen=True)
class OutputColumn:
    """One output column of the rewritten query; ``hidden`` ones are not in the RT schema."""

    name: str
    static_type: StaticType
    hidden: bool = False


@dataclass
class Rewritten:
    """The result of :func:`rewrite_select`.

    Attributes:
        select: the DuckDB tree of the whole query.
        outputs: output columns in order (``hidden`` = carried event time).
        required: input RT id -> fields read from it.
        relations: input RT id -> registered relation name, for every RT read.
        aggregates: aggregate calls (empty for a plain query).
        group_keys: rewritten GROUP BY expressions.
        event_time: the first FROM relation's ``dtEventTimeStamp`` column (DuckDB tree).
    """

    select: exp.Select
    outputs: list[OutputColumn]
    required: dict[str, set[str]]
    relations: dict[str, str]
    aggregates: list[AggregateCall] = field(default_factory=list)
    group_keys: list[exp.Expression] = field(default_factory=list)
    event_time: exp.Column | None = None

    @property
    def is_aggregate(self) -> bool:
        """True when the query has aggregates or a GROUP BY."""
        return bool(self.aggregates or self.group_keys)


class _Rewriter(ExpressionRewriter):
    def __init__(
        self,
        sql: str,
        inputs: Mapping[str, Sequence[tuple[str, str]]],
        registry: FunctionRegistry,
    ) -> None:
        super().__init__(sql, registry)
        self.inputs = inputs
        self.index = {rt: i for i, rt in enumerate(inputs)}
        self.required: dict[str, set[str]] = {}
        self.relations: dict[str, str] = {}
        self.alias_counter = 0
        self.event_time: exp.Column | None = None

    # -- SELECT ---------------------------------------------------------------------------
    def select(
        self, sel: exp.Select, carry: bool, top: bool
    ) -> tuple[exp.Select, list[OutputColumn], list[exp.Expression]]:
        for key, label in _UNSUPPORTED_CLAUSES.items():
            if sel.args.get(key):
                raise self.error(
                    sel.args[key] if isinstance(sel.args[key], exp.Expression) else sel,
                    f"实时 SQL 不支持 {label}",
                    f"{label} is not supported in realtime SQL",
                )
        scope = Scope(self.sql)
        from_ = sel.args.get("from_") or sel.args.get("from")
        if not isinstance(from_, exp.From):
            raise self.error(sel, "缺少 FROM 子句", "a FROM clause is required")
        new_from = exp.From(this=self.source(from_.this, scope))
        new_joins = [self.join(j, scope) for j in sel.args.get("joins") or []]

        aggregates_before = len(self.aggregates)
        outputs: list[OutputColumn] = []
        projections: list[exp.Expression] = []
        aliases: dict[str, exp.Expression] = {}
        for item in sel.expressions:
            for name, expr, stype in self.projection(item, scope):
                if any(o.name.lower() == name.lower() for o in outputs):
                    raise self.error(
                        item, f"输出字段 `{name}` 重复", f"duplicate output field `{name}`"
                    )
                outputs.append(OutputColumn(name, stype))
                aliases[name] = expr
                projections.append(exp.Alias(this=expr, alias=_q(name)))

        new = exp.Select(expressions=projections)
        new.set("from_", new_from)
        if new_joins:
            new.set("joins", new_joins)
        where = sel.args.get("where")
        if where is not None:
            new.set("where", exp.Where(this=self.expr(where.this, scope, allow_agg=False)))
        group_keys: list[exp.Expression] = []
        group = sel.args.get("group")
        if group is not None:
            for key in group.expressions:
                group_keys.append(self.group_key(key, scope, aliases))
            new.set("group", exp.Group(expressions=[k.copy() for k in group_keys]))
        having = sel.args.get("having")
        if having is not None:
            new.set("having", exp.Having(this=self.expr(having.this, scope, allow_agg=True)))
        is_aggregate = bool(group_keys) or len(self.aggregates) > aggregates_before
        first = scope.relations[0]
        if top and EVENT_TIME_FIELD in first.columns:
            scope.note_required(first, EVENT_TIME_FIELD)
            self.event_time = exp.Column(this=_q(EVENT_TIME_FIELD), table=_q(first.alias))
        if not top and is_aggregate:
            raise self.error(
                sel, "子查询中不支持聚合", "aggregates are not supported in subqueries"
            )

        selected = any(o.name == EVENT_TIME_FIELD for o in outputs)
        if carry and not is_aggregate and not selected and EVENT_TIME_FIELD in first.columns:
            scope.note_required(first, EVENT_TIME_FIELD)
            column = exp.Column(this=_q(EVENT_TIME_FIELD), table=_q(first.alias))
            new.append("expressions", exp.Alias(this=column, alias=_q(EVENT_TIME_FIELD)))
            outputs.append(OutputColumn(EVENT_TIME_FIELD, "long", hidden=True))
        for rt, names in scope.required.items():
            self.required.setdefault(rt, set()).update(names)
        return new, outputs, group_keys

    def projection(
        self, item: exp.Expression, scope: Scope
    ) -> list[tuple[str, exp.Expression, StaticType]]:
        if isinstance(item, exp.Star):
            return [c for r in scope.relations for c in self.star(r, scope)]
        if isinstance(item, exp.Column) and isinstance(item.this, exp.Star):
            return self.star(scope.relation(item.table, item), scope)
        if isinstance(item, exp.Alias):
            expr = self.expr(item.this, scope, allow_agg=True)
            return [(item.alias, expr, self.types.get(id(expr)))]
        if isinstance(item, exp.Column):
            expr = self.expr(item, scope, allow_agg=False)
            return [(expr.name, expr, self.types.get(id(expr)))]
        if isinstance(item, exp.Localtime):
            expr = self.expr(item, scope, allow_agg=False)
            return [(expr.name, expr, self.types.get(id(expr)))]
        raise self.error(
            item,
            f"表达式 `{item.sql(dialect='mysql')}` 需要别名（AS name）",
            f"expression `{item.sql(dialect='mysql')}` needs an alias (AS name)",
        )

    def star(
        self, relation: Relation, scope: Scope
    ) -> list[tuple[str, exp.Expression, StaticType]]:
        out: list[tuple[str, exp.Expression, StaticType]] = []
        for name in relation.declared:
            scope.note_required(relation, name)
            out.append(
                (name, exp.Column(this=_q(name), table=_q(relation.alias)), relation.columns[name])
            )
        return out

    def group_key(
        self, key: exp.Expression, scope: Scope, aliases: Mapping[str, exp.Expression]
    ) -> exp.Expression:
        if (
            isinstance(key, exp.Column)
            and not key.table
            and key.name in aliases
            and scope.resolve(key) is None
        ):
            return aliases[key.name].copy()
        if isinstance(key, exp.Literal) and not key.is_string:
            raise self.error(
                key, "GROUP BY 不支持按位置引用", "GROUP BY by position is not supported"
            )
        return self.expr(key, scope, allow_agg=False)

    # -- FROM -----------------------------------------------------------------------------
    def next_alias(self) -> str:
        alias = f"__s{self.alias_counter}"
        self.alias_counter += 1
        return alias

    def source(self, item: exp.Expression, scope: Scope) -> exp.Expression:
        if isinstance(item, exp.Table):
            return self.table(item, scope)
        if isinstance(item, exp.Subquery) and isinstance(item.this, exp.Select):
            if not item.alias:
                raise self.error(item, "子查询需要别名", "a subquery in FROM needs an alias")
            inner, outputs, _ = self.select(item.this, carry=True, top=False)
            alias = self.next_alias()
            columns = {o.name: o.static_type for o in outputs}
            declared = [o.name for o in outputs if not o.hidden]
            scope.add(Relation(item.alias, alias, columns, declared), item)
            return exp.Subquery(this=inner, alias=exp.TableAlias(this=_q(alias)))
        if isinstance(item, exp.Lateral):
            return self.lateral(item, scope)
        raise self.error(
            item,
            f"FROM 中不支持 `{item.sql(dialect='mysql')}`",
            f"unsupported FROM item `{item.sql(dialect='mysql')}`",
        )

    def table(self, table: exp.Table, scope: Scope) -> exp.Expression:
        if table.args.get("db") or table.args.get("catalog"):
            raise self.error(
                table,
                f"不支持带库名的表 `{table.sql(dialect='mysql')}`",
                f"qualified table names are not supported: `{table.sql(dialect='mysql')}`",
            )
        rt = table.name
        if rt not in self.inputs:
            known = ", ".join(self.inputs) or "-"
            raise self.error(
                table,
                f"未知的结果表 `{rt}`：不是本节点的输入（输入：{known}）",
                f"unknown result table `{rt}`: not an input of this node (inputs: {known})",
            )
        schema = list(self.inputs[rt])
        columns: dict[str, StaticType] = dict(schema)
        for name, stype in SYSTEM_FIELDS:
            columns.setdefault(name, stype)
        alias = self.next_alias()
        relname = relation_name(self.index[rt])
        self.relations[rt] = relname
        scope.add(Relation(table.alias or rt, alias, columns, [n for n, _ in schema], rt), table)
        return exp.Table(this=_q(relname), alias=exp.TableAlias(this=_q(alias)))

    def lateral(self, lateral: exp.Lateral, scope: Scope) -> exp.Expression:
        wrapper = lateral.this
        if not (
            isinstance(wrapper, exp.Anonymous)
            and wrapper.name.lower() == "table"
            and len(wrapper.expressions) == 1
            and isinstance(wrapper.expressions[0], exp.Anonymous)
        ):
            raise self.error(
                lateral,
                "LATERAL 只支持 lateral table(<表函数>(...)) as T(...)",
                "LATERAL only supports lateral table(<udtf>(...)) as T(...)",
            )
        call = wrapper.expressions[0]
        name = call.name.lower()
        fn = self.registry.tables.get(name)
        if fn is None:
            known = ", ".join(self.registry.known("table"))
            raise self.error(
                call,
                f"未知的表函数 `{call.name}`（可用：{known}）",
                f"unknown table function `{call.name}` (known: {known})",
            )
        self.arity(call, name, len(call.expressions), fn.min_args, fn.max_args)
        args = [self.expr(a, scope, allow_agg=False) for a in call.expressions]
        try:
            body = fn.body(Call(name, args, [self.types.get(id(a)) for a in args]))
        except FunctionArgumentError as err:
            raise sql_error(self.sql, node_offset(call), err.reason) from None
        alias_node = lateral.args.get("alias")
        given = [c.name for c in alias_node.columns] if alias_node is not None else []
        names = given or [c for c, _ in fn.columns]
        if len(names) != len(fn.columns):
            raise self.error(
                alias_node or lateral,
                f"表函数 {name} 输出 {len(fn.columns)} 列，但 AS 给出了 {len(names)} 个列名",
                f"table function {name} returns {len(fn.columns)} columns but AS names "
                f"{len(names)}",
            )
        key = alias_node.name if alias_node is not None and alias_node.name else name
        alias = self.next_alias()
        columns: dict[str, StaticType] = {n: t for n, (_, t) in zip(names, fn.columns, strict=True)}
        scope.add(Relation(key, alias, columns, list(names)), lateral)
        return exp.Lateral(
            this=exp.Subquery(this=body),
            alias=exp.TableAlias(this=_q(alias), columns=[_q(n) for n in names]),
        )

    def join(self, join: exp.Join, scope: Scope) -> exp.Join:
        if join.args.get("using"):
            raise self.error(
                join, "不支持 JOIN ... USING，请使用 ON", "JOIN ... USING is not supported; use ON"
            )
        side = (join.side or "").upper()
        target = self.source(join.this, scope)
        on = join.args.get("on")
        new = exp.Join(this=target)
        if isinstance(target, exp.Lateral):
            new.set("kind", "CROSS" if side != "LEFT" else None)
            if side == "LEFT":
                new.set("side", "LEFT")
                new.set("on", exp.true())
            return new
        if side:
            new.set("side", side)
        if join.kind:
            new.set("kind", join.kind)
        if on is not None:
            new.set("on", self.expr(on, scope, allow_agg=False))
        elif side:
            raise self.error(
                join, f"{side} JOIN 需要 ON 条件", f"{side} JOIN needs an ON condition"
            )
        return new


def rewrite_select(
    sql: str,
    select: exp.Select,
    inputs: Mapping[str, Sequence[tuple[str, str]]],
    registry: FunctionRegistry,
    *,
    carry_event_time: bool = True,
) -> Rewritten:
    """Rewrite a parsed, sandbox-checked ``SELECT`` into DuckDB SQL; see the module doc.

    Args:
        sql: the original text (for error positions).
        select: the tree from :func:`sluice.sql.parser.parse_select`.
        inputs: input RT id -> declared schema; the order fixes ``__rt_<n>`` names.
        registry: the functions SQL may call.
        carry_event_time: add the first relation's ``dtEventTimeStamp`` as a hidden output
            of non-aggregate queries (unless selected), so results keep their event time.

    Raises:
        NodeValidError: positioned, for every problem found.
    """
    rewriter = _Rewriter(sql, inputs, registry)
    new, outputs, keys = rewriter.select(select, carry=carry_event_time, top=True)
    return Rewritten(
        select=new,
        outputs=outputs,
        required=rewriter.required,
        relations=rewriter.relations,
        aggregates=rewriter.aggregates,
        group_keys=keys,
        event_time=rewriter.event_time,
    )
