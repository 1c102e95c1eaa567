"""Expression rewriting for realtime SQL: columns, functions, aggregates, casts.

:class:`ExpressionRewriter` turns one BKSQL expression tree into its DuckDB form within a
:class:`~sluice.sql.scope.Scope`, tracking what is statically known of each result's type
and every aggregate call met. :mod:`sluice.sql.dialect` builds the ``SELECT`` around it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from sluice.model.errors import Message
from sluice.sql.errors import node_offset, sql_error
from sluice.sql.functions import Call, FunctionArgumentError, FunctionRegistry, StaticType
from sluice.sql.scope import Scope

__all__ = ["AggregateCall", "ExpressionRewriter", "quoted"]

# Typed (non-Anonymous) nodes that are syntax rather than named functions.
_PASS_THROUGH = (
    exp.If,
    exp.Case,
    exp.Extract,
    exp.Paren,
    exp.Binary,
    exp.Unary,
    exp.Between,
    exp.In,
    exp.Is,
    exp.Interval,
    exp.Var,
    exp.DataType,
    exp.Tuple,
    exp.Null,
    exp.Boolean,
    exp.Literal,
    exp.Identifier,
)


@dataclass
class AggregateCall:
    """An aggregate call found in the projection or HAVING (rewritten arguments)."""

    func: str
    argument: exp.Expression | None
    distinct: bool
    node: exp.Expression


def quoted(name: str) -> exp.Identifier:
    """A quoted identifier (DuckDB keeps its case and it may be a keyword)."""
    return exp.to_identifier(name, quoted=True)


class ExpressionRewriter:
    """Rewrites expressions; subclassed by the SELECT rewriter of :mod:`sluice.sql.dialect`."""

    def __init__(self, sql: str, registry: FunctionRegistry) -> None:
        self.sql = sql
        self.registry = registry
        self.types: dict[int, StaticType] = {}
        self.aggregates: list[AggregateCall] = []

    def error(self, node: exp.Expression | None, zh: str, en: str) -> Exception:
        """A positioned error at ``node``."""
        return sql_error(self.sql, node_offset(node), Message(zh, en))

    def arity(self, node: exp.Expression, name: str, count: int, lo: int, hi: int | None) -> None:
        if count < lo or (hi is not None and count > hi):
            expected = str(lo) if hi == lo else f"{lo}..{hi if hi is not None else 'n'}"
            raise self.error(
                node,
                f"函数 {name}() 需要 {expected} 个参数，实际 {count} 个",
                f"function {name}() takes {expected} arguments, got {count}",
            )

    def expr(self, node: exp.Expression, scope: Scope, allow_agg: bool) -> exp.Expression:
        if isinstance(node, exp.Column):
            return self.column(node, scope)
        if isinstance(node, exp.Localtime):
            return self.column(exp.Column(this=exp.to_identifier("localTime")), scope, at=node)
        if isinstance(node, exp.Anonymous):
            return self.call(node, scope, allow_agg)
        if isinstance(node, exp.Substring):
            args = [node.this, node.args.get("start"), node.args.get("length")]
            anon = exp.Anonymous(this="substring", expressions=[a for a in args if a is not None])
            anon.meta.update(node.meta)
            return self.call(anon, scope, allow_agg)
        if isinstance(node, (exp.CurrentTimestamp, exp.CurrentDatetime)):
            out: exp.Expression = exp.Anonymous(this="now", expressions=[])
            self.types[id(out)] = "sqltime"
            return out
        if isinstance(node, (exp.Cast, exp.TryCast)):
            inner = self.expr(node.this, scope, allow_agg)
            return exp.TryCast(this=inner, to=node.args["to"].copy())
        if isinstance(node, (exp.Subquery, exp.Select, exp.Exists)) or (
            isinstance(node, exp.In) and node.args.get("query")
        ):
            raise self.error(
                node, "表达式中不支持子查询", "subqueries in expressions are not supported"
            )
        if isinstance(node, exp.Window):
            raise self.error(
                node, "不支持窗口函数 OVER", "window functions (OVER) are not supported"
            )
        if isinstance(node, (exp.Placeholder, exp.Parameter)):
            raise self.error(node, "不支持参数占位符", "query parameters are not supported")
        if isinstance(node, (exp.Trim, exp.CurrentDate, exp.CurrentTime, *_PASS_THROUGH)):
            new = node.copy()
            for key, value in node.args.items():
                if isinstance(value, exp.Expression):
                    new.set(key, self.expr(value, scope, allow_agg))
                elif isinstance(value, list):
                    new.set(
                        key,
                        [
                            self.expr(v, scope, allow_agg) if isinstance(v, exp.Expression) else v
                            for v in value
                        ],
                    )
            if isinstance(node, exp.Literal):
                self.types[id(new)] = (
                    "string" if node.is_string else ("long" if node.is_int else "double")
                )
            return new
        raise self.error(
            node,
            f"不支持的表达式 `{node.sql(dialect='mysql')}`",
            f"unsupported expression `{node.sql(dialect='mysql')}`",
        )

    def column(
        self, node: exp.Column, scope: Scope, at: exp.Expression | None = None
    ) -> exp.Expression:
        if isinstance(node.this, exp.Star):
            raise self.error(node, "这里不能使用 *", "* is not allowed here")
        found = scope.resolve(node)
        if found is None:
            if at is not None:
                raise self.error(at, "未知字段 `localTime`", "unknown column `localTime`")
            raise scope.unknown_column(node)
        relation, name = found
        scope.note_required(relation, name)
        out = exp.Column(this=quoted(name), table=quoted(relation.alias))
        self.types[id(out)] = relation.columns.get(name)
        return out

    def call(self, node: exp.Anonymous, scope: Scope, allow_agg: bool) -> exp.Expression:
        name = node.name.lower()
        kind = self.registry.kind_of(name)
        if kind is None:
            known = ", ".join(self.registry.known("scalar") + self.registry.known("aggregate"))
            raise self.error(
                node,
                f"未知函数 `{node.name}`（可用：{known}）",
                f"unknown function `{node.name}` (known: {known})",
            )
        if kind == "table":
            raise self.error(
                node,
                f"{node.name} 是表函数，请写作 lateral table({node.name}(...)) as T(...)",
                f"{node.name} is a table function: use lateral table({node.name}(...)) as T(...)",
            )
        if kind == "aggregate":
            return self.aggregate(node, name, scope, allow_agg)
        fn = self.registry.scalars[name]
        self.arity(node, name, len(node.expressions), fn.min_args, fn.max_args)
        args = [self.expr(a, scope, allow_agg) for a in node.expressions]
        try:
            out = fn.rewrite(Call(name, args, [self.types.get(id(a)) for a in args]))
        except FunctionArgumentError as err:
            raise sql_error(self.sql, node_offset(node), err.reason) from None
        self.types[id(out)] = fn.returns
        return out

    def aggregate(
        self, node: exp.Anonymous, name: str, scope: Scope, allow_agg: bool
    ) -> exp.Expression:
        if not allow_agg:
            raise self.error(
                node,
                f"这里不能使用聚合函数 {name}()",
                f"aggregate {name}() is not allowed here (only in SELECT and HAVING)",
            )
        fn = self.registry.aggregates[name]
        self.arity(node, name, len(node.expressions), 1, 1)
        arg = node.expressions[0]
        distinct = isinstance(arg, exp.Distinct)
        if distinct:
            if not fn.allows_distinct or len(arg.expressions) != 1:
                raise self.error(
                    node,
                    f"{name}(DISTINCT ...) 只接受一个参数",
                    f"{name}(DISTINCT ...) takes one argument",
                )
            arg = arg.expressions[0]
        argument: exp.Expression | None
        if isinstance(arg, exp.Star):
            if not fn.allows_star or distinct:
                raise self.error(node, f"{name}(*) 不合法", f"{name}(*) is not valid")
            argument = None
        else:
            argument = self.expr(arg, scope, allow_agg=False)
        if argument is None:
            out: exp.Expression = exp.Count(this=exp.Star())
        elif distinct:
            out = exp.Anonymous(
                this=name, expressions=[exp.Distinct(expressions=[argument.copy()])]
            )
        else:
            out = exp.Anonymous(this=name, expressions=[argument.copy()])
        if name in ("count",):
            self.types[id(out)] = "long"
        elif name in ("min", "max", "first", "last", "sum") and argument is not None:
            self.types[id(out)] = self.types.get(id(argument))
        self.aggregates.append(AggregateCall(name, argument, distinct, out))
        return out
