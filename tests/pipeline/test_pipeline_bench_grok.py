"""The W2 benchmark runner: grok COMBINEDAPACHELOG from a file to JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench.runners.sluice_grok_w2 import blocks, main

LINES = [
    '192.13.101.184 - - [31/Oct/2026:23:59:59 +0000] "GET /api/v1/users/7/orders HTTP/1.1" 200 57434 "https://shop.example.com/" "okhttp/4.12.0"',
    '10.0.0.2 - alice [31/Oct/2026:23:59:58 +0000] "POST /login HTTP/2.0" 401 - "-" "curl/8.5.0"',
    "not an access log line",
    '::1 - - [01/Nov/2026:00:00:00 +0000] "-" 400 0 "-" "-"',
]


def test_runner_writes_events_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.log"
    src.write_text("\r\n".join(LINES) + "\r\n")
    out = tmp_path / "out.jsonl"
    assert main(["--input", str(src), "--output", str(out), "--workers", "2"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["events"] == 4
    assert report["seconds"] >= 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0] == {
        "clientip": "192.13.101.184", "ident": "-", "auth": "-",
        "timestamp": "31/Oct/2026:23:59:59 +0000", "verb": "GET",
        "request": "/api/v1/users/7/orders", "httpversion": "1.1", "response": "200",
        "bytes": "57434", "referrer": '"https://shop.example.com/"', "agent": '"okhttp/4.12.0"',
    }  # fmt: skip
    assert "bytes" not in rows[1]
    assert rows[2] == {"clientip": "::1", "ident": "-", "auth": "-",
                       "timestamp": "01/Nov/2026:00:00:00 +0000", "rawrequest": "-",
                       "response": "400", "bytes": "0", "referrer": '"-"', "agent": '"-"'}  # fmt: skip
    assert rows[3] == {"message": "not an access log line", "tags": ["_grokparsefailure"]}


def test_blocks_cut_at_line_ends(tmp_path: Path) -> None:
    src = tmp_path / "x.log"
    src.write_bytes(b"aaaa\nbbbb\ncc")
    assert list(blocks(src, size=3)) == [b"aaaa\n", b"bbbb\n", b"cc"]


def test_invalid_utf8_is_replaced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "bad.log"
    src.write_bytes(b"ok\n\xff\xfe bad\n")
    out = tmp_path / "out.jsonl"
    assert main(["--input", str(src), "--output", str(out), "--workers", "1"]) == 0
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [r["message"] for r in rows] == ["ok", "\ufffd\ufffd bad"]
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["events"] == 2
