"""Inputs and outputs not covered by the end-to-end tests: stdin (a real process), the
sluice input, the http output (a real HTTP server) and the kafka output (tansu)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
from pipeline_run_helpers import read_topic, wait_for

from sluice.bus import Bus, Records, TopicPartition
from sluice.pipeline.run import PipelineRunner

ROOT = Path(__file__).resolve().parents[2]


def test_stdin_to_stdout_in_a_real_process(tmp_path: Path) -> None:
    conf = tmp_path / "stdin.conf"
    conf.write_text(
        'input { stdin { codec => json_lines } } filter { mutate { uppercase => ["w"] } } '
        "output { stdout { codec => json_lines } }"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(
        [sys.executable, "-m", "sluice.cli.main", "pipeline", "run", str(conf),
         "--data-dir", str(tmp_path / "d")],
        input=b'{"w": "a"}\n{"w": "b"}\n{"w": "c"}',  # the last line has no newline
        capture_output=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()
    got = [orjson.loads(line) for line in proc.stdout.splitlines()]
    assert [e["w"] for e in got] == ["A", "B", "C"]
    assert "3 in, 3 out" in proc.stderr.decode()


def test_sluice_input_reads_a_result_table(bus: Bus, tmp_path: Path) -> None:
    bus.create_topic("table_5_src", partitions=2)
    bus.create_topic("table_5_dst")
    bus.produce("table_5_src", 0, Records(values=[b'{"a": 1}', b'{"a": 2}']))
    bus.produce("table_5_src", 1, Records(values=[b'{"a": 3}', b"not json"]))
    config = """
    input { sluice { topic => "table_5_src" consuming_mode => "from_head" } }
    filter { mutate { add_field => { "via" => "pipeline" } } }
    output { sluice { topic => "table_5_dst" } }
    """
    with PipelineRunner("rt", config, bus, tmp_path) as runner:
        assert wait_for(lambda: runner.status()["events_out"] == 4 and runner.lag() == 0)
    got = read_topic(bus, "table_5_dst")
    assert sorted(str(e.get("a", e.get("message"))) for e in got) == ["1", "2", "3", "not json"]
    assert all(e["via"] == "pipeline" for e in got)
    assert bus.committed_offsets("pipeline_rt_sluice_1")  # the source offsets are committed


class _Collector:
    def __init__(self) -> None:
        self.bodies: list[tuple[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                doc = json.loads(body)
                code = 400 if isinstance(doc, dict) and doc.get("bad") else 200
                if code == 200:
                    owner.bodies.append((self.path, doc))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def collector() -> Iterator[_Collector]:
    c = _Collector()
    yield c
    c.server.shutdown()
    c.server.server_close()


def test_http_output_json_and_batches(bus: Bus, tmp_path: Path, collector: _Collector) -> None:
    config = f"""
    input {{ generator {{ lines => ['{{"k": "x"}}', '{{"k": "y", "bad": true}}'] count => 2
                          codec => json }} }}
    output {{
      http {{ url => "{collector.url}/one/%{{k}}" http_method => "post" }}
      http {{ url => "{collector.url}/batch" http_method => "post" format => "json_batch" }}
    }}
    """
    with PipelineRunner("h", config, bus, tmp_path, batch_size=10) as runner:
        assert runner.wait_idle(30)
    singles = [(p, d["k"]) for p, d in collector.bodies if p.startswith("/one/")]
    batches = [d for p, d in collector.bodies if p == "/batch"]
    assert singles == [("/one/x", "x")]
    assert [[e["k"] for e in b] for b in batches] == [["x", "y"]]
    dead = read_topic(bus, "pipeline_h_dlq")
    assert [(d["plugin"], d["event"]["k"]) for d in dead] == [("http_1", "y")]


@pytest.fixture(scope="module")
def tansu() -> Iterator[Any]:
    from sluice.bus.tansu import TansuBroker, TansuNotFoundError

    try:
        broker = TansuBroker().start()
    except (TansuNotFoundError, RuntimeError) as exc:
        if os.environ.get("SLUICE_REQUIRE_SERVICES") == "1":
            raise
        pytest.skip(f"The tansu Kafka-protocol broker is not available: {exc}")
    yield broker
    broker.stop()


def test_kafka_output_to_a_kafka_protocol_broker(bus: Bus, tmp_path: Path, tansu: Any) -> None:
    from sluice.bus.kafka import KafkaBus, KafkaConfig

    kafka = KafkaBus(KafkaConfig(bootstrap=tansu.bootstrap, timeout_ms=10_000)).open()
    try:
        kafka.create_topic("logs_out", partitions=1)
        config = f"""
        input {{ generator {{ count => 20 }} }}
        output {{ kafka {{ bootstrap_servers => "{tansu.bootstrap}" topic_id => "logs_out"
                           message_key => "%{{sequence}}" }} }}
        """
        with PipelineRunner("k", config, bus, tmp_path) as runner:
            assert runner.wait_idle(60)
        got = read_topic(kafka, "logs_out")
    finally:
        kafka.close()
    assert sorted(e["sequence"] for e in got) == list(range(20))


def test_a_pipeline_runs_on_the_kafka_bus(tmp_path: Path, tansu: Any) -> None:
    """``sluice pipeline run --bootstrap``: the input topic, the consumer group and the
    result table all live on a Kafka-protocol broker."""
    from sluice.bus.kafka import KafkaBus, KafkaConfig

    kafka = KafkaBus(KafkaConfig(bootstrap=tansu.bootstrap, timeout_ms=10_000)).open()
    try:
        kafka.create_topic("table_9_k", partitions=1)
        config = """
        input { generator { count => 30 } }
        filter { mutate { add_field => { "on" => "kafka" } } }
        output { sluice { topic => "table_9_k" } }
        """
        with PipelineRunner("onkafka", config, kafka, tmp_path) as runner:
            assert runner.wait_idle(60)
        got = read_topic(kafka, "table_9_k")
        committed = kafka.committed("pipeline_onkafka", TopicPartition("pipeline_onkafka_in", 0))
    finally:
        kafka.close()
    assert sorted(e["sequence"] for e in got) == list(range(30))
    assert all(e["on"] == "kafka" for e in got) and committed == 30
