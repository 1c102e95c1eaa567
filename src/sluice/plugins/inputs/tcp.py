"""The ``tcp`` input (server mode): accept connections on ``host:port`` and decode each with
its own codec decoder (default ``line``; ``json_lines`` for JSON lines).

Every event gets ``host`` (the peer address) and ``port`` (the peer port) unless the data
has them. Bytes of a connection are emitted as they arrive, one ``emit`` per read, so the
next read happens only once the previous events are durable on the bus (back-pressure
reaches the sender through TCP). With ``json_lines``, a read goes on while more bytes arrive
within :data:`GATHER_WAIT` (up to :data:`MAX_CHUNK` bytes): a fast sender's lines become few
large chunks (each parsed at once, one worker batch), a slow sender's lines are emitted
2 ms after they arrive. ``client`` mode and TLS are not supported (a config error).
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from sluice.pipeline.errors import ConfigError
from sluice.plugins.codecs import make_codec
from sluice.plugins.inputs.base import Input

__all__ = ["MAX_CHUNK", "TcpInput"]

MAX_CHUNK = 4 * 1024 * 1024
"""Bytes of ``json_lines`` data one read gathers at most from what the socket holds."""
GATHER_WAIT = 0.002
"""Seconds a ``json_lines`` read waits for more bytes before it emits what it gathered."""
_RECV = 1 << 20


class TcpInput(Input):
    """One accept thread, one thread per connection."""

    _server: socket.socket | None = None

    def open(self) -> None:
        if self.settings.mode != "server":
            raise ConfigError("tcp input: only mode => server is supported")
        if self.settings.ssl_enabled:
            raise ConfigError("tcp input: ssl_enabled is not supported")
        self.codec = make_codec(self.settings.codec, "line")
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            server.bind((self.settings.host, int(self.settings.port)))
        except OSError as exc:
            server.close()
            raise ConfigError(
                f"tcp input cannot listen on {self.settings.host}:{self.settings.port}: {exc}"
            ) from None
        server.listen(128)
        server.settimeout(0.2)
        self._server = server
        self._conns: set[socket.socket] = set()

    @property
    def port(self) -> int:
        """The bound port (useful with ``port => 0``)."""
        assert self._server is not None
        return int(self._server.getsockname()[1])

    def _run(self) -> None:
        assert self._server is not None
        while not self.stopping.is_set():
            try:
                conn, peer = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._conns.add(conn)
            self.spawn(self._server_for(conn, peer), f"tcp-{peer[0]}:{peer[1]}")

    def _server_for(self, conn: socket.socket, peer: tuple[str, int]) -> Callable[[], None]:
        return lambda: self._serve(conn, peer)

    def _serve(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        conn.settimeout(0.2)
        if self.codec.name == "json_lines" and getattr(self.codec, "delimiter", b"") == b"\n":
            self._serve_lines(conn, peer)
            return
        decoder = self.codec.decoder()
        try:
            while not self.stopping.is_set():
                try:
                    data = conn.recv(262144)
                except TimeoutError:
                    continue
                events = decoder.feed(data) if data else decoder.flush()
                for event in events:
                    event.setdefault("host", peer[0])
                    event.setdefault("port", peer[1])
                self.emit(events)
                if not data:
                    return
        finally:
            self._conns.discard(conn)
            conn.close()

    def _serve_lines(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        """JSON lines: complete lines go to :meth:`Input.emit_lines` as bytes (the worker
        parses them in bulk); the unfinished tail waits for the next read."""
        fields = {"host": peer[0], "port": peer[1]}
        tail = b""
        try:
            while not self.stopping.is_set():
                try:
                    data = conn.recv(_RECV)
                except TimeoutError:
                    continue
                if not data:
                    if tail.strip():
                        self.emit_lines(tail + b"\n", fields)
                    return
                data, eof = _drain(conn, data)
                end = data.rfind(b"\n")
                if end < 0:
                    tail += data
                else:
                    self.emit_lines(tail + data[: end + 1], fields)
                    tail = data[end + 1 :]
                if eof:
                    if tail.strip():
                        self.emit_lines(tail + b"\n", fields)
                    return
        finally:
            self._conns.discard(conn)
            conn.close()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()


def _drain(conn: socket.socket, first: bytes) -> tuple[bytes, bool]:
    """``first`` plus what arrives on ``conn`` without a pause longer than
    :data:`GATHER_WAIT` seconds, up to :data:`MAX_CHUNK` bytes; and whether the peer closed
    its side meanwhile."""
    parts = [first]
    size = len(first)
    eof = False
    timeout = conn.gettimeout()
    conn.settimeout(GATHER_WAIT)
    try:
        while size < MAX_CHUNK:
            try:
                more = conn.recv(min(_RECV, MAX_CHUNK - size))
            except TimeoutError:
                break
            if not more:
                eof = True
                break
            parts.append(more)
            size += len(more)
    finally:
        conn.settimeout(timeout)
    return b"".join(parts) if len(parts) > 1 else first, eof
