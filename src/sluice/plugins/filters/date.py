"""The ``date`` filter: parse a field with ISO8601, UNIX, UNIX_MS or Joda patterns into a
timestamp (``target``, default ``@timestamp``).

Logstash reference behaviour: ``match => [field, format, ...]`` tries the formats in
order; the first that parses wins; ``timezone`` is the zone of times that carry none
(Sluice defaults to UTC, Logstash to the JVM's zone); a row whose field is present but
matches no format gets ``tag_on_failure`` (``_dateparsefailure``) and is not "matched";
an absent field is left alone. A Joda pattern without a year takes the current year.

How it runs: each Joda pattern is translated once into a DuckDB ``strptime`` format and the
whole column is parsed with ``try_strptime`` in one query; ISO8601 goes through Arrow's
ISO-8601 cast; UNIX/UNIX_MS are arithmetic on the numbers. Results are
``timestamp[ms, UTC]`` (Logstash's millisecond precision).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline.batch import string_view
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.executor import Kernel
from sluice.pipeline.fields import add_tags, get, parse_ref, set_where
from sluice.pipeline.settings.common import PluginSettings
from sluice.plugins.filters._util import all_true, as_mask

__all__ = ["date_kernel", "joda_to_strptime"]

TS = pa.timestamp("ms", tz="UTC")

_JODA = [
    ("yyyy", "%Y"), ("YYYY", "%Y"), ("yy", "%y"), ("MMMM", "%B"), ("MMM", "%b"), ("MM", "%m"),
    ("M", "%m"), ("dd", "%d"), ("d", "%d"), ("HH", "%H"), ("H", "%H"), ("hh", "%I"),
    ("h", "%I"), ("mm", "%M"), ("m", "%M"), ("ss", "%S"), ("s", "%S"), ("SSSSSS", "%f"),
    ("SSS", "%g"), ("SS", "%g"), ("S", "%g"), ("a", "%p"), ("EEEE", "%A"), ("EEE", "%a"),
    ("ZZZ", "%Z"), ("ZZ", "%z"), ("Z", "%z"), ("Z", "%z"), ("z", "%Z"), ("y", "%Y"),
]  # fmt: skip
_TOKEN = re.compile(r"'([^']*)'|([a-zA-Z])\2*")


def joda_to_strptime(pattern: str) -> tuple[str, bool, bool]:
    """A Joda time pattern as a DuckDB strptime format, whether it has a year and a zone.

    Raises:
        ConfigError: for a letter Sluice does not translate.
    """
    out: list[str] = []
    has_year = has_zone = False
    pos = 0
    for m in _TOKEN.finditer(pattern):
        out.append(pattern[pos : m.start()].replace("%", "%%"))
        pos = m.end()
        if m.group(1) is not None:
            out.append(m.group(1).replace("%", "%%") if m.group(1) else "'")
            continue
        token = m.group(0)
        for joda, fmt in _JODA:
            if token == joda:
                out.append(fmt)
                has_year |= fmt in ("%Y", "%y")
                has_zone |= fmt in ("%z", "%Z")
                break
        else:
            raise ConfigError(
                f"date pattern {pattern!r}: the Joda field {token!r} is not supported",
                expected=[j for j, _ in _JODA],
            )
    out.append(pattern[pos:].replace("%", "%%"))
    return "".join(out), has_year, has_zone


def _iso8601(strings: pa.Array, zone: str) -> pa.Array:
    s = pc.replace_substring_regex(strings, pattern=r"^(\d{4}-\d\d-\d\d) ", replacement=r"\1T")
    s = pc.replace_substring_regex(s, pattern=r",(\d+)", replacement=r".\1")
    # Arrow wants a zone to cast to a zoned type: parse zoned and naive rows apart.
    zoned = pc.match_substring_regex(s, r"(Z|[+-]\d\d:?\d\d)$")
    zoned = as_mask(zoned)
    out = pa.nulls(len(s), TS)
    with_zone = pc.if_else(zoned, s, pa.nulls(len(s), pa.string()))
    without = pc.if_else(zoned, pa.nulls(len(s), pa.string()), s)
    ok_z = pc.match_substring_regex(
        with_zone, r"^\d{4}-\d\d-\d\d(T\d\d(:\d\d(:\d\d(\.\d+)?)?)?)?(Z|[+-]\d\d:?\d\d)$"
    )
    ok_n = pc.match_substring_regex(without, r"^\d{4}-\d\d-\d\d(T\d\d(:\d\d(:\d\d(\.\d+)?)?)?)?$")
    try:
        parsed_z = pc.if_else(as_mask(ok_z), with_zone, None).cast(TS, safe=False)
        naive = pc.if_else(as_mask(ok_n), without, None).cast(pa.timestamp("ms"), safe=False)
        parsed_n = pc.assume_timezone(naive, zone, ambiguous="earliest", nonexistent="earliest")
        out = pc.coalesce(parsed_z, parsed_n.cast(TS))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return out
    return out


def _unix(arr: pa.Array, scale: float) -> pa.Array:
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
        nums = pc.cast(arr, pa.float64())
    else:
        s = string_view(pa.table({"v": arr}), ("v",))
        assert s is not None
        good = as_mask(pc.match_substring_regex(s, r"^-?\d+(\.\d+)?$"))
        nums = pc.cast(pc.if_else(good, s, None), pa.float64())
    ms = pc.cast(pc.round(pc.multiply(nums, scale)), pa.int64())
    return ms.cast(pa.timestamp("ms")).cast(TS)


class _Format:
    def __init__(self, text: str) -> None:
        self.text = text
        self.kind = text if text in ("ISO8601", "UNIX", "UNIX_MS") else "joda"
        if text == "TAI64N":
            raise ConfigError("date format TAI64N is not supported", expected=["ISO8601"])
        if self.kind == "joda":
            self.fmt, self.has_year, self.has_zone = joda_to_strptime(text)


def _strptime(strings: pa.Array, fmt: _Format, zone: str) -> pa.Array:
    con = duckdb.connect(":memory:")
    try:
        con.register("v", pa.table({"s": strings}))
        sql = "SELECT try_strptime(s, $fmt) AS t FROM v"
        rel = con.sql(sql, params={"fmt": fmt.fmt})
        result = rel.to_arrow_table().column("t").combine_chunks()
    except duckdb.Error:
        return pa.nulls(len(strings), TS)
    finally:
        con.close()
    if fmt.has_zone:
        return result.cast(TS)
    if not fmt.has_year:
        year = dt.datetime.now(dt.UTC).year
        years = pc.year(result)
        shift = pc.multiply(pc.subtract(pa.scalar(year), years), 1)
        result = _with_year(result, shift)
    naive = result.cast(pa.timestamp("ms"))
    local = pc.assume_timezone(naive, zone, ambiguous="earliest", nonexistent="earliest")
    return local.cast(TS)


def _with_year(ts: pa.Array, shift: pa.Array) -> pa.Array:
    """Move each timestamp by ``shift`` years (the year of a pattern without one)."""
    table = pa.table({"t": ts, "k": shift})
    con = duckdb.connect(":memory:")
    try:
        con.register("v", table)
        out = con.sql("SELECT t + to_years(k::INTEGER) AS t FROM v").to_arrow_table()
    finally:
        con.close()
    return out.column("t").combine_chunks()


def date_kernel(settings: PluginSettings) -> Kernel:
    """Build the date kernel; the failed mask marks rows not parsed (and absent fields)."""
    cfg: Any = settings
    match = list(cfg.match)
    if len(match) < 2:
        raise ConfigError("date match needs a field and at least one format")
    source = parse_ref(match[0])
    formats = [_Format(f) for f in match[1:]]
    target = parse_ref(cfg.target)
    zone = cfg.timezone or "UTC"
    try:
        pc.assume_timezone(pa.array([0], pa.timestamp("ms")), zone)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise ConfigError(f"date timezone {zone!r} is not a known time zone") from None
    tags = list(cfg.tag_on_failure)

    def kernel(table: pa.Table) -> tuple[pa.Table, pa.Array | None]:
        n = table.num_rows
        arr = get(table, source)
        if arr is None:
            return table, all_true(n)
        if pa.types.is_list(arr.type):
            arr = pc.list_element(arr, 0)  # Logstash parses the first item of an array
        result = pa.nulls(n, TS)
        for fmt in formats:
            todo = pc.and_(arr.is_valid(), result.is_null())
            if not pc.any(todo).as_py():
                break
            if fmt.kind in ("UNIX", "UNIX_MS"):
                parsed = _unix(arr, 1000.0 if fmt.kind == "UNIX" else 1.0)
            else:
                s = string_view(pa.table({"v": arr}), ("v",))
                assert s is not None
                parsed = _iso8601(s, zone) if fmt.kind == "ISO8601" else _strptime(s, fmt, zone)
            result = pc.coalesce(result, parsed)
        ok = as_mask(result.is_valid())
        table = set_where(table, target, result, ok)
        table = add_tags(table, tags, pc.and_(as_mask(arr.is_valid()), pc.invert(ok)))
        return table, pc.invert(ok)

    return kernel
