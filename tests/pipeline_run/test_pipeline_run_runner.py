"""The runner's delivery rules: dead letters, retries without commit, durable acks."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import orjson
import pyarrow as pa
import pytest
from pipeline_run_helpers import free_port, read_topic, wait_for  # type: ignore[import-not-found]

from sluice.bus import Bus, TopicPartition
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.run import PipelineRunner
from sluice.plugins.outputs.simple import StdoutOutput


def test_generator_to_stdout_and_commit(bus: Bus, tmp_path: Path) -> None:
    config = """
    input { generator { count => 2500 lines => ["a", "b"] } }
    filter { if [message] == "a" { drop {} } }
    output { stdout { codec => line { format => "%{message}-%{sequence}" } } }
    """
    runner = PipelineRunner("gen", config, bus, tmp_path)
    out = runner.outputs["stdout_1"]
    assert isinstance(out, StdoutOutput)
    out.stream = io.BytesIO()
    with runner:
        assert runner.wait_idle(30)
    lines = out.stream.getvalue().decode().splitlines()
    assert len(lines) == 1250 and lines[0] == "b-0" and lines[-1] == "b-1249"
    s = runner.status()
    assert (s["events_in"], s["events_out"], s["events_filtered"]) == (2500, 1250, 1250)
    assert bus.committed("pipeline_gen", TopicPartition("pipeline_gen_in", 0)) == 2500


def test_filter_failure_goes_to_the_dead_letter_topic(bus: Bus, tmp_path: Path) -> None:
    config = """
    input { generator { count => 3 message => "x" } }
    filter { sql { statement => "SELECT CAST(message AS INTEGER) AS n FROM events" } }
    output { null {} }
    """
    with PipelineRunner("bad", config, bus, tmp_path) as runner:
        assert runner.wait_idle(30)
    dead = read_topic(bus, "pipeline_bad_dlq")
    assert len(dead) == 3
    assert dead[0]["plugin"] == "filter" and "Conversion Error" in dead[0]["reason"]
    assert dead[0]["event"]["message"] == "x" and dead[0]["pipeline"] == "bad"


def test_rejected_documents_go_to_the_dead_letter_topic(
    bus: Bus, tmp_path: Path, fake_es: Any
) -> None:
    httpx.put(f"{fake_es.url}/typed", json={"mappings": {"properties": {"n": {"type": "long"}}}})
    config = f"""
    input {{ generator {{ lines => ['{{"n": 1, "k": "a"}}', '{{"n": "x", "k": "b"}}'] count => 2
                          codec => json }} }}
    output {{ elasticsearch {{ hosts => ["{fake_es.url}"] index => "typed" document_id => "%{{k}}" }} }}
    """
    # one event per batch, so the two kinds of [n] are not in one Arrow column
    with PipelineRunner("es", config, bus, tmp_path, batch_size=1) as runner:
        assert runner.wait_idle(30)
    assert [d["n"] for d in fake_es.docs("typed").values()] == [1]
    dead = read_topic(bus, "pipeline_es_dlq")
    assert len(dead) == 1 and dead[0]["plugin"] == "elasticsearch_1"
    assert "elasticsearch refused" in dead[0]["reason"] and dead[0]["event"]["n"] == "x"


def test_an_output_down_is_retried_without_commit(bus: Bus, tmp_path: Path, fake_es: Any) -> None:
    fake_es.fail_requests = 6  # more than the client's own retries: the batch fails once
    config = f"""
    input {{ generator {{ count => 5 }} }}
    output {{ elasticsearch {{ hosts => ["{fake_es.url}"] index => "retry" document_id => "%{{sequence}}" }} }}
    """
    with PipelineRunner("retry", config, bus, tmp_path) as runner:
        assert runner.wait_idle(60)
        assert runner.status()["retries"] >= 1
    assert sorted(fake_es.docs("retry")) == ["0", "1", "2", "3", "4"]


def test_http_input_acknowledges_after_the_bus_stored_the_events(bus: Bus, tmp_path: Path) -> None:
    port = free_port()
    bus.create_topic("table_1_http")
    config = f"""
    input {{ http {{ host => "127.0.0.1" port => {port} }} }}
    output {{ sluice {{ topic => "table_1_http" }} }}
    """
    with PipelineRunner("web", config, bus, tmp_path) as runner:
        url = f"http://127.0.0.1:{port}/"
        r1 = httpx.post(url, json=[{"a": 1}, {"a": 2}])
        # the reply came after the events were stored in the input topic
        assert r1.status_code == 200 and r1.text == "ok"
        assert bus.latest_offset("pipeline_web_in", 0) == 2
        ndjson = b'{"a": 3}\n{"a": 4}\n'
        r2 = httpx.post(url, content=ndjson, headers={"Content-Type": "application/x-ndjson"})
        r3 = httpx.post(url, content=b"plain text", headers={"Content-Type": "text/plain"})
        assert r2.status_code == r3.status_code == 200
        assert wait_for(lambda: runner.lag() == 0 and runner.status()["events_out"] == 5)
    got = read_topic(bus, "table_1_http")
    assert [e.get("a") for e in got] == [1, 2, 3, 4, None]
    assert got[4]["message"] == "plain text"
    assert got[0]["headers"]["request_method"] == "POST"


def test_a_restart_continues_from_the_committed_offset(bus: Bus, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    config = f"""
    input {{ generator {{ count => 10 }} }}
    output {{ file {{ path => "{out}" }} }}
    """
    with PipelineRunner("again", config, bus, tmp_path / "s") as runner:
        assert runner.wait_idle(30)
    # the second run's generator emits 10 more; the first 10 are not processed again
    with PipelineRunner("again", config, bus, tmp_path / "s") as runner:
        assert runner.wait_idle(30)
    lines = [orjson.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 20 and [e["sequence"] for e in lines] == list(range(10)) * 2


def test_start_errors_are_config_errors(bus: Bus, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        PipelineRunner("x", 'output { sluice { topic => "nope" } }', bus, tmp_path).start()
    with pytest.raises(ConfigError, match="does not exist on the bus"):
        PipelineRunner("y", 'input { kafka { bootstrap_servers => "bus" } }', bus, tmp_path).start()
    with pytest.raises(ConfigError, match="pipeline name"):
        PipelineRunner("a b", "", bus, tmp_path)


@pytest.mark.parametrize("stage", ["_filter", "_deliver"])
def test_a_dead_worker_is_reported(bus: Bus, tmp_path: Path, stage: str) -> None:
    """The worker thread (decode, filters) or its delivery thread (outputs, commit) dies."""
    runner = PipelineRunner("dies", "input { generator { count => 1 } }", bus, tmp_path)

    def broken(*args: object) -> None:
        raise SystemExit("boom")  # not an Exception: escapes the retry loop

    setattr(runner, stage, broken)
    with runner:
        assert wait_for(lambda: runner.state == "failure")
        assert runner.status()["input_errors"] == ["worker: SystemExit: boom"]
    assert runner.state == "failure"
    assert runner.lag() == 1  # nothing committed


def test_conditional_outputs_and_sprintf_paths(bus: Bus, tmp_path: Path) -> None:
    config = f"""
    input {{ generator {{ lines => ["info a", "error b", "info c"] count => 3 }} }}
    filter {{ grok {{ match => {{ "message" => "%{{WORD:level}} %{{WORD:what}}" }} }} }}
    output {{
      if [level] == "error" {{ file {{ path => "{tmp_path}/errors.log" codec => line {{ format => "%{{what}}" }} }} }}
      else {{ file {{ path => "{tmp_path}/by-level/%{{level}}.log" codec => line {{ format => "%{{what}}" }} }} }}
    }}
    """
    with PipelineRunner("routes", config, bus, tmp_path / "s") as runner:
        assert runner.wait_idle(30)
    assert (tmp_path / "errors.log").read_text() == "b\n"
    assert (tmp_path / "by-level" / "info.log").read_text() == "a\nc\n"


def test_batches_are_delivered_and_committed_in_order(bus: Bus, tmp_path: Path) -> None:
    """The worker filters batch N+1 while batch N is written; a batch whose output fails
    is retried before any later batch is written, and every commit follows a flush."""
    out = tmp_path / "out.jsonl"
    config = f"""
    input {{ generator {{ count => 60 }} }}
    filter {{ mutate {{ add_field => {{ "x" => "%{{sequence}}" }} }} }}
    output {{ file {{ path => "{out}" }} }}
    """
    runner = PipelineRunner("order", config, bus, tmp_path, batch_size=4)
    output = next(iter(runner.outputs.values()))
    write = output.write
    calls = {"write": 0}
    seen: list[tuple[int, int]] = []  # (committed offset, first sequence) at each write
    tp = TopicPartition("pipeline_order_in", 0)

    def failing_write(table: pa.Table) -> Any:
        calls["write"] += 1
        seen.append((bus.committed("pipeline_order", tp) or 0, table.column("sequence")[0].as_py()))
        if calls["write"] == 3:
            raise OSError("disk hiccup")
        return write(table)

    output.write = failing_write  # type: ignore[method-assign]
    with runner:
        assert runner.wait_idle(30)
        assert runner.status()["retries"] == 1
    got = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [e["sequence"] for e in got] == list(range(60))
    assert [e["x"] for e in got] == [str(i) for i in range(60)]
    # a batch is written once everything before it is committed, and not committed before
    assert all(committed == first for committed, first in seen), seen
