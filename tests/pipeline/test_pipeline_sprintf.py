"""sprintf templates and Joda date formatting over batches."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from sluice.pipeline.errors import ConfigError
from sluice.pipeline.sprintf import compile_sprintf, format_timestamp

TS = pa.array(
    [
        dt.datetime(2026, 11, 1, 13, 5, 9, 123000, tzinfo=dt.UTC),
        dt.datetime(2024, 2, 29, 0, 0, 0, tzinfo=dt.UTC),
    ],
    pa.timestamp("ms", "UTC"),
)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("YYYY.MM.dd", ["2026.11.01", "2024.02.29"]),
        ("yy-M-d", ["26-11-1", "24-2-29"]),
        ("HH:mm:ss.SSS", ["13:05:09.123", "00:00:00.000"]),
        ("EEE, dd MMM yyyy", ["Sun, 01 Nov 2026", "Thu, 29 Feb 2024"]),
        ("EEEE MMMM", ["Sunday November", "Thursday February"]),
        ("hh a k K", ["01 PM 13 1", "12 AM 24 0"]),
        ("D e Z ZZ z", ["305 7 +0000 +00:00 UTC", "60 4 +0000 +00:00 UTC"]),
        ("xxxx'-W'ww", ["2026-W44", "2024-W09"]),
        ("yyyy'T'HH 'o''clock'", ["2026T13 o'clock", "2024T00 o'clock"]),
        ("%s", ["1793538309", "1709164800"]),
    ],
)
def test_joda_tokens(pattern: str, expected: list[str]) -> None:
    assert format_timestamp(TS, pattern).to_pylist() == expected


def test_timestamp_column_kinds() -> None:
    strings = pa.array(["2026-11-01T13:05:09Z", "2024-02-29T00:00:00.000Z"])
    assert format_timestamp(strings, "yyyy-MM-dd").to_pylist() == ["2026-11-01", "2024-02-29"]
    millis = pa.array([1793538309123], pa.int64())
    assert format_timestamp(millis, "HH:mm:ss.SSS").to_pylist() == ["13:05:09.123"]
    tokyo = TS.cast(pa.timestamp("ms", "Asia/Tokyo"))
    assert format_timestamp(tokyo, "HH").to_pylist() == ["13", "00"]  # always UTC


def test_unsupported_letter() -> None:
    with pytest.raises(ConfigError, match="unsupported date pattern letter 'G'"):
        compile_sprintf("%{+G}")


def test_references_values_and_absent_fields() -> None:
    t = pa.table(
        {
            "@timestamp": TS,
            "host": ["a", None],
            "n": [1.0, 2.5],
            "i": [3, 4],
            "ok": [True, False],
            "l": [["x", "y"], []],
            "o": pa.array([{"k": 1}, None]),
        }
    )
    tpl = compile_sprintf("%{host}|%{n}|%{i}|%{ok}|%{l}|%{[o][k]}|%{o}|%{+yyyy}|%{{MM}}|%{nope}")
    assert tpl.render(t).to_pylist() == [
        'a|1.0|3|true|x,y|1|{"k":1}|2026|11|%{nope}',
        "%{host}|2.5|4|false||%{[o][k]}|%{o}|2024|02|%{nope}",
    ]
    assert compile_sprintf("plain").is_constant
    assert not tpl.is_constant


def test_date_reference_without_timestamp_stays_literal() -> None:
    assert compile_sprintf("x-%{+YYYY}").render(pa.table({"a": [1]})).to_pylist() == ["x-%{+YYYY}"]
