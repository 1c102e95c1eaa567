"""The kafka input: topics of the pipeline's bus (embedded log) and of a real
Kafka-protocol broker (tansu), consumer groups, auto_offset_reset and commits."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from pipeline_run_helpers import wait_for

from sluice.bus import Bus, Records, TopicPartition
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.run import PipelineRunner


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


def _out(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def test_bus_topics_with_group_and_offsets(bus: Bus, tmp_path: Path) -> None:
    bus.create_topic("raw_logs", partitions=2)
    bus.produce("raw_logs", 0, Records(values=[b'{"n": 1}', b'{"n": 2}'], keys=[b"k", None]))
    bus.produce("raw_logs", 1, Records(values=[b'{"n": 3}']))
    out = tmp_path / "out.jsonl"
    config = f"""
    input {{ kafka {{ bootstrap_servers => "bus" topics => ["raw_logs"] group_id => "g1"
                      auto_offset_reset => "earliest" codec => json decorate_events => "basic" }} }}
    filter {{ mutate {{ add_field => {{ "from" => "%{{[@metadata][kafka][topic]}}" }} }} }}
    output {{ file {{ path => "{out}" codec => json_lines }} }}
    """
    with PipelineRunner("kbus", config, bus, tmp_path / "s") as runner:
        assert wait_for(lambda: runner.status()["events_out"] == 3 and runner.lag() == 0)
    got = _out(out)
    assert sorted(e["n"] for e in got) == [1, 2, 3]
    assert all(e["from"] == "raw_logs" and "@metadata" not in e for e in got)
    assert bus.committed("g1", TopicPartition("raw_logs", 0)) == 2
    # the group resumes after its committed offsets; a new group at "latest" sees only new data
    bus.produce("raw_logs", 0, Records(values=[b'{"n": 4}']))
    latest = config.replace('"g1"', '"g2"').replace('"earliest"', '"latest"')
    with PipelineRunner("kbus", config, bus, tmp_path / "s") as runner:
        assert wait_for(lambda: runner.status()["events_out"] == 1 and runner.lag() == 0)
    with PipelineRunner("kbus2", latest, bus, tmp_path / "s2") as runner:
        assert wait_for(lambda: runner.inputs[0].positions is not None)  # type: ignore[attr-defined]
        bus.produce("raw_logs", 1, Records(values=[b'{"n": 5}']))
        assert wait_for(lambda: runner.status()["events_out"] == 1 and runner.lag() == 0)
    assert sorted(e["n"] for e in _out(out)) == [1, 2, 3, 4, 5]


def test_missing_bus_topic_is_a_config_error(bus: Bus, tmp_path: Path) -> None:
    config = 'input { kafka { bootstrap_servers => "bus" topics => ["nope"] } } output { null {} }'
    with pytest.raises(ConfigError, match="does not exist"):
        PipelineRunner("knope", config, bus, tmp_path).start()


def test_real_kafka_broker(bus: Bus, tmp_path: Path, tansu: Any) -> None:
    from sluice.bus.kafka import KafkaBus, KafkaConfig

    kafka = KafkaBus(KafkaConfig(bootstrap=tansu.bootstrap, timeout_ms=10_000)).open()
    try:
        kafka.create_topic("app_logs", partitions=1)
        kafka.produce("app_logs", 0, Records(values=[b"line one", b"line two"]))
        out = tmp_path / "out.jsonl"
        config = f"""
        input {{ kafka {{ bootstrap_servers => "{tansu.bootstrap}" topics => ["app_logs"]
                          group_id => "pipeline-readers" auto_offset_reset => "earliest" }} }}
        output {{ file {{ path => "{out}" codec => json_lines }} }}
        """
        with PipelineRunner("kreal", config, bus, tmp_path / "s") as runner:
            assert wait_for(lambda: runner.status()["events_out"] == 2, timeout=60)
            assert wait_for(
                lambda: kafka.committed("pipeline-readers", TopicPartition("app_logs", 0)) == 2,
                timeout=30,
            )
    finally:
        kafka.close()
    assert [e["message"] for e in _out(out)] == ["line one", "line two"]
