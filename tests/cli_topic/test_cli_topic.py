"""``sluice topic`` and ``sluice group`` run as real processes, on the embedded log and on Kafka."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import orjson

from sluice.bus import EmbeddedBus, EmbeddedConfig
from sluice.bus.partitioner import partition_for_key
from sluice.bus.tansu import TansuBroker

Run = Callable[..., subprocess.CompletedProcess[bytes]]


def lines(n: int) -> bytes:
    rows = ({"i": i, "user": f"u{i % 97}", "msg": "x" * (i % 40)} for i in range(n))
    return b"".join(orjson.dumps(r) + b"\n" for r in rows)


def test_round_trip_100k_on_the_embedded_log(sluice: Run, tmp_path: Path) -> None:
    data = lines(100_000)
    sluice("topic", "create", "events", "--partitions", "1")
    sluice("topic", "produce", "events", stdin=data)
    out = sluice("topic", "consume", "events", "--from-beginning")
    assert out.stdout == data
    assert b"Consumed 100,000 records" in out.stderr
    described = json.loads(sluice("topic", "describe", "events", "--json").stdout)
    assert described["records"] == 100_000
    assert (tmp_path / "data" / "topics" / "events-0").is_dir()


def test_round_trip_100k_on_kafka(sluice: Run, tansu: TansuBroker) -> None:
    data = lines(100_000)
    topic = f"cli-{uuid.uuid4().hex[:8]}"
    kafka = ("--bootstrap", tansu.bootstrap)
    sluice("topic", "create", topic, "--partitions", "1", *kafka)
    sluice("topic", "produce", topic, *kafka, stdin=data)
    out = sluice("topic", "consume", topic, "--from-beginning", *kafka)
    assert out.stdout == data
    listed = json.loads(sluice("topic", "list", "--json", *kafka).stdout)
    assert topic in [t["name"] for t in listed]
    sluice("topic", "delete", topic, *kafka)


def test_key_field_partitions_like_kafka(sluice: Run) -> None:
    sluice("topic", "create", "keyed", "--partitions", "3", "--retention-days", "7")
    sluice("topic", "produce", "keyed", "--key-field", "user", stdin=lines(300))
    described = json.loads(sluice("topic", "describe", "keyed", "--json").stdout)
    assert described["retention_ms"] == 7 * 86_400_000
    expected = [0, 0, 0]
    for i in range(300):
        expected[partition_for_key(f"u{i % 97}".encode(), 3)] += 1
    assert [p["records"] for p in described["partitions"]] == expected
    out = sluice("topic", "consume", "keyed", "--from-beginning")
    assert sorted(out.stdout.splitlines()) == sorted(lines(300).splitlines())


def test_groups_commit_describe_and_reset(sluice: Run) -> None:
    sluice("topic", "create", "g-topic")
    sluice("topic", "produce", "g-topic", stdin=lines(10))
    first = sluice("topic", "consume", "g-topic", "--from-beginning", "--group", "g1", "--max", "4")
    assert len(first.stdout.splitlines()) == 4
    rest = sluice("topic", "consume", "g-topic", "--group", "g1")
    assert rest.stdout.splitlines() == lines(10).splitlines()[4:]
    assert sluice("group", "list").stdout.split() == [b"g1"]
    info = json.loads(sluice("group", "describe", "g1", "--json").stdout)
    assert info["offsets"] == [{"topic": "g-topic", "partition": 0, "offset": 10, "lag": 0}]
    sluice("group", "reset", "g1", "--topic", "g-topic", "--to", "earliest")
    info = json.loads(sluice("group", "describe", "g1", "--json").stdout)
    assert info["offsets"][0]["offset"] == 0
    sluice("group", "reset", "g1", "--topic", "g-topic", "--to", "2100-01-01T00:00:00+00:00")
    info = json.loads(sluice("group", "describe", "g1", "--json").stdout)
    assert info["offsets"][0]["offset"] == 10
    bad = sluice("group", "reset", "g1", "--topic", "g-topic", "--to", "soon", check=False)
    assert bad.returncode == 1
    assert b"--to must be earliest, latest" in bad.stderr


def test_bad_input_gets_a_clear_error(sluice: Run) -> None:
    sluice("topic", "create", "strict")
    bad = sluice("topic", "produce", "strict", stdin=b'{"ok": 1}\nnot json\n', check=False)
    assert bad.returncode == 1
    assert b"Line 2 is not valid JSON" in bad.stderr
    missing = sluice("topic", "describe", "nope", check=False)
    assert missing.returncode == 1
    assert b"Topic 'nope' does not exist" in missing.stderr
    dup = sluice("topic", "create", "strict", check=False)
    assert b"already exists" in dup.stderr


def test_reads_work_while_a_server_holds_the_writer_lock(sluice: Run, tmp_path: Path) -> None:
    sluice("topic", "create", "busy")
    sluice("topic", "produce", "busy", stdin=lines(5))
    with EmbeddedBus(EmbeddedConfig(path=tmp_path / "data")) as server:
        out = sluice("topic", "consume", "busy", "--from-beginning")
        assert out.stdout == lines(5)
        refused = sluice("topic", "produce", "busy", stdin=lines(1), check=False)
        assert refused.returncode == 1
        assert b"already open for writing by process" in refused.stderr
        assert server.latest_offset("busy", 0) == 5
