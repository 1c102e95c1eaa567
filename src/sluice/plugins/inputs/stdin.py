"""The ``stdin`` input: standard input through the codec (default ``line``); ``finished`` at
end of file."""

from __future__ import annotations

import os
import sys

from sluice.plugins.codecs import make_codec
from sluice.plugins.inputs.base import Input, hostname

__all__ = ["StdinInput"]


class StdinInput(Input):
    """Reads 64 KiB at a time from file descriptor 0 (or ``stream_fd`` for tests)."""

    stream_fd: int | None = None

    def _run(self) -> None:
        codec = make_codec(self.settings.codec, "line")
        decoder = codec.decoder()
        fd = self.stream_fd if self.stream_fd is not None else sys.stdin.fileno()
        host = hostname()
        while not self.stopping.is_set():
            data = os.read(fd, 65536)
            events = decoder.feed(data) if data else decoder.flush()
            for event in events:
                event.setdefault("host", host)
            self.emit(events)
            if not data:
                break
        self.finished = True
