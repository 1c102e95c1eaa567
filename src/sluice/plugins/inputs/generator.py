"""The ``generator`` input: ``message`` (or each of ``lines`` in turn) ``count`` times
(0: until stopped), with a ``sequence`` number, as Logstash's generator does. With a
``codec`` each line is decoded by it (``codec => json`` makes JSON lines into events)."""

from __future__ import annotations

from sluice.plugins.codecs import make_codec
from sluice.plugins.inputs.base import Event, Input, hostname

__all__ = ["GeneratorInput"]

BATCH = 1000


class GeneratorInput(Input):
    """Emits in batches of up to 1000 events; ``finished`` once ``count`` is reached."""

    def _run(self) -> None:
        lines = list(self.settings.lines) or [self.settings.message]
        count = int(self.settings.count)
        host = hostname()
        seq = 0
        decoded: list[list[Event]] | None = None
        if self.settings.codec is not None:
            codec = make_codec(self.settings.codec, "plain")
            decoded = []
            for line in lines:
                dec = codec.decoder()
                decoded.append(dec.feed(line.encode() + b"\n") + dec.flush())
        while not self.stopping.is_set() and (count == 0 or seq < count):
            n = BATCH if count == 0 else min(BATCH, count - seq)
            events: list[Event] = []
            for i in range(seq, seq + n):
                k = i % len(lines)
                if decoded is None:
                    events.append({"message": lines[k], "sequence": i // len(lines), "host": host})
                    continue
                for event in decoded[k]:
                    events.append({**event, "sequence": i // len(lines), "host": host})
            self.emit(events)
            seq += n
        self.finished = True
