"""The redis output against the real Redis on 127.0.0.1:6379: lists (RPUSH, key sprintf,
event order) and channels (PUBLISH)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from pipeline_run_helpers import wait_for

from sluice.bus import Bus
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.run import PipelineRunner


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    c = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2)
    try:
        c.ping()
    except redis.RedisError as exc:
        if os.environ.get("SLUICE_REQUIRE_SERVICES") == "1":
            raise
        pytest.skip(f"Redis is not reachable on 127.0.0.1:6379: {exc}")
    yield c
    c.close()


def _generator(lines: list[str]) -> str:
    items = ", ".join(f'"{line}"' for line in lines)
    return f"input {{ generator {{ lines => [{items}] count => {len(lines)} }} }}"


def test_list_with_key_sprintf(bus: Bus, tmp_path: Path, client: redis.Redis) -> None:
    prefix = f"sluice-test-{uuid.uuid4().hex[:8]}"
    config = f"""{_generator(["a 1", "b 2", "a 3"])}
    filter {{ dissect {{ mapping => {{ "message" => "%{{k}} %{{n}}" }} }} }}
    output {{ redis {{ key => "{prefix}-%{{k}}" data_type => "list" batch => true
                      batch_events => 1 }} }}
    """
    try:
        with PipelineRunner("redislist", config, bus, tmp_path) as runner:
            assert wait_for(lambda: runner.status()["events_out"] == 3 and runner.lag() == 0)
        a = [orjson.loads(v) for v in client.lrange(f"{prefix}-a", 0, -1)]
        b = [orjson.loads(v) for v in client.lrange(f"{prefix}-b", 0, -1)]
        assert [e["n"] for e in a] == ["1", "3"] and [e["n"] for e in b] == ["2"]
        assert a[0]["message"] == "a 1" and "@timestamp" in a[0]
    finally:
        client.delete(f"{prefix}-a", f"{prefix}-b")


def test_channel_publish(bus: Bus, tmp_path: Path, client: redis.Redis) -> None:
    channel = f"sluice-test-{uuid.uuid4().hex[:8]}"
    pubsub = client.pubsub()
    pubsub.subscribe(channel)
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"  # type: ignore[index]
    got: list[Any] = []

    def listen() -> None:
        while len(got) < 2:
            message = pubsub.get_message(timeout=5)
            if message is None:
                return
            got.append(orjson.loads(message["data"]))

    thread = threading.Thread(target=listen)
    thread.start()
    config = f"""{_generator(["x", "y"])}
    output {{ redis {{ key => "{channel}" data_type => "channel" }} }}"""
    with PipelineRunner("redischan", config, bus, tmp_path) as runner:
        assert wait_for(lambda: runner.status()["events_out"] == 2 and runner.lag() == 0)
    thread.join(timeout=10)
    pubsub.close()
    assert [e["message"] for e in got] == ["x", "y"]


def test_unreachable_redis_is_a_config_error(bus: Bus, tmp_path: Path) -> None:
    config = 'input { generator { count => 1 } } output { redis { key => "k" host => ["127.0.0.1:1"] timeout => 1 } }'
    with pytest.raises(ConfigError, match="no Redis host answers"):
        PipelineRunner("redisdown", config, bus, tmp_path).start()
