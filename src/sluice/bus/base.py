"""The bus protocol: a Kafka-style partitioned log that every backend implements.

Three backends implement :class:`Bus`: ``memory`` (tests), ``embedded`` (the default: files
under the data dir) and ``kafka`` (confluent-kafka against a cluster). They share Kafka's
semantics, and one behaviour suite (``tests/bus``) runs against all of them:

- A topic has N partitions; each partition is an ordered log whose records get consecutive
  offsets starting at 0. Offsets never change and are never reused.
- ``produce`` appends batches and returns the offsets it assigned. With ``partition=None``
  keyed records go to Kafka's murmur2 partition of their key; keyless records of one call go
  to one partition, the next call to the next one (sticky round-robin).
- ``fetch`` returns whole-batch views of records at offsets ``>= offset``; an offset below the
  log start (deleted by retention) or above the log end raises
  :class:`~sluice.bus.errors.OffsetOutOfRangeError`. With ``wait_ms`` it blocks until data
  arrives or the time is up.
- Consumer groups keep committed offsets (the offset of the *next* record to read, as in Kafka)
  and spread partitions over members with the ``range`` or ``roundrobin`` strategy;
  :meth:`Bus.join_group` returns a :class:`GroupMember` whose assignment changes (rebalance)
  when members join or leave.

Every method is thread-safe. Methods raise :mod:`sluice.bus.errors` exceptions: a missing
topic is :class:`TopicNotFoundError`, a bad partition :class:`PartitionNotFoundError`.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from types import TracebackType

from sluice.bus.batch import Record, Records
from sluice.bus.types import FetchResult, GroupInfo, ProduceResult, TopicInfo, TopicPartition

__all__ = ["DEFAULT_FETCH_MAX_BYTES", "DEFAULT_FETCH_MAX_RECORDS", "Bus", "GroupMember"]

DEFAULT_FETCH_MAX_RECORDS = 100_000
DEFAULT_FETCH_MAX_BYTES = 8 * 1024 * 1024


class GroupMember(ABC):
    """This process's membership in a consumer group (from :meth:`Bus.join_group`).

    Call :meth:`poll` regularly (at least every ``session_timeout_ms``): it keeps the
    membership alive and returns the partitions currently assigned to this member, which change
    when members join or leave. :meth:`leave` (or leaving the ``with`` block) hands the
    partitions back at once, so the others get them in the next rebalance.
    """

    group: str
    member_id: str

    @abstractmethod
    def poll(self, timeout_ms: int = 0) -> list[TopicPartition]:
        """Heartbeat, wait up to ``timeout_ms`` for a pending rebalance, return the assignment."""

    @property
    @abstractmethod
    def generation(self) -> int:
        """The group generation of the current assignment (grows at every rebalance)."""

    @abstractmethod
    def leave(self) -> None:
        """Leave the group (idempotent)."""

    def __enter__(self) -> GroupMember:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.leave()


class Bus(ABC):
    """A partitioned log with consumer groups: the protocol every backend implements."""

    #: Backend name: ``memory``, ``embedded`` or ``kafka``.
    kind: str = ""

    def __init__(self) -> None:
        self._sticky = itertools.count()

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self) -> Bus:
        """Start I/O (open files, connect). Idempotent; returns ``self``."""
        return self

    @abstractmethod
    def close(self) -> None:
        """Flush and release everything. Idempotent; later calls raise ``BusClosedError``."""

    def __enter__(self) -> Bus:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- admin -------------------------------------------------------------------------------

    @abstractmethod
    def create_topic(
        self, name: str, partitions: int = 1, retention_ms: int = -1, retention_bytes: int = -1
    ) -> TopicInfo:
        """Create a topic. ``TopicExistsError`` if it exists; ``ValueError`` for a bad name.

        Names follow Kafka's rule: 1-249 characters of ``[a-zA-Z0-9._-]``, not ``.``/``..``.
        ``retention_ms``/``retention_bytes`` of ``-1`` keep data forever.
        """

    @abstractmethod
    def delete_topic(self, name: str) -> None:
        """Delete a topic and its data. ``TopicNotFoundError`` if it does not exist."""

    @abstractmethod
    def list_topics(self) -> list[str]:
        """Names of all topics, sorted."""

    @abstractmethod
    def describe_topic(self, name: str) -> TopicInfo:
        """Partitions (offsets, sizes) and retention of a topic."""

    def topic_exists(self, name: str) -> bool:
        """True when the topic exists."""
        return name in self.list_topics()

    @abstractmethod
    def set_retention(
        self, name: str, retention_ms: int | None = None, retention_bytes: int | None = None
    ) -> TopicInfo:
        """Change retention (``None`` keeps the current value, ``-1`` is unlimited)."""

    @abstractmethod
    def add_partitions(self, name: str, total: int) -> TopicInfo:
        """Grow the topic to ``total`` partitions; ``ValueError`` if it would not grow."""

    # -- produce / fetch ---------------------------------------------------------------------

    @abstractmethod
    def produce(
        self, topic: str, partition: int | None, records: Records | Sequence[Record]
    ) -> ProduceResult:
        """Append records and return their offsets once stored as the backend promises.

        ``records`` is a :class:`Records` (columns, the fast path) or a list of
        :class:`Record`. With ``partition=None`` keyed records are partitioned by murmur2 of the
        key and keyless ones go to one partition per call (sticky round-robin).
        """

    @abstractmethod
    def fetch(
        self,
        topic: str,
        partition: int,
        offset: int,
        max_records: int = DEFAULT_FETCH_MAX_RECORDS,
        max_bytes: int = DEFAULT_FETCH_MAX_BYTES,
        wait_ms: int = 0,
    ) -> FetchResult:
        """Read records at offsets ``>= offset`` from one partition.

        Returns at most ``max_records`` records and stops adding batches past ``max_bytes``
        (the first batch is returned whole even if larger, as in Kafka). When ``offset`` is the
        end of the log, waits up to ``wait_ms`` for new data, then returns an empty result.
        ``OffsetOutOfRangeError`` if ``offset`` is below the log start or above the end.
        """

    @abstractmethod
    def earliest_offset(self, topic: str, partition: int) -> int:
        """The log start offset: the first offset still stored."""

    @abstractmethod
    def latest_offset(self, topic: str, partition: int) -> int:
        """The log end offset: the offset the next produced record will get."""

    @abstractmethod
    def offset_for_timestamp(self, topic: str, partition: int, timestamp_ms: int) -> int | None:
        """The earliest offset whose record timestamp is ``>= timestamp_ms``, or ``None``."""

    # -- consumer groups ---------------------------------------------------------------------

    @abstractmethod
    def commit(self, group: str, offsets: Mapping[TopicPartition, int]) -> None:
        """Store committed offsets (next offset to read) for ``group``; durable on return."""

    @abstractmethod
    def committed(self, group: str, tp: TopicPartition) -> int | None:
        """The committed offset of ``group`` on ``tp``, or ``None`` if never committed."""

    @abstractmethod
    def committed_offsets(self, group: str) -> dict[TopicPartition, int]:
        """Every committed offset of ``group``."""

    @abstractmethod
    def list_groups(self) -> list[str]:
        """Names of the known consumer groups, sorted."""

    @abstractmethod
    def describe_group(self, group: str) -> GroupInfo:
        """State, members, assignment, committed offsets and lag of a group."""

    @abstractmethod
    def join_group(
        self,
        group: str,
        topics: Sequence[str],
        strategy: str = "range",
        session_timeout_ms: int = 10_000,
        client_id: str = "",
    ) -> GroupMember:
        """Join ``group`` as a new member subscribed to ``topics``; see :class:`GroupMember`."""

    # -- helpers for subclasses --------------------------------------------------------------

    def _keyless_partition(self, partitions: int) -> int:
        """Next partition for a keyless produce call (sticky round-robin)."""
        return next(self._sticky) % partitions

    @staticmethod
    def _as_records(records: Records | Sequence[Record]) -> Records:
        if isinstance(records, Records):
            return records
        return Records.from_records(records)
