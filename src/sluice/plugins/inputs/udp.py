"""The ``udp`` input: datagrams on ``host:port``, each decoded by the codec (default
``plain``: the datagram is the ``message``; ``json``: one JSON document; ``json_lines`` or
``line``: the lines of the datagram).

Every event gets the sender address in ``source_ip_fieldname`` (default ``host``) unless
the data has it. One thread reads: it drains the socket without blocking into a batch of
up to ``queue_size`` datagrams (or what arrived within 50 ms of the first), decodes them
and emits the batch once (one bus write per batch, not per datagram). While a batch is
being stored, new datagrams wait in the kernel's receive buffer (``receive_buffer_bytes``
sets ``SO_RCVBUF``); UDP has no back-pressure, so a sender faster than the pipeline loses
datagrams there, as with Logstash. ``workers`` is accepted and ignored (decoding is a small
part of the cost; the batch write dominates).
"""

from __future__ import annotations

import select
import socket
import time

from sluice.pipeline.errors import ConfigError
from sluice.plugins.codecs import make_codec
from sluice.plugins.inputs.base import Event, Input

__all__ = ["UdpInput"]

_LINGER = 0.05


class UdpInput(Input):
    """One reading thread (see the module doc)."""

    _sock: socket.socket | None = None

    def open(self) -> None:
        s = self.settings
        self.codec = make_codec(s.codec, "plain")
        if s.buffer_size <= 0 or s.queue_size <= 0:
            raise ConfigError("udp input: buffer_size and queue_size must be positive")
        family = socket.AF_INET6 if ":" in s.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        if s.receive_buffer_bytes:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(s.receive_buffer_bytes))
        try:
            sock.bind((s.host, int(s.port)))
        except OSError as exc:
            sock.close()
            raise ConfigError(f"udp input cannot listen on {s.host}:{s.port}: {exc}") from None
        sock.setblocking(False)
        self._sock = sock

    @property
    def port(self) -> int:
        """The bound port (useful with ``port => 0``)."""
        assert self._sock is not None
        return int(self._sock.getsockname()[1])

    def _decode(self, data: bytes, peer: str) -> list[Event]:
        decoder = self.codec.decoder()
        events = decoder.feed(data) + decoder.flush()
        field = self.settings.source_ip_fieldname
        for event in events:
            event.setdefault(field, peer)
        return events

    def _batch(self) -> list[tuple[bytes, str]]:
        """Datagrams that arrived within ``_LINGER`` s of the first (up to queue_size)."""
        assert self._sock is not None
        s = self.settings
        batch: list[tuple[bytes, str]] = []
        deadline = 0.0
        while len(batch) < s.queue_size and not self.stopping.is_set():
            try:
                data, addr = self._sock.recvfrom(s.buffer_size)
            except BlockingIOError:
                wait = 0.2 if not batch else deadline - time.monotonic()
                if wait <= 0:
                    break
                select.select([self._sock], [], [], wait)
                continue
            if not batch:
                deadline = time.monotonic() + _LINGER
            batch.append((data, addr[0]))
        return batch

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                batch = self._batch()
            except (OSError, ValueError):
                return  # the socket was closed by stop()
            events: list[Event] = []
            for data, peer in batch:
                events.extend(self._decode(data, peer))
            self.emit(events)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
