"""Input marks: what an input has read, stored in the bus together with what it emitted.

Who uses it: the pipeline runtime attaches an emit's mark to the records it stores
(:data:`MARK_HEADER`, on the emit's last record, in the same ``produce``); inputs that keep a
position outside the bus (the ``file`` input's position file) read the marks back on start
(:func:`marks_since`).

Why: an input saves its position after its events are durable in the bus. A crash between
the two would read those events again after the restart. With the position also in the bus
record that carries the events, the bus alone says how far the input got: on start, the
input reads the marks stored since its last saved position (the position file keeps the
topic's end offset seen at that save) and takes the last one of each of its files.
A mark is opaque bytes to the runtime; each input names itself in its own marks.
"""

from __future__ import annotations

from sluice.bus import Bus

__all__ = ["MARK_HEADER", "marks_since", "topic_end"]

MARK_HEADER = "sluice-input-mark"
"""Record header holding an input's mark."""

_FETCH = 1000


def topic_end(bus: Bus, topic: str) -> int:
    """The input topic's end offset (partition 0; input topics have one)."""
    return bus.latest_offset(topic, 0)


def marks_since(bus: Bus, topic: str, offset: int) -> list[bytes]:
    """Every mark stored at offsets ``>= offset`` of ``topic`` (partition 0), in order.

    Offsets already removed by retention are skipped (their marks are older anyway).
    """
    marks: list[bytes] = []
    position = max(offset, bus.earliest_offset(topic, 0))
    end = topic_end(bus, topic)
    while position < end:
        result = bus.fetch(topic, 0, position, _FETCH)
        for batch in result.batches:
            for headers in batch.headers:
                marks.extend(value for name, value in headers if name == MARK_HEADER)
        if result.next_offset <= position:
            break
        position = result.next_offset
    return marks
