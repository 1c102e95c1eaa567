"""Codecs: decoding byte streams into events and encoding Arrow tables."""

from __future__ import annotations

import datetime as dt

import orjson
import pyarrow as pa
import pytest

from sluice.pipeline.errors import ConfigError
from sluice.pipeline.settings.common import CodecSpec
from sluice.plugins.codecs import make_codec
from sluice.plugins.codecs.line import split_lines


def test_line_decoder_keeps_partial_lines() -> None:
    dec = make_codec(None, "line").decoder()
    assert dec.feed(b"a\r\nb") == [{"message": "a"}]
    assert dec.feed(b"c\n") == [{"message": "bc"}]
    assert dec.feed(b"tail") == []
    assert dec.flush() == [{"message": "tail"}]


def test_json_lines_decoder_tags_bad_lines() -> None:
    dec = make_codec(CodecSpec(name="json_lines"), "line").decoder()
    got = dec.feed(b'{"a": 1}\n\nnot json\n[1]\n{"b"')
    assert got == [
        {"a": 1},
        {"message": "not json", "tags": ["_jsonparsefailure"]},
        {"message": "[1]", "tags": ["_jsonparsefailure"]},
    ]
    assert dec.feed(b": 2}\n") == [{"b": 2}]


def test_json_decoder_splits_arrays() -> None:
    dec = make_codec(CodecSpec(name="json"), "line").decoder()
    assert dec.feed(b'[{"a": 1}, {"a": 2}]') == [{"a": 1}, {"a": 2}]


def test_encoders() -> None:
    ts = pa.array([dt.datetime(2013, 8, 26, 17, 47, 19, tzinfo=dt.UTC)], pa.timestamp("ms", "UTC"))
    table = pa.table({"message": ["hi"], "@timestamp": ts, "host": ["h"],
                      "@metadata": pa.array([{"x": 1}])})  # fmt: skip
    lines = make_codec(CodecSpec(name="json_lines"), "x").encode(table)
    assert orjson.loads(lines) == {
        "message": "hi", "@timestamp": "2013-08-26T17:47:19.000Z", "host": "h"
    }  # fmt: skip
    assert lines.endswith(b"\n")
    assert make_codec(CodecSpec(name="line"), "x").encode(table) == (
        b"2013-08-26T17:47:19.000Z h hi\n"
    )
    fmt = CodecSpec(name="line", settings={"format": "%{message}!"})
    assert make_codec(fmt, "x").encode(table) == b"hi!\n"
    assert make_codec(CodecSpec(name="json"), "x").encode(table).count(b"\n") == 0
    ruby = make_codec(CodecSpec(name="rubydebug"), "x").encode(table).decode()
    assert ruby == (
        "{\n"
        '    "@timestamp" => "2013-08-26T17:47:19.000Z",\n'
        '          "host" => "h",\n'
        '       "message" => "hi"\n'
        "}\n"
    )


def test_unknown_codec_and_setting() -> None:
    with pytest.raises(ConfigError, match="unknown codec"):
        make_codec(CodecSpec(name="msgpack"), "x")
    with pytest.raises(ConfigError, match="no setting"):
        make_codec(CodecSpec(name="line", settings={"colour": "red"}), "x")


@pytest.mark.parametrize("delimiter", [b"\n", b";", "\u00fc".encode()])
@pytest.mark.parametrize(
    "data",
    [b"a", b"a\n", b"a\r\nb\n\nc", b"\n", b"\xff\xe2\x82\r\nx\xc3\n", b"x;y\r;\xff;",
     "a\u00fc".encode() + b"\xffb\xc3", b"\r\r\n\r"],
)  # fmt: skip
def test_split_lines_is_the_per_line_decoding(data: bytes, delimiter: bytes) -> None:
    expected = [
        text[:-1] if text.endswith("\r") else text
        for text in (part.decode("utf-8", "replace") for part in data.split(delimiter))
    ]
    if data.endswith(delimiter):
        expected.pop()
    got = split_lines(data, delimiter)
    assert got.type == pa.string() and got.to_pylist() == expected
    assert split_lines(b"", delimiter).to_pylist() == []


def test_line_encoders_join_in_bulk() -> None:
    table = pa.table({"message": ["a", None, "\u00fc"], "host": ["h", "h", "h"]})
    line = CodecSpec(name="line", settings={"format": "%{message}", "delimiter": "|"})
    assert make_codec(line, "x").encode(table) == "a|%{message}|\u00fc|".encode()
    assert make_codec(line, "x").encode(table.slice(3)) == b""
    plain = CodecSpec(name="plain", settings={"format": "%{host}-%{message}"})
    assert make_codec(plain, "x").encode(table.slice(1)) == "h-%{message}h-\u00fc".encode()
