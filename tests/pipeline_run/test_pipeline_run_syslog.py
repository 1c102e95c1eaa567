"""The syslog input on real sockets: RFC 3164 over TCP, RFC 5424 over UDP on the same
port, a line that is neither, and the bulk table path through the runtime."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import orjson
import pytest
from pipeline_run_helpers import wait_for

from sluice.bus import Bus
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.run import PipelineRunner


def _port() -> int:
    """A port free for both TCP and UDP."""
    for _ in range(20):
        with socket.socket() as t, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            t.bind(("127.0.0.1", 0))
            port = int(t.getsockname()[1])
            try:
                u.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no port free for TCP and UDP")


def _run(bus: Bus, tmp_path: Path, extra: str, send: Any, count: int) -> list[dict[str, Any]]:
    port = _port()
    out = tmp_path / "out.jsonl"
    config = f"""
    input {{ syslog {{ host => "127.0.0.1" port => {port} {extra} }} }}
    output {{ file {{ path => "{out}" codec => json_lines }} }}
    """
    with PipelineRunner("syslog", config, bus, tmp_path / "state") as runner:
        send(port)
        assert wait_for(lambda: runner.status()["events_out"] == count and runner.lag() == 0)
    return [orjson.loads(line) for line in out.read_bytes().splitlines()]


def test_rfc3164_over_tcp(bus: Bus, tmp_path: Path) -> None:
    def send(port: int) -> None:
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed on /dev/pts/8\r\n")
            conn.sendall(b"<13>Nov  1 02:04:05 host1 sshd[123]: Accepted\nnot syslog at all\n")

    got = _run(bus, tmp_path, 'timezone => "Europe/Paris"', send, 3)
    first, second, bad = got
    assert first["program"] == "su" and first["logsource"] == "mymachine"
    assert first["message"] == "'su root' failed on /dev/pts/8"
    assert (first["priority"], first["facility"], first["severity"]) == (34, 4, 2)
    assert first["facility_label"] == "security/authorization"
    assert first["severity_label"] == "Critical"
    assert first["@timestamp"].endswith("-10-11T20:14:15.000Z")  # Paris is UTC+2 in October
    assert first["host"] == "127.0.0.1" and "pid" not in first
    assert second["pid"] == "123" and second["timestamp"] == "Nov  1 02:04:05"
    assert bad["message"] == "not syslog at all"
    assert bad["tags"] == ["_grokparsefailure_sysloginput"] and bad["priority"] == 13


def test_rfc5424_over_udp(bus: Bus, tmp_path: Path) -> None:
    def send(port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(
                b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
                b'[exampleSDID@32473 iut="3" eventSource="App"] An application event\n',
                ("127.0.0.1", port),
            )
            s.sendto(b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - hi",
                     ("127.0.0.1", port))  # fmt: skip

    got = _run(bus, tmp_path, "use_labels => false", send, 2)
    got.sort(key=lambda e: e["program"])
    app, proc = got
    assert app["@timestamp"] == "2003-10-11T22:14:15.003Z" and app["msgid"] == "ID47"
    assert app["structured_data"] == '[exampleSDID@32473 iut="3" eventSource="App"]'
    assert app["message"] == "An application event" and "pid" not in app
    assert proc["@timestamp"] == "2003-08-24T12:14:15.000Z" and proc["pid"] == "8710"
    assert proc["logsource"] == "192.0.2.1" and proc["message"] == "hi"
    assert "facility_label" not in proc and proc["facility"] == 20


def test_custom_grok_pattern_is_refused(bus: Bus, tmp_path: Path) -> None:
    config = 'input { syslog { port => 0 grok_pattern => "%{GREEDYDATA:x}" } } output { null {} }'
    with pytest.raises(ConfigError, match="grok_pattern"):
        PipelineRunner("sysbad", config, bus, tmp_path).start()
