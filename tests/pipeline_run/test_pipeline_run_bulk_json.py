"""The bulk path of JSON-lines inputs (``file`` and ``tcp`` with a JSON codec): chunks parsed
by ``pyarrow.json`` on the input thread, stored as Arrow records, and the per-event path it
falls back to. The events must be exactly what the per-event path gives."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
from pipeline_run_helpers import free_port, wait_for

from sluice.bus import Bus
from sluice.pipeline.run import PipelineRunner
from sluice.pipeline.run.chunks import ChunkDecoder, decode_chunk, from_ipc, ipc_value
from sluice.plugins.inputs.base import hostname

STAMP = {"host": "h1", "@timestamp": "2026-11-21T00:00:00.000Z", "@version": "1"}


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_dates_stay_text_and_the_declaration_is_remembered() -> None:
    decoder = ChunkDecoder()
    table = decode_chunk(
        decoder, b'{"d": "2026-01-01", "n": {"t": "2026-01-01T00:00:00Z"}}\n', STAMP
    )
    assert table is not None
    assert table.to_pylist() == [{"d": "2026-01-01", "n": {"t": "2026-01-01T00:00:00Z"}, **STAMP}]
    assert decoder.hints["d"] == pa.string()
    later = decode_chunk(decoder, b'{"x": 1}\n', STAMP)  # a declared field absent: no column
    assert later is not None and later.column_names == ["x", "host", "@timestamp", "@version"]


def test_stamp_fills_only_what_events_lack() -> None:
    table = decode_chunk(ChunkDecoder(), b'{"host": "own"}\n\r\n{"a": 1}\r\n', STAMP)
    assert table is not None
    rows = table.to_pylist()
    assert [r["host"] for r in rows] == ["own", "h1"]
    assert rows[1]["a"] == 1 and rows[0]["a"] is None


def test_what_the_bulk_path_cannot_take_goes_per_event() -> None:
    decoder = ChunkDecoder()
    for chunk in (b'{"a": 1}\n{"a": "x"}\n', b"[1]\n", b"oops\n", b'{"a": "\xff"}\n',
                  b'{"a": 1, "a": 2}\n', b'{"host": 5}\n{"b": 1}\n'):  # fmt: skip
        assert decode_chunk(decoder, chunk, STAMP) is None, chunk


def test_ipc_round_trip() -> None:
    table = pa.table({"a": [1, None], "b": ["x", "y"]})
    assert from_ipc(ipc_value(table)[0].as_py()).equals(table)


def test_file_json_lines_bulk_and_per_event_mixed(bus: Bus, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(
        b'{"a": 1, "d": "2026-01-01"}\n\n{"a": 2, "host": "own"}\r\nnot json\n{"a": 3}\n'
    )
    out = tmp_path / "out.jsonl"
    config = f"""
    input {{ file {{ path => "{src}" start_position => "beginning" codec => json
                     stat_interval => "50 ms" add_field => {{ "via" => "file" }} }} }}
    output {{ file {{ path => "{out}" codec => json_lines }} }}
    """
    with PipelineRunner("bulkfile", config, bus, tmp_path / "state") as runner:
        assert wait_for(lambda: runner.status()["events_out"] == 4 and runner.lag() == 0, 60)
        # a later chunk where "a" is text: the batch or the output still holds both kinds
        with src.open("ab") as f:
            f.write(b'{"a": "x"}\n')
        assert wait_for(lambda: runner.status()["events_out"] == 5 and runner.lag() == 0, 60)
    got = _lines(out)
    assert [e.get("a") for e in got] == [1, 2, None, 3, "x"]
    assert got[0]["d"] == "2026-01-01" and got[0]["host"] == hostname()
    assert got[1]["host"] == "own" and got[1]["path"] == str(src)
    assert got[2]["message"] == "not json" and got[2]["tags"] == ["_jsonparsefailure"]
    assert all(e["via"] == "file" and e["@version"] == "1" and "@timestamp" in e for e in got)


def test_tcp_json_lines_split_across_reads(bus: Bus, tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "out.jsonl"
    config = f"""
    input {{ tcp {{ host => "127.0.0.1" port => {port} codec => json_lines }} }}
    filter {{ if [n] >= 2 {{ mutate {{ add_tag => ["big"] }} }} }}
    output {{ file {{ path => "{out}" codec => json_lines }} }}
    """
    with PipelineRunner("bulktcp", config, bus, tmp_path / "state") as runner:
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(b'{"n": 1}\n{"n"')
            conn.sendall(b': 2}\n{"n": 3, "port": "mine"}')  # the last line has no newline
        assert wait_for(lambda: runner.status()["events_out"] == 3 and runner.lag() == 0, 60)
    got = _lines(out)
    assert [e["n"] for e in got] == [1, 2, 3]
    assert got[0]["host"] == "127.0.0.1" and isinstance(got[0]["port"], int)
    assert got[2]["port"] == "mine" and got[2]["tags"] == ["big"] and "tags" not in got[0]


def test_tcp_json_lines_burst_is_gathered_in_order(bus: Bus, tmp_path: Path) -> None:
    """A fast sender's megabytes are gathered into large chunks across reads: every event
    arrives once, in order, and the last line (no newline, right before EOF) too."""
    port = free_port()
    out = tmp_path / "out.jsonl"
    config = f"""
    input {{ tcp {{ host => "127.0.0.1" port => {port} codec => json_lines }} }}
    output {{ file {{ path => "{out}" codec => json_lines }} }}
    """
    n = 60_000
    pad = "x" * 100
    data = b"".join(b'{"i": %d, "pad": "%s"}\n' % (i, pad.encode()) for i in range(n))
    with PipelineRunner("bursttcp", config, bus, tmp_path / "state") as runner:
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(data + b'{"i": %d}' % n)
        assert wait_for(lambda: runner.status()["events_out"] == n + 1 and runner.lag() == 0, 90)
        assert runner.status()["batches"] < n // 100  # chunks, not a batch per line
    assert [e["i"] for e in _lines(out)] == list(range(n + 1))
