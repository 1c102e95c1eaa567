"""End to end: real sockets, real files, the embedded bus, the pipeline runner."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import orjson
from pipeline_run_helpers import free_port, read_topic, wait_for  # type: ignore[import-not-found]

from sluice.bus import Bus
from sluice.pipeline.run import PipelineRunner
from sluice.pipeline.run.chunks import from_ipc
from sluice.plugins.inputs.base import hostname


def test_tcp_json_lines_into_a_result_table(bus: Bus, tmp_path: Path) -> None:
    """An nc-style client sends JSON lines; they land in a result table's topic."""
    port = free_port()
    bus.create_topic("table_2_access", partitions=2)
    config = f"""
    input {{ tcp {{ host => "127.0.0.1" port => {port} codec => json_lines }} }}
    filter {{
      mutate {{ convert => {{ "status" => "integer" }} add_field => {{ "src" => "tcp" }} }}
      if [status] >= 500 {{ mutate {{ add_tag => ["error"] }} }}
    }}
    output {{ sluice {{ topic => "table_2_access" key => "%{{user}}" }} }}
    """
    lines = [
        {"user": f"u{i % 7}", "status": str(200 if i % 10 else 503), "i": i} for i in range(500)
    ]
    payload = b"".join(orjson.dumps(e) + b"\n" for e in lines)
    with PipelineRunner("tcp", config, bus, tmp_path / "state") as runner:
        with socket.create_connection(("127.0.0.1", port)) as client:
            # split mid-line to check the codec buffers partial lines
            client.sendall(payload[:1001])
            client.sendall(payload[1001:])
        assert wait_for(lambda: runner.status()["events_out"] == 500 and runner.lag() == 0)
    got = sorted(read_topic(bus, "table_2_access"), key=lambda e: e["i"])
    assert [e["i"] for e in got] == list(range(500))
    assert got[0]["status"] == 503 and got[0]["tags"] == ["error"] and got[0]["src"] == "tcp"
    assert got[1]["status"] == 200 and "tags" not in got[1]
    assert got[1]["host"] == "127.0.0.1" and isinstance(got[1]["port"], int)
    assert got[1]["@version"] == "1" and got[1]["@timestamp"].endswith("Z")


def _file_config(log: Path, out: Path) -> str:
    return f"""
    input {{ file {{ path => "{log}*" start_position => "beginning" stat_interval => "50 ms" }} }}
    output {{ file {{ path => "{out}" codec => line {{ format => "%{{message}}" }} }} }}
    """


def _write(path: Path, lines: list[str]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))


def _out_lines(out: Path) -> list[str]:
    return out.read_text("utf-8").splitlines() if out.exists() else []


def test_file_input_survives_restart_and_rotation(bus: Bus, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    out = tmp_path / "out.txt"
    state = tmp_path / "state"
    _write(log, [f"a{i}" for i in range(100)])
    with PipelineRunner("files", _file_config(log, out), bus, state):
        assert wait_for(lambda: len(_out_lines(out)) == 100)
        _write(log, ["b0", "b1"])
        with open(log, "a", encoding="utf-8") as f:
            f.write("partial")  # no newline yet: must wait
        assert wait_for(lambda: len(_out_lines(out)) == 102)
    # while stopped: finish the partial line, write more, then rotate
    _write(log, [" line", "c0"])
    os.rename(log, tmp_path / "app.log.1")
    _write(log, ["d0", "d1"])
    with PipelineRunner("files", _file_config(log, out), bus, state):
        assert wait_for(lambda: len(_out_lines(out)) == 106)
        _write(tmp_path / "app.log.1", ["e0"])  # a late write to the rotated file
        _write(log, ["d2"])
        assert wait_for(lambda: len(_out_lines(out)) == 108)
    got = _out_lines(out)
    assert got[:102] == [f"a{i}" for i in range(100)] + ["b0", "b1"]
    # after the restart both files are followed; each file's lines keep their order
    rotated, new = ["partial line", "c0", "e0"], ["d0", "d1", "d2"]
    assert [line for line in got[102:] if line in rotated] == rotated
    assert [line for line in got[102:] if line in new] == new
    assert len(set(got)) == len(got) == 108  # nothing repeated, nothing lost


def test_file_input_start_position_end(bus: Bus, tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    out = tmp_path / "out.txt"
    _write(log, ["old"])
    config = _file_config(log, out).replace('"beginning"', '"end"')
    with PipelineRunner("tail", config, bus, tmp_path / "s") as runner:
        assert wait_for(lambda: any(i.__dict__.get("watched") for i in runner.inputs))
        _write(log, ["new"])
        assert wait_for(lambda: _out_lines(out) == ["new"])


def test_seed_example_against_an_elasticsearch_compatible_server(
    bus: Bus, tmp_path: Path, fake_es: Any
) -> None:
    """The issue's seed config, unchanged except for its two ports (5000 and 9200 become
    free ports by a text rewrite, so the test never collides with a real service)."""
    seed = (
        "input { tcp { port => 5000 codec => json_lines } } output { elasticsearch "
        '{ hosts => ["http://localhost:9200"] index => "myindex" } }'
    )
    port = free_port()
    es_port = fake_es.url.rsplit(":", 1)[1]
    config = seed.replace("5000", str(port)).replace("localhost:9200", f"127.0.0.1:{es_port}")
    with PipelineRunner("seed", config, bus, tmp_path / "state") as runner:
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(b'{"msg": "hello", "n": 1}\n{"msg": "world", "n": 2}\n')
        assert wait_for(lambda: runner.status()["events_out"] == 2 and runner.lag() == 0)
    docs = sorted(fake_es.docs("myindex").values(), key=lambda d: d["n"])
    assert [d["msg"] for d in docs] == ["hello", "world"]
    assert all(d["@timestamp"].endswith("Z") and d["@version"] == "1" for d in docs)


def test_file_input_read_mode(bus: Bus, tmp_path: Path) -> None:
    logs = tmp_path / "in"
    logs.mkdir()
    (logs / "a.log").write_text("a1\na2\na3")  # the last line has no newline
    (logs / "b.log").write_text("b1\n")
    done = tmp_path / "done.txt"
    out = tmp_path / "out.txt"
    config = f"""
    input {{ file {{ path => "{logs}/*.log" mode => "read" stat_interval => "50 ms"
                     file_completed_action => "log" file_completed_log_path => "{done}" }} }}
    output {{ file {{ path => "{out}" codec => line {{ format => "%{{message}}" }} }} }}
    """
    with PipelineRunner("read", config, bus, tmp_path / "s"):
        assert wait_for(lambda: len(_out_lines(out)) == 4)
        assert wait_for(lambda: done.exists() and len(done.read_text().splitlines()) == 2)
    assert sorted(_out_lines(out)) == ["a1", "a2", "a3", "b1"]
    # completed files are remembered: a restart reads nothing again
    with PipelineRunner("read", config, bus, tmp_path / "s"):
        assert not wait_for(lambda: len(_out_lines(out)) > 4, timeout=0.5)
    deleting = config.replace('"log"', '"delete"')
    (logs / "c.log").write_text("c1\n")
    with PipelineRunner("read", deleting, bus, tmp_path / "s"):
        assert wait_for(lambda: not (logs / "c.log").exists())
    assert _out_lines(out)[-1] == "c1" and len(_out_lines(out)) == 5


def test_file_input_plain_lines_in_bulk_match_the_per_event_path(bus: Bus, tmp_path: Path) -> None:
    """Plain lines go to the bus as one Arrow table per read; with ``tags`` (merged into
    every event) they take the per-event path. Both give the same events."""
    log = tmp_path / "in.log"
    log.write_bytes(b"one\r\n\nbad \xff byte\n\xe2\x82\r\ncaf\xc3\xa9\nlast")
    expected = ["one", "", "bad \ufffd byte", "\ufffd", "caf\u00e9"]
    outs: list[list[dict[str, Any]]] = []
    for name, tags in (("bulk", ""), ("events", 'tags => ["t"]')):
        out = tmp_path / f"{name}.jsonl"
        config = f"""
        input {{ file {{ path => "{log}" start_position => "beginning" stat_interval => "50 ms"
                         type => "access" add_field => {{ "via" => "file" }} {tags} }} }}
        filter {{ grok {{ match => {{ "message" => "^%{{WORD:word}}$" }} }} }}
        output {{ file {{ path => "{out}" }} }}
        """
        with PipelineRunner(name, config, bus, tmp_path / f"state-{name}") as runner:
            assert wait_for(lambda: runner.status()["events_out"] == 5 and runner.lag() == 0)
        outs.append([orjson.loads(line) for line in out.read_bytes().splitlines()])
    bulk, events = outs
    assert [e["message"] for e in bulk] == expected  # "last" waits for its newline
    for b, e in zip(bulk, events, strict=True):
        assert e.pop("tags") == (["t"] if b.get("word") else ["t", "_grokparsefailure"])
        b.pop("tags", None)
        assert b.pop("@timestamp").endswith("Z") and e.pop("@timestamp").endswith("Z")
        assert b == e
        assert list(b)[:6] == ["message", "path", "host", "@version", "type", "via"]
    assert bulk[0]["word"] == "one" and bulk[0]["path"] == str(log)


def test_plain_lines_store_only_the_fields_a_line_output_reads(bus: Bus, tmp_path: Path) -> None:
    log, out = tmp_path / "in.log", tmp_path / "out.txt"
    _write(log, ["a", "b"])
    config = _file_config(log, out).replace("%{message}", "%{message} %{host}")
    with PipelineRunner("narrow", config, bus, tmp_path / "s"):
        assert wait_for(lambda: len(_out_lines(out)) == 2)
    assert _out_lines(out) == [f"a {hostname()}", f"b {hostname()}"]
    record = next(iter(bus.fetch("pipeline_narrow_in", 0, 0, 10).records()))
    assert from_ipc(record.value).column_names == ["message", "host"]  # no path, @timestamp
