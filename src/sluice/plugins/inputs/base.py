"""The input protocol of the pipeline runtime.

An :class:`Input` is built from a compiled ``input`` plugin node (inert), then
:meth:`Input.start` starts its threads with an ``emit`` callback. ``emit(events)`` stamps
the events (``@timestamp`` when absent, ``@version``, and the common options ``type``,
``tags``, ``add_field``) and writes them to the pipeline's input topic; it returns only once
the bus has stored them, so an input acknowledges (HTTP reply, file position, consumer
commit) only what is durable. ``emit`` raises when the runtime is stopping; inputs then stop.
:meth:`Input.stop` asks the threads to end and waits for them. ``finished`` is true when a
finite input (generator with a count, stdin at EOF) has emitted everything.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sluice.bus import Bus
from sluice.pipeline.compiler import PluginNode
from sluice.pipeline.errors import ConfigError
from sluice.plugins.codecs import parse_event

__all__ = [
    "Emit",
    "EmitLines",
    "EmitTable",
    "Event",
    "Input",
    "InputContext",
    "Mark",
    "hostname",
    "now_text",
    "parse_duration",
]

Event = dict[str, Any]
Mark = bytes | None
"""What an input writes into the bus with an emit (see :mod:`sluice.plugins.inputs.marks`)."""
Emit = Callable[[list[Event], Mark], None]
"""``emit(events, mark)``: events ready to store."""
EmitLines = Callable[[bytes, Event, int, Mark], None]
"""``emit_lines(chunk, stamp, count, mark)``: ``count`` complete JSON lines and the fields
each of their events gets unless it has them (see :meth:`Input.emit_lines`)."""
EmitTable = Callable[[Any, Event, Mark], None]
"""``emit_table(table, stamp, mark)``: a ``pyarrow.Table`` of events and their stamp."""

_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)\s*$")
_UNITS = {
    "": 1.0, "s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0, "ms": 0.001,
    "millisecond": 0.001, "milliseconds": 0.001, "m": 60.0, "min": 60.0, "minute": 60.0,
    "minutes": 60.0, "h": 3600.0, "hour": 3600.0, "hours": 3600.0,
}  # fmt: skip


def parse_duration(value: str | int | float, setting: str) -> float:
    """Logstash durations (``15``, ``"1 second"``, ``"250 ms"``, ``"1 hour"``) in seconds."""
    if isinstance(value, int | float):
        return float(value)
    m = _DURATION.match(value.lower())
    if not m or m.group(2) not in _UNITS:
        raise ConfigError(f"{setting} {value!r} is not a duration", expected=["15 seconds"])
    return float(m.group(1)) * _UNITS[m.group(2)]


def now_text() -> str:
    """Now as Logstash prints ``@timestamp``: ``2026-11-21T21:38:44.123Z``."""
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


_HOST = socket.gethostname()


def hostname() -> str:
    """This machine's name (the ``host`` field of generated events)."""
    return _HOST


@dataclass(frozen=True, slots=True)
class InputContext:
    """What the runtime gives an input: pipeline name, a state directory, the bus and the
    pipeline's input topic (where the input's emits, and their marks, are stored)."""

    pipeline: str
    state_dir: Path
    bus: Bus | None = None
    topic: str | None = None


class Input(ABC):
    """Base of every input; subclasses implement :meth:`_run` (run on a thread)."""

    def __init__(self, node: PluginNode, ctx: InputContext) -> None:
        self.node = node
        self.settings: Any = node.settings
        self.ctx = ctx
        self.stopping = threading.Event()
        self.finished = False
        self.error: BaseException | None = None
        self._emit: Emit | None = None
        self._emit_lines: EmitLines | None = None
        self._emit_table: EmitTable | None = None
        self._threads: list[threading.Thread] = []

    def start(
        self,
        emit: Emit,
        emit_lines: EmitLines | None = None,
        emit_table: EmitTable | None = None,
    ) -> None:
        """Start emitting through ``emit`` (see the module doc); ``emit_lines`` and
        ``emit_table`` are the runtime's bulk paths (:meth:`emit_lines`,
        :meth:`emit_table`), when it has them."""
        self._emit = emit
        self._emit_lines = emit_lines
        self._emit_table = emit_table
        self.open()
        self.spawn(self._run, f"input-{self.node.id}")

    def open(self) -> None:
        """Acquire resources (bind sockets, read positions) before threads start."""
        return

    def spawn(self, target: Callable[[], None], name: str) -> threading.Thread:
        def guarded() -> None:
            try:
                target()
            except BaseException as exc:  # reported by the runtime's status
                if not self.stopping.is_set():
                    self.error = exc

        thread = threading.Thread(target=guarded, name=name, daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()]  # finished connections
        self._threads.append(thread)
        thread.start()
        return thread

    @abstractmethod
    def _run(self) -> None:
        """The input's main loop; return when done or when ``stopping`` is set."""

    def emit(self, events: list[Event], mark: Mark = None) -> None:
        """Stamp ``events`` and hand them to the runtime (blocks until durable). ``mark``
        is stored with them, in the same write (see :mod:`sluice.plugins.inputs.marks`)."""
        if not events or self._emit is None:
            return
        stamp = now_text()
        s = self.settings
        for event in events:
            event.setdefault("@timestamp", stamp)
            event.setdefault("@version", "1")
            if s.type is not None:
                event.setdefault("type", s.type)
            if s.tags:
                tags = event.get("tags")
                tags = list(tags) if isinstance(tags, list) else ([tags] if tags else [])
                event["tags"] = tags + [t for t in s.tags if t not in tags]
            for key, value in s.add_field.items():
                event.setdefault(key, value)
        self._emit(events, mark)

    def emit_lines(self, chunk: bytes, fields: Event, mark: Mark = None) -> None:
        """Emit the JSON lines of ``chunk`` (complete lines, each ``\\n``-terminated) as
        events, each getting ``fields`` (e.g. ``host``, ``path``) and the usual stamp unless
        it has them; blocks until durable like :meth:`emit`.

        The runtime's bulk path hands the bytes on unparsed (the worker parses a whole
        chunk at once); without it, or with ``tags`` to merge into every event, each line
        is parsed here as the ``json_lines`` codec does and goes through :meth:`emit`.
        """
        if not chunk or self._emit is None:
            return
        s = self.settings
        if self._emit_lines is None or s.tags:
            events: list[Event] = []
            for raw in chunk.split(b"\n"):
                line = raw[:-1] if raw.endswith(b"\r") else raw
                if line.strip():
                    for event in parse_event(line):
                        for key, value in fields.items():
                            event.setdefault(key, value)
                        events.append(event)
            self.emit(events, mark)
            return
        self._emit_lines(chunk, self._stamp(fields), chunk.count(b"\n"), mark)

    def _stamp(self, fields: Event) -> Event:
        s = self.settings
        stamp: Event = {**fields, "@timestamp": now_text(), "@version": "1"}
        if s.type is not None:
            stamp.setdefault("type", s.type)
        for key, value in s.add_field.items():
            stamp.setdefault(key, value)
        return stamp

    def emit_table(self, table: Any, fields: Event | None = None, mark: Mark = None) -> None:
        """Emit the rows of a ``pyarrow.Table`` as events (a null cell is an absent field),
        each getting ``fields`` (e.g. ``host``, ``path``) and the usual stamp unless it has
        them, like :meth:`emit`; blocks until durable. The runtime stores the table as it
        is (no Python object per event) unless ``tags`` must be merged into every event,
        in which case the rows go through :meth:`emit`."""
        if table.num_rows == 0 or self._emit is None:
            return
        fields = fields or {}
        if self._emit_table is None or self.settings.tags:
            events = [{k: v for k, v in row.items() if v is not None} for row in table.to_pylist()]
            for event in events:
                for key, value in fields.items():
                    event.setdefault(key, value)
            self.emit(events, mark)
            return
        self._emit_table(table, self._stamp(fields), mark)

    def stop(self) -> None:
        """Ask the threads to end and wait for them (up to 5 s each)."""
        self.stopping.set()
        self.close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    def close(self) -> None:
        """Release resources that block the threads (sockets)."""
        return
