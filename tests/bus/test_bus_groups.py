"""Consumer groups: assignment strategies, rebalance on join and leave, session expiry."""

from __future__ import annotations

import time

import pytest

from sluice.bus import Bus, GroupError, GroupMember, TopicPartition
from sluice.bus.assignor import range_assign, roundrobin_assign
from sluice.bus.kafka import KafkaBus, KafkaConfig
from sluice.bus.tansu import TansuBroker


def tps(topic: str, *parts: int) -> list[TopicPartition]:
    return [TopicPartition(topic, p) for p in parts]


def test_range_assignor_matches_kafka() -> None:
    subs = {"b": ["t", "u"], "a": ["t", "u"]}
    out = range_assign(subs, {"t": 3, "u": 2})
    assert out["a"] == tps("t", 0, 1) + tps("u", 0)
    assert out["b"] == tps("t", 2) + tps("u", 1)


def test_roundrobin_assignor_matches_kafka() -> None:
    subs = {"m2": ["t", "u"], "m1": ["t", "u"], "m3": ["u"]}
    out = roundrobin_assign(subs, {"t": 3, "u": 2})
    # Sorted TPs t0 t1 t2 u0 u1 dealt over m1 m2 m3 in a circle; t2 skips m3 (not
    # subscribed to t) and goes to m1, then the circle goes on from m2.
    assert out["m1"] == [TopicPartition("t", 0), TopicPartition("t", 2)]
    assert out["m2"] == [TopicPartition("t", 1), TopicPartition("u", 0)]
    assert out["m3"] == [TopicPartition("u", 1)]


def poll_until(member: GroupMember, want: int, timeout: float = 40.0) -> list[TopicPartition]:
    """Poll until the member holds ``want`` partitions (rebalances take seconds on Kafka)."""
    deadline = time.monotonic() + timeout
    parts = member.poll(200)
    while len(parts) != want and time.monotonic() < deadline:
        parts = member.poll(200)
    return parts


def check_rebalance(bus: Bus, topic: str, strategy: str) -> None:
    """Two members split 4 partitions; when one leaves the other gets them all back."""
    bus.create_topic(topic, partitions=4)
    group = f"g-{topic}"
    first = bus.join_group(group, [topic], strategy=strategy, session_timeout_ms=6_000)
    assert poll_until(first, 4) == tps(topic, 0, 1, 2, 3)
    second = bus.join_group(group, [topic], strategy=strategy, session_timeout_ms=6_000)
    deadline = time.monotonic() + 40
    a, b = first.poll(100), second.poll(100)
    while (len(a), len(b)) != (2, 2) and time.monotonic() < deadline:
        a, b = first.poll(100), second.poll(100)
    assert sorted(a + b) == tps(topic, 0, 1, 2, 3)
    assert not set(a) & set(b)
    if strategy == "range":
        assert sorted([a, b]) == [tps(topic, 0, 1), tps(topic, 2, 3)]
    else:
        assert sorted([a, b]) == [tps(topic, 0, 2), tps(topic, 1, 3)]
    if bus.kind != "kafka":
        assert sorted(m.member_id for m in bus.describe_group(group).members) == sorted(
            [first.member_id, second.member_id]
        )
    second.leave()
    assert poll_until(first, 4) == tps(topic, 0, 1, 2, 3)
    first.leave()


@pytest.mark.parametrize("strategy", ["range", "roundrobin"])
def test_rebalance_on_join_and_leave(bus: Bus, topic: str, strategy: str) -> None:
    if bus.kind == "kafka" and strategy == "roundrobin":
        pytest.skip(
            "Each Kafka rebalance takes seconds on the broker: this case runs in the slow suite "
            "(test_roundrobin_rebalance_on_kafka)."
        )
    check_rebalance(bus, topic, strategy)


@pytest.mark.slow
def test_roundrobin_rebalance_on_kafka(tansu: TansuBroker, topic: str) -> None:
    with KafkaBus(KafkaConfig(bootstrap=tansu.bootstrap)) as bus:
        check_rebalance(bus, topic, "roundrobin")


def test_local_member_expires_without_polls(bus: Bus, topic: str) -> None:
    if bus.kind == "kafka":
        pytest.skip("Session expiry is the broker's job on Kafka (minimum session is 6 s).")
    bus.create_topic(topic, partitions=2)
    live = bus.join_group("g", [topic], session_timeout_ms=5_000)
    idle = bus.join_group("g", [topic], session_timeout_ms=100)
    assert len(idle.poll()) == 1
    time.sleep(0.3)
    assert live.poll() == tps(topic, 0, 1)
    with pytest.raises(GroupError, match="no longer in group"):
        idle.poll()
    live.leave()
    assert bus.describe_group("g").state == "Empty"


def test_strategy_mismatch_is_refused(bus: Bus, topic: str) -> None:
    if bus.kind == "kafka":
        pytest.skip("The broker decides protocol mismatches on Kafka.")
    bus.create_topic(topic)
    with (
        bus.join_group("g", [topic], strategy="range"),
        pytest.raises(GroupError, match="uses the 'range' strategy"),
    ):
        bus.join_group("g", [topic], strategy="roundrobin")
