"""The udp input on a real socket: plain and json datagrams, the sender address field."""

from __future__ import annotations

import socket
from pathlib import Path

import orjson
import pytest
from pipeline_run_helpers import wait_for

from sluice.bus import Bus
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.run import PipelineRunner


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("codec", "datagrams", "expected"),
    [
        ("plain", [b"hello world", b"second"], [{"message": "hello world"}, {"message": "second"}]),
        ("json", [b'{"a": 1}', b'{"a": 2, "ip": "mine"}', b"oops"],
         [{"a": 1}, {"a": 2, "ip": "mine"}, {"message": "oops", "tags": ["_jsonparsefailure"]}]),
        ("json_lines", [b'{"a": 1}\n{"a": 2}'], [{"a": 1}, {"a": 2}]),
    ],
)  # fmt: skip
def test_udp_datagrams(
    bus: Bus, tmp_path: Path, codec: str, datagrams: list[bytes], expected: list[dict[str, object]]
) -> None:
    port = _free_udp_port()
    out = tmp_path / "out.jsonl"
    config = f"""
    input {{ udp {{ host => "127.0.0.1" port => {port} codec => {codec}
                    source_ip_fieldname => "ip" }} }}
    output {{ file {{ path => "{out}" codec => json_lines }} }}
    """
    with PipelineRunner("udp", config, bus, tmp_path / "state") as runner:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for datagram in datagrams:
                sender.sendto(datagram, ("127.0.0.1", port))
        n = len(expected)
        assert wait_for(lambda: runner.status()["events_out"] == n and runner.lag() == 0)
    got = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    for event in got:
        assert event.pop("@version") == "1" and event.pop("@timestamp")
        event.setdefault("ip", "127.0.0.1")
    assert got == [{"ip": "127.0.0.1", **e} for e in expected]


def test_udp_port_in_use(bus: Bus, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        config = f'input {{ udp {{ host => "127.0.0.1" port => {port} }} }} output {{ null {{}} }}'
        with pytest.raises(ConfigError, match="cannot listen"):
            PipelineRunner("udpbusy", config, bus, tmp_path).start()
