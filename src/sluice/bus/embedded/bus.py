"""The embedded bus: Sluice's default log, kept in files under the data directory.

Layout::

    <path>/topics/.writer.lock            flock'ed by the one writing process (holds its pid)
    <path>/topics/.meta/<topic>.json      partition count and retention of each topic
    <path>/topics/<topic>-<partition>/    segments of one partition (see .log and .segment)
    <path>/groups/<group>.json            committed offsets of one consumer group

One process opens the directory for writing (a second one gets :class:`WriterLockedError`);
any number may open it with ``read_only=True`` and follow the writer. A background thread
fsyncs (policy ``interval``) and applies retention every ``retention_check_interval_ms``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import threading
import time

from sluice.bus.embedded.config import EmbeddedConfig
from sluice.bus.embedded.log import FileLog, LogSettings
from sluice.bus.errors import BusClosedError, ReadOnlyBusError, WriterLockedError
from sluice.bus.groups import FileOffsetStore, GroupCoordinator, OffsetStore
from sluice.bus.local import LocalBus, PartitionLog, _Topic
from sluice.bus.types import TopicInfo, TopicPartition

__all__ = ["EmbeddedBus"]

log = logging.getLogger(__name__)


class EmbeddedBus(LocalBus):
    """A :class:`~sluice.bus.base.Bus` over segment files; see the module docstring.

    Build it with an :class:`EmbeddedConfig` (inert), then :meth:`open` it (or use ``with``).
    """

    kind = "embedded"

    def __init__(self, config: EmbeddedConfig) -> None:
        super().__init__(OffsetStore())
        self.config = config
        self._closed = True
        self._opened = False
        self._lock_fd = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._topics_dir = config.path / "topics"
        self._meta_dir = self._topics_dir / ".meta"
        self._settings = LogSettings(
            config.segment_bytes,
            config.segment_ms,
            config.index_interval_bytes,
            config.fsync == "always",
            not config.read_only,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self) -> EmbeddedBus:
        """Take the writer lock (unless read-only), open every topic, start the maintainer."""
        if self._opened:
            return self
        if not self.config.read_only:
            self._meta_dir.mkdir(parents=True, exist_ok=True)
            self._take_lock()
        store = FileOffsetStore(
            self.config.path / "groups",
            fsync=self.config.fsync == "always",
            read_only=self.config.read_only,
        )
        self.groups = GroupCoordinator(store, self._partition_count)
        self._closed = False
        self._opened = True
        self._load_topics()
        if not self.config.read_only:
            self._thread = threading.Thread(
                target=self._maintain, name=f"sluice-bus-{self.config.path.name}", daemon=True
            )
            self._thread.start()
        log.info(
            "Opened the embedded log at %s (%s, %d topics, fsync=%s).",
            self.config.path,
            "read-only" if self.config.read_only else "writer",
            len(self._topics),
            self.config.fsync,
        )
        return self

    def _take_lock(self) -> None:
        path = self._topics_dir / ".writer.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise WriterLockedError(
                f"The embedded log at {self.config.path} is already open for writing by process "
                f"{holder}; stop that process or open the log read-only."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd

    def close(self) -> None:
        if not self._opened or self._closed:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        super().close()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def _maintain(self) -> None:
        fsync_s = self.config.fsync_interval_ms / 1000
        retention_s = self.config.retention_check_interval_ms / 1000
        tick = min(fsync_s, retention_s)
        next_retention = time.monotonic() + retention_s
        while not self._stop.wait(tick):
            try:
                if self.config.fsync == "interval":
                    self.flush()
                if time.monotonic() >= next_retention:
                    next_retention = time.monotonic() + retention_s
                    self.enforce_retention()
            except BusClosedError:
                return
            except Exception:
                log.exception("The embedded log maintenance at %s failed.", self.config.path)

    def flush(self) -> None:
        """fsync every partition with unsynced data."""
        with self._lock:
            topics = list(self._topics.values())
        for topic in topics:
            for plog in topic.logs:
                plog.flush()

    # -- hooks -------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if not self._opened:
            raise BusClosedError(
                f"The embedded log at {self.config.path} is not open; call open() first."
            )
        super()._check_open()

    def _check_writable(self) -> None:
        if self.config.read_only:
            raise ReadOnlyBusError(
                f"The embedded log at {self.config.path} is open read-only; writes need the "
                "writer lock."
            )

    def _new_log(self, topic: str, partition: int) -> PartitionLog:
        return FileLog(self._topics_dir / f"{topic}-{partition}", self._settings)

    def _save_topic(self, topic: _Topic) -> None:
        doc = {
            "name": topic.name,
            "partitions": len(topic.logs),
            "retention_ms": topic.retention_ms,
            "retention_bytes": topic.retention_bytes,
        }
        path = self._meta_dir / f"{topic.name}.json"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            json.dump(doc, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def _drop_topic(self, topic: _Topic) -> None:
        (self._meta_dir / f"{topic.name}.json").unlink(missing_ok=True)
        self._remove_partition_dirs(topic.name)

    def _remove_partition_dirs(self, name: str) -> None:
        pattern = re.compile(re.escape(name) + r"-\d+")
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self._topics_dir):
                if entry.is_dir() and pattern.fullmatch(entry.name):
                    shutil.rmtree(entry.path, ignore_errors=True)

    def _load_topics(self) -> None:
        try:
            paths = sorted(self._meta_dir.glob("*.json"))
        except FileNotFoundError:
            return
        for path in paths:
            doc = json.loads(path.read_text())
            name = doc["name"]
            with self._lock:
                if name in self._topics:
                    continue
                topic = _Topic(name, doc["retention_ms"], doc["retention_bytes"])
                topic.logs = [self._new_log(name, p) for p in range(doc["partitions"])]
                self._topics[name] = topic

    def _refresh(self, topic: _Topic) -> None:
        if self.config.read_only:
            for plog in topic.logs:
                assert isinstance(plog, FileLog)
                plog.refresh()

    # -- read-only followers see what the writer adds ----------------------------------------

    def create_topic(
        self, name: str, partitions: int = 1, retention_ms: int = -1, retention_bytes: int = -1
    ) -> TopicInfo:
        self._check_open()
        self._check_writable()
        with self._lock:
            if name not in self._topics:
                self._remove_partition_dirs(name)  # leftovers of an interrupted delete
            return super().create_topic(name, partitions, retention_ms, retention_bytes)

    def list_topics(self) -> list[str]:
        if self.config.read_only and self._opened:
            self._load_topics()
        return super().list_topics()

    def _topic(self, name: str) -> _Topic:
        if self.config.read_only and self._opened and name not in self._topics:
            self._load_topics()
        return super()._topic(name)

    def committed(self, group: str, tp: TopicPartition) -> int | None:
        self._reload_offsets()
        return super().committed(group, tp)

    def committed_offsets(self, group: str) -> dict[TopicPartition, int]:
        self._reload_offsets()
        return super().committed_offsets(group)

    def list_groups(self) -> list[str]:
        self._reload_offsets()
        return super().list_groups()

    def _reload_offsets(self) -> None:
        store = self.groups.offsets
        if self.config.read_only and isinstance(store, FileOffsetStore):
            store.reload()
