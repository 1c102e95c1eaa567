"""The built-in functions of Sluice's realtime SQL, and :data:`DEFAULT_REGISTRY`.

Every function is rewritten into DuckDB's built-in, vectorised SQL (no Python per row):
strings, regular expressions (RE2 syntax; Java ``$1`` group references are translated),
null handling, math, time (UTC; Java date patterns), ``JSON_VALUE``, the aggregates and the
log platform's UDTFs. The UDTF semantics are inferred from the templates (see
``docs/sql.md``): BKBase does not publish them.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from sluice.sql.functions import (
    AggregateFunction,
    Call,
    FunctionRegistry,
    Rewrite,
    ScalarFunction,
    StaticType,
    TableFunction,
    by_arity,
    select_template,
    template,
)
from sluice.sql.timefmt import java_to_strftime

__all__ = ["DEFAULT_REGISTRY", "build_default_registry"]


def _variadic(fn_name: str, cast_varchar: bool = False) -> Rewrite:
    def rewrite(call: Call) -> exp.Expression:
        args = [
            exp.Cast(this=a, to=exp.DataType.build("VARCHAR")) if cast_varchar else a
            for a in call.args
        ]
        return exp.Anonymous(this=fn_name, expressions=args)

    return rewrite


def _concat(call: Call) -> exp.Expression:
    parts = [exp.Cast(this=a, to=exp.DataType.build("VARCHAR")) for a in call.args]
    result: exp.Expression = parts[0]
    for part in parts[1:]:
        result = exp.DPipe(this=result, expression=part)
    return exp.Paren(this=result)


def _concat_ws(call: Call) -> exp.Expression:
    rest = [exp.Cast(this=a, to=exp.DataType.build("VARCHAR")) for a in call.args[1:]]
    return exp.Anonymous(this="concat_ws", expressions=[call.args[0], *rest])


def _regexp_extract(call: Call) -> exp.Expression:
    group = call.int_literal(2) if len(call.args) > 2 else 0
    return template(
        "CASE WHEN regexp_matches({0}, {1}) THEN regexp_extract({0}, {1}, " + str(group) + ") END"
    )(call)


def _regexp_replace(call: Call) -> exp.Expression:
    replacement: exp.Expression = call.args[2]
    if isinstance(replacement, exp.Literal) and replacement.is_string:
        # Java's group references are $1; RE2's are \1.
        java = str(replacement.this)
        re2 = "".join("\\" + ch[1:] if ch.startswith("$") else ch for ch in _split_group_refs(java))
        replacement = exp.Literal.string(re2)
    call = Call(call.name, [call.args[0], call.args[1], replacement], call.arg_types)
    return template("regexp_replace({0}, {1}, {2}, 'g')")(call)


def _split_group_refs(text: str) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "$" and i + 1 < len(text) and text[i + 1].isdigit():
            out.append(text[i : i + 2])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return out


def _time_format(call: Call, index: int) -> exp.Expression:
    if len(call.args) > index:
        return exp.Literal.string(java_to_strftime(call.literal(index)))
    return exp.Literal.string("%Y-%m-%d %H:%M:%S")


def _unix_timestamp(call: Call) -> exp.Expression:
    if not call.args:
        return template("CAST(epoch(now()) AS BIGINT)")(call)
    fmt = _time_format(call, 1)
    return template("CAST(epoch(try_strptime(CAST({0} AS VARCHAR), {1})) AS BIGINT)")(
        Call(call.name, [call.args[0], fmt], call.arg_types)
    )


def _from_unixtime(call: Call) -> exp.Expression:
    fmt = _time_format(call, 1)
    return template("strftime(make_timestamp(CAST({0} AS BIGINT) * 1000000), {1})")(
        Call(call.name, [call.args[0], fmt], call.arg_types)
    )


def _date_format(call: Call) -> exp.Expression:
    fmt = _time_format(call, 1)
    kind = call.arg_types[0] if call.arg_types else None
    if kind in ("int", "long", "timestamp"):
        tpl = "strftime(epoch_ms(CAST({0} AS BIGINT)), {1})"
    elif kind == "sqltime":
        tpl = "strftime({0}, {1})"
    else:
        tpl = "strftime(TRY_CAST({0} AS TIMESTAMP), {1})"
    return template(tpl)(Call(call.name, [call.args[0], fmt], call.arg_types))


def _to_timestamp(call: Call) -> exp.Expression:
    kind = call.arg_types[0] if call.arg_types else None
    if kind in ("int", "long", "timestamp") and len(call.args) == 1:
        return template("epoch_ms(CAST({0} AS BIGINT))")(call)
    fmt = _time_format(call, 1)
    return template("try_strptime(CAST({0} AS VARCHAR), {1})")(
        Call(call.name, [call.args[0], fmt], call.arg_types)
    )


_JSON_VALUE = (
    "CASE WHEN json_valid({0}) AND json_type({0}, {1}) NOT IN ('OBJECT', 'ARRAY')"
    " THEN json_extract_string({0}, {1}) END"
)
_JSON_OBJECT = "CASE WHEN json_valid({0}) AND json_type({0}) = 'OBJECT' THEN {0} END"
_SIGNATURE_LEVELS = ("dist_01", "dist_03", "dist_05", "dist_07", "dist_09")


def _level(json_sql: str, level: str) -> str:
    digits = level.split("_")[1]
    return f"coalesce(json_extract_string({json_sql}, '$.{level}'), json_extract_string({json_sql}, '$.\"{digits}\"'))"


def _signature_format_body() -> Callable[[Call], exp.Select]:
    cols = ", ".join(f"{_level('j', lv)} AS {lv}" for lv in _SIGNATURE_LEVELS)
    return select_template(f"SELECT {cols} FROM (SELECT {_JSON_OBJECT} AS j) WHERE j IS NOT NULL")


_DEAL_MODEL_JSON = (
    "SELECT e.key AS sensitivity, e.value AS signature FROM (SELECT unnest(map_entries("
    "json_transform(" + _JSON_OBJECT + ", '\"MAP(VARCHAR, VARCHAR)\"'))) AS e)"
)
_SINGLE_SIGNATURE = (
    "SELECT v FROM (SELECT CASE WHEN j IS NULL THEN CAST({0} AS VARCHAR) ELSE "
    + "coalesce(json_extract_string(j, '$.dist_05'), json_extract_string(j, '$.\"05\"'), "
    + "json_extract_string(j, '$.\"0.5\"'), json_extract_string(j, '$.__dist_05')) END AS v"
    + " FROM (SELECT "
    + _JSON_OBJECT
    + " AS j)) WHERE v IS NOT NULL"
)


def _scalar(
    registry: FunctionRegistry,
    names: str,
    min_args: int,
    max_args: int | None,
    rewrite: Rewrite | str,
    returns: StaticType = None,
    description: str = "",
) -> None:
    fn = template(rewrite) if isinstance(rewrite, str) else rewrite
    for name in names.split():
        registry.register_scalar(ScalarFunction(name, min_args, max_args, fn, returns, description))


def build_default_registry() -> FunctionRegistry:
    """Return a new registry holding every built-in function of Sluice's realtime SQL."""
    r = FunctionRegistry()
    # strings
    _scalar(
        r,
        "length char_length character_length",
        1,
        1,
        "CAST(length(CAST({0} AS VARCHAR)) AS INTEGER)",
        "int",
    )
    _scalar(r, "lower lcase", 1, 1, "lower({0})", "string")
    _scalar(r, "upper ucase", 1, 1, "upper({0})", "string")
    _scalar(
        r,
        "substring substr",
        2,
        3,
        by_arity("substring({0}, {1})", "substring({0}, {1}, {2})"),
        "string",
        "1-based start, optional length",
    )
    _scalar(r, "concat", 1, None, _concat, "string", "NULL if any argument is NULL (Flink)")
    _scalar(r, "concat_ws", 2, None, _concat_ws, "string", "skips NULL arguments")
    _scalar(r, "trim", 1, 1, "trim({0})", "string")
    _scalar(r, "ltrim", 1, 1, "ltrim({0})", "string")
    _scalar(r, "rtrim", 1, 1, "rtrim({0})", "string")
    _scalar(r, "replace", 3, 3, "replace({0}, {1}, {2})", "string")
    _scalar(
        r,
        "split_index",
        3,
        3,
        "CASE WHEN {2} >= 0 THEN string_split({0}, {1})[{2} + 1] END",
        "string",
        "0-based; NULL when out of range",
    )
    _scalar(r, "regexp_extract", 2, 3, _regexp_extract, "string", "NULL when no match")
    _scalar(r, "regexp_replace", 3, 3, _regexp_replace, "string", "replaces every match")
    _scalar(r, "regexp regexp_like rlike", 2, 2, "regexp_matches({0}, {1})", "boolean")
    _scalar(r, "instr", 2, 2, "instr({0}, {1})", "int")
    _scalar(r, "locate", 2, 2, "instr({1}, {0})", "int")
    _scalar(r, "lpad", 3, 3, "lpad(CAST({0} AS VARCHAR), {1}, {2})", "string")
    _scalar(r, "rpad", 3, 3, "rpad(CAST({0} AS VARCHAR), {1}, {2})", "string")
    _scalar(r, "reverse", 1, 1, "reverse({0})", "string")
    _scalar(r, "repeat", 2, 2, "repeat({0}, {1})", "string")
    _scalar(r, "left", 2, 2, "left({0}, {1})", "string")
    _scalar(r, "right", 2, 2, "right({0}, {1})", "string")
    _scalar(r, "md5", 1, 1, "md5(CAST({0} AS VARCHAR))", "string")
    # null handling and conditionals (``if`` and ``case`` are syntax)
    _scalar(r, "coalesce", 1, None, _variadic("coalesce"))
    _scalar(r, "ifnull nvl", 2, 2, "coalesce({0}, {1})")
    _scalar(r, "nullif", 2, 2, "nullif({0}, {1})")
    _scalar(r, "greatest", 1, None, _variadic("greatest"))
    _scalar(r, "least", 1, None, _variadic("least"))
    # math
    for name in ("abs", "ceil", "floor", "sqrt", "exp", "sign", "ln", "log10", "log2"):
        _scalar(r, name, 1, 1, name + "({0})")
    _scalar(r, "ceiling", 1, 1, "ceil({0})")
    _scalar(r, "round", 1, 2, by_arity("round({0})", "round({0}, {1})"))
    _scalar(r, "truncate", 1, 1, "trunc({0})")
    _scalar(r, "power pow", 2, 2, "pow({0}, {1})", "double")
    _scalar(r, "mod", 2, 2, "({0} % {1})")
    _scalar(r, "log", 1, 2, by_arity("ln({0})", "ln({1}) / ln({0})"), "double")
    _scalar(r, "pi", 0, 0, "pi()", "double")
    _scalar(r, "rand random", 0, 0, "random()", "double")
    # time (UTC: see docs/sql.md)
    _scalar(r, "unix_timestamp", 0, 2, _unix_timestamp, "long", "epoch seconds")
    _scalar(r, "from_unixtime", 1, 2, _from_unixtime, "string", "epoch seconds -> text")
    _scalar(r, "now localtimestamp", 0, 0, "now()", "sqltime")
    _scalar(r, "date_format", 2, 2, _date_format, "string", "Java pattern")
    _scalar(r, "to_timestamp", 1, 2, _to_timestamp, "sqltime")
    # JSON
    _scalar(r, "json_value get_json_object", 2, 2, _JSON_VALUE, "string", "NULL unless scalar")
    # aggregates
    r.register_aggregate(AggregateFunction("count", allows_star=True, description="rows"))
    for name in ("sum", "avg", "min", "max"):
        r.register_aggregate(AggregateFunction(name))
    r.register_aggregate(AggregateFunction("first", description="first non-null value"))
    r.register_aggregate(AggregateFunction("last", description="last non-null value"))
    # the log platform's UDTFs (semantics inferred; see docs/sql.md)
    r.register_table(
        TableFunction(
            "udf_signature_format",
            1,
            1,
            tuple((lv, "string") for lv in _SIGNATURE_LEVELS),
            _signature_format_body(),
            "JSON object {dist_01: sig, ...} -> one row (dist_01..dist_09)",
        )
    )
    r.register_table(
        TableFunction(
            "udf_deal_model_json",
            1,
            1,
            (("sensitivity", "string"), ("signature", "string")),
            select_template(_DEAL_MODEL_JSON),
            "JSON object -> one row per key: (key, value)",
        )
    )
    r.register_table(
        TableFunction(
            "udf_single_signature_format_java",
            1,
            1,
            (("signature", "string"),),
            select_template(_SINGLE_SIGNATURE),
            "the level-05 value of a JSON object; a non-JSON string passes through",
        )
    )
    return r


DEFAULT_REGISTRY: FunctionRegistry = build_default_registry()
"""The built-in functions; treat as read-only and ``copy()`` it to extend."""
