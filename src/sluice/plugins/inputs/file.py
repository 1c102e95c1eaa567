"""The ``file`` input: follow (``mode => tail``) or read once (``mode => read``) the files
matching ``path`` globs, line by line.

Positions live in a position file (``sincedb_path``, default
``<state dir>/sincedb_<input id>.json``): ``{"<dev>:<inode>": {"path", "offset"}, "bus":
{"end"}}``. A file is
known by device and inode, so a rename (log rotation) keeps its position. Per poll (every
``stat_interval``): the globs are expanded (minus ``exclude``); a file never seen starts at
``start_position`` if it was there at the first poll, and at its beginning if it appeared
later (a rotated-in file loses nothing); each open file is read from its position to its last
complete line (a line without its ``delimiter`` yet waits); the lines are emitted — durable
on the bus, together with a mark of the file and the position after them
(:mod:`sluice.plugins.inputs.marks`) — and only then is the position file replaced (write,
fsync, rename), with the input topic's end offset at that time. So a restart resumes exactly
after the last emitted line: nothing skipped, nothing repeated. A crash between the emit and
the rename loses nothing either: on start the input reads the marks stored since the saved
end offset and moves each file to its last mark, so that batch is not read again.
A file that shrank below its position was truncated (copytruncate) and is re-read from 0.
A rotated file stays open until read to its end, then is closed when no glob matches it.

Events: ``message``, ``path``, ``host``; a ``json``/``json_lines`` codec parses each line.
Each read becomes one batch: plain lines one Arrow ``message`` column
(:meth:`Input.emit_table`), JSON lines one chunk for the runtime's bulk parser
(:meth:`Input.emit_lines`).
``mode => read`` reads every file from its beginning (or its saved position) to its end,
the last line even without a delimiter, then applies ``file_completed_action``: ``delete``
(the default), ``log`` (append the path to ``file_completed_log_path``) or
``log_and_delete``; a completed file is remembered in the position file and not read again.
A line longer than 16 MiB is cut into 16 MiB pieces (a read takes up to 16 MiB).
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa

from sluice.pipeline.errors import ConfigError
from sluice.plugins.codecs import parse_event
from sluice.plugins.codecs.line import split_lines
from sluice.plugins.inputs.base import Event, Input, hostname, parse_duration
from sluice.plugins.inputs.marks import marks_since, topic_end

__all__ = ["FileInput"]

MAX_READ = 16 * 1024 * 1024
_BUS = "bus"
"""The position file's entry for the input topic's end offset at the last save."""
log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Watched:
    key: str
    path: str
    handle: BinaryIO
    offset: int


class FileInput(Input):
    """One thread polling every ``stat_interval``."""

    def open(self) -> None:
        s = self.settings
        self.read_mode = s.mode == "read"
        action = s.file_completed_action
        if action not in ("delete", "log", "log_and_delete"):
            raise ConfigError(
                f"file input: file_completed_action {action!r} is not one of delete, log, "
                "log_and_delete"
            )
        if self.read_mode and action != "delete" and not s.file_completed_log_path:
            raise ConfigError(f"file input: file_completed_action {action} needs "
                              "file_completed_log_path")  # fmt: skip
        self.interval = parse_duration(s.stat_interval, "stat_interval")
        self.delimiter = s.delimiter.encode()
        codec = s.codec.name if s.codec is not None else "plain"
        if codec not in ("plain", "line", "json", "json_lines"):
            raise ConfigError(f"file input: codec {codec} is not supported here")
        self.json = codec in ("json", "json_lines")
        default = self.ctx.state_dir / f"sincedb_{self.node.id}.json"
        self.sincedb = Path(s.sincedb_path) if s.sincedb_path else default
        self.positions: dict[str, dict[str, Any]] = {}
        if self.sincedb.exists():
            try:
                self.positions = json.loads(self.sincedb.read_text("utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError(
                    f"file input: position file {self.sincedb} is unreadable: {exc}"
                ) from None
        self.watched: dict[str, _Watched] = {}
        self.first_poll = True
        self._recover()

    def _recover(self) -> None:
        """Move files to the positions stored in the bus after the last save (a crash
        between an emit and its save); see :mod:`sluice.plugins.inputs.marks`."""
        bus, topic = self.ctx.bus, self.ctx.topic
        if bus is None or topic is None or not bus.topic_exists(topic):
            return
        saved = self.positions.get(_BUS)
        if saved is None:  # no save yet: from here on, the first emit's mark will be found
            self.positions[_BUS] = {"end": topic_end(bus, topic)}
            self._save()
            return
        moved = 0
        for raw in marks_since(bus, topic, int(saved["end"])):
            mark = json.loads(raw)
            if mark.get("input") == self.node.id:
                self.positions[mark["key"]] = {"path": mark["path"], "offset": mark["offset"]}
                moved += 1
        if moved:
            log.warning(
                "Pipeline %s, input %s: %d read(s) were stored in the bus but not in the "
                "position file %s (a crash between the two); positions taken from the bus.",
                self.ctx.pipeline, self.node.id, moved, self.sincedb,
            )  # fmt: skip
            self._save()

    def _mark(self, w: _Watched, consumed: int) -> bytes:
        """The mark of an emit of ``w``'s next ``consumed`` bytes: the position after them."""
        mark = {"input": self.node.id, "key": w.key, "path": w.path, "offset": w.offset + consumed}
        return json.dumps(mark).encode()

    def _discover(self) -> dict[str, tuple[str, os.stat_result]]:
        s = self.settings
        found: dict[str, tuple[str, os.stat_result]] = {}
        for pattern in s.path:
            for path in sorted(glob.glob(pattern)):
                name = os.path.basename(path)
                if any(fnmatch.fnmatch(name, e) for e in s.exclude):
                    continue
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                if os.path.isfile(path):
                    found[f"{st.st_dev}:{st.st_ino}"] = (path, st)
        return found

    def _watch(self, found: dict[str, tuple[str, os.stat_result]]) -> None:
        start_at_end = (
            self.settings.start_position == "end" and self.first_poll and not self.read_mode
        )
        for key, (path, st) in found.items():
            if key in self.watched:
                self.watched[key].path = path
                continue
            if self.positions.get(key, {}).get("completed"):
                continue
            if key in self.positions:
                offset = int(self.positions[key]["offset"])
            else:
                offset = st.st_size if start_at_end else 0
            try:
                handle = open(path, "rb")  # noqa: SIM115 - kept open while the file is followed
            except OSError:
                continue
            self.watched[key] = _Watched(key, path, handle, offset)
        self.first_poll = False

    def _read(self, w: _Watched) -> int:
        size = os.fstat(w.handle.fileno()).st_size
        if size < w.offset:
            w.offset = 0
        if size == w.offset:
            return 0
        w.handle.seek(w.offset)
        data = w.handle.read(min(size - w.offset, MAX_READ))
        end = data.rfind(self.delimiter)
        at_eof = w.offset + len(data) == size
        if (self.read_mode and at_eof) or (len(data) == MAX_READ and end < 0):
            # the last line of a file read once, or a line longer than MAX_READ
            consumed = len(data)
        elif end < 0:
            return 0
        else:
            consumed = end + len(self.delimiter)
        if self.json and self.delimiter == b"\n":
            # JSON lines go to the runtime's bulk path unparsed
            chunk = data[:consumed]
            if not chunk.endswith(b"\n"):
                chunk += b"\n"
            self.emit_lines(chunk, {"path": w.path, "host": hostname()}, self._mark(w, consumed))
            self._advance(w, consumed)
            return max(1, chunk.count(b"\n"))
        if self.json:
            return self._emit_events(w, data[:consumed])
        # plain lines: one Arrow column per read, no Python object per line
        lines = split_lines(data[:consumed], self.delimiter)
        fields = {"path": w.path, "host": hostname()}
        self.emit_table(pa.table({"message": lines}), fields, self._mark(w, consumed))
        self._advance(w, consumed)
        return max(1, len(lines))

    def _emit_events(self, w: _Watched, data: bytes) -> int:
        """JSON lines split at a delimiter other than ``\\n``: parsed one line at a time."""
        lines = data.split(self.delimiter)
        if lines[-1] == b"":
            lines.pop()
        host = hostname()
        events: list[Event] = []
        for raw in lines:
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if not raw.strip():
                continue
            for event in parse_event(raw):
                event.setdefault("path", w.path)
                event.setdefault("host", host)
                events.append(event)
        self.emit(events, self._mark(w, len(data)))
        self._advance(w, len(data))
        return max(1, len(lines))

    def _advance(self, w: _Watched, consumed: int) -> None:
        """After an emit (durable): move and save the position, with the input topic's end
        (the marks stored from there on are newer than this save)."""
        w.offset += consumed
        self.positions[w.key] = {"path": w.path, "offset": w.offset}
        if self.ctx.bus is not None and self.ctx.topic is not None:
            self.positions[_BUS] = {"end": topic_end(self.ctx.bus, self.ctx.topic)}
        self._save()

    def _complete(self, w: _Watched) -> None:
        """Read mode: the file was read to its end."""
        s = self.settings
        w.handle.close()
        del self.watched[w.key]
        if s.file_completed_action in ("log", "log_and_delete"):
            with open(s.file_completed_log_path, "a", encoding="utf-8") as log:
                log.write(w.path + "\n")
        if s.file_completed_action in ("delete", "log_and_delete"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(w.path)
            # gone: a later file that reuses the inode is a new file
            self.positions.pop(w.key, None)
        else:
            self.positions[w.key] = {"path": w.path, "offset": w.offset, "completed": True}
        self._save()

    def _save(self) -> None:
        self.sincedb.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.sincedb.with_name(self.sincedb.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.positions, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.sincedb)

    def poll(self) -> int:
        """One discovery and read round; returns the number of lines emitted."""
        found = self._discover()
        self._watch(found)
        emitted = 0
        for key, w in list(self.watched.items()):
            while not self.stopping.is_set():
                n = self._read(w)
                emitted += n
                if n == 0:
                    break
            if self.read_mode and not self.stopping.is_set():
                self._complete(w)
                continue
            if key not in found:  # rotated away and read to its end
                w.handle.close()
                del self.watched[key]
                if self.positions.pop(key, None) is not None:
                    self._save()
        return emitted

    def _run(self) -> None:
        try:
            while not self.stopping.is_set():
                if self.poll() == 0:
                    self.stopping.wait(self.interval)
        finally:
            for w in self.watched.values():
                w.handle.close()
