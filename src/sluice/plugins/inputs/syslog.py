"""The ``syslog`` input: RFC 3164 and RFC 5424 messages over TCP and UDP on one port.

TCP connections are read as lines (``\\n``-terminated, a trailing ``\\r`` dropped, one
thread per connection, one emit per read so back-pressure reaches the sender); each UDP
datagram is one message (batched as the ``udp`` input does). Every batch of lines is parsed
at once by :func:`sluice.plugins.inputs.syslog_parse.parse_syslog` (fields as Logstash's
syslog input sets them) and gets ``host``, the sender's address, then goes to the runtime
as one table (:meth:`Input.emit_table`). ``grok_pattern`` and ``syslog_field`` keep their
defaults (a different value is a config error: the two formats are built in); ``locale``
only accepts English month names (the default).
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable

import pyarrow as pa

from sluice.pipeline.errors import ConfigError
from sluice.plugins.codecs.base import LineSplitter
from sluice.plugins.inputs.base import Emit, EmitLines, EmitTable, Input, now_text
from sluice.plugins.inputs.syslog_parse import parse_syslog

__all__ = ["SyslogInput"]

_DEFAULT_PATTERN = "<%{POSINT:priority}>%{SYSLOGLINE}"
_LINGER = 0.05
_MAX_DATAGRAMS = 2000


class SyslogInput(Input):
    """A TCP accept thread, a thread per connection and a UDP thread."""

    _tcp: socket.socket | None = None
    _udp: socket.socket | None = None

    def open(self) -> None:
        s = self.settings
        if s.grok_pattern != _DEFAULT_PATTERN or s.syslog_field != "message":
            raise ConfigError("syslog input: grok_pattern and syslog_field cannot be changed")
        if s.locale and not s.locale.lower().startswith("en"):
            raise ConfigError(f"syslog input: locale {s.locale!r} is not supported (English)")
        family = socket.AF_INET6 if ":" in s.host else socket.AF_INET
        tcp = socket.socket(family, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        udp = socket.socket(family, socket.SOCK_DGRAM)
        try:
            tcp.bind((s.host, int(s.port)))
            udp.bind((s.host, int(tcp.getsockname()[1])))  # port 0: the same port for both
        except OSError as exc:
            tcp.close()
            udp.close()
            raise ConfigError(f"syslog input cannot listen on {s.host}:{s.port}: {exc}") from None
        tcp.listen(128)
        tcp.settimeout(0.2)
        udp.setblocking(False)
        self._tcp, self._udp = tcp, udp

    @property
    def port(self) -> int:
        """The bound port (TCP and UDP)."""
        assert self._tcp is not None
        return int(self._tcp.getsockname()[1])

    def start(
        self,
        emit: Emit,
        emit_lines: EmitLines | None = None,
        emit_table: EmitTable | None = None,
    ) -> None:
        super().start(emit, emit_lines, emit_table)
        self.spawn(self._run_udp, f"input-{self.node.id}-udp")

    def _emit_lines_of(self, lines: list[str], hosts: list[str]) -> None:
        if not lines:
            return
        table = parse_syslog(pa.array(lines, pa.string()), self.settings, now_text())
        self.emit_table(table.append_column("host", pa.array(hosts, pa.string())))

    def _run(self) -> None:
        assert self._tcp is not None
        while not self.stopping.is_set():
            try:
                conn, peer = self._tcp.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.spawn(self._server_for(conn, peer[0]), f"syslog-{peer[0]}:{peer[1]}")

    def _server_for(self, conn: socket.socket, peer: str) -> Callable[[], None]:
        return lambda: self._serve(conn, peer)

    def _serve(self, conn: socket.socket, peer: str) -> None:
        split = LineSplitter(b"\n")
        conn.settimeout(0.2)
        try:
            while not self.stopping.is_set():
                try:
                    data = conn.recv(262144)
                except TimeoutError:
                    continue
                raw = split.feed(data) if data else split.flush()
                lines = [_text(line) for line in raw if line.strip()]
                self._emit_lines_of(lines, [peer] * len(lines))
                if not data:
                    return
        finally:
            conn.close()

    def _run_udp(self) -> None:
        assert self._udp is not None
        while not self.stopping.is_set():
            lines: list[str] = []
            hosts: list[str] = []
            deadline = 0.0
            try:
                while len(lines) < _MAX_DATAGRAMS and not self.stopping.is_set():
                    try:
                        data, addr = self._udp.recvfrom(65536)
                    except BlockingIOError:
                        wait = 0.2 if not lines else deadline - time.monotonic()
                        if wait <= 0:
                            break
                        select.select([self._udp], [], [], wait)
                        continue
                    if not lines:
                        deadline = time.monotonic() + _LINGER
                    if data.strip():
                        lines.append(_text(data.rstrip(b"\r\n")))
                        hosts.append(addr[0])
            except (OSError, ValueError):
                return  # the socket was closed by stop()
            self._emit_lines_of(lines, hosts)

    def close(self) -> None:
        for sock in (self._tcp, self._udp):
            if sock is not None:
                sock.close()


def _text(raw: bytes) -> str:
    return (raw[:-1] if raw.endswith(b"\r") else raw).decode("utf-8", "replace")
