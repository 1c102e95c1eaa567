"""The sink contract: how the streaming runtime drives a storage writer.

A :class:`Sink` writes the Arrow batches of one result table (RT) into one external store.
The runtime owns everything around it (consuming the bus, batching, retries with backoff,
checkpoints, dead-letter routing, metrics); a sink owns only the I/O.

Life cycle, all calls from one runtime thread:

1. ``Sink(config, schema, connection)``: inert, no I/O. ``config`` is the node's pydantic
   config (e.g. :class:`~sluice.model.nodes.storages.mysql.MysqlStorageConfig`), ``schema``
   the RT schema ``[(field_name, bkdata_type)]`` and ``connection`` the resolved cluster
   (:class:`~sluice.plugins.clusters.ClusterConnection`). Bad combinations (a key field
   missing from the schema) raise :class:`SinkConfigError` here.
2. :meth:`Sink.open` connects and creates or evolves the target (table, index mapping, ...).
3. :meth:`Sink.write` per micro-batch: the whole batch, returning a :class:`WriteResult`.
   Rows the store refuses come back in ``rejected`` with the reason (the runtime sends them to
   the node's dead-letter RT); the rest of the batch is written. A lost connection raises
   :class:`RetryableError`: nothing of the batch is acknowledged and the runtime calls
   ``write`` again with the *same* batch (the sink reconnects by itself). Writes are
   idempotent where the node has keys (upserts, document ids, Redis keys); without keys a
   retry after a lost acknowledgement may duplicate rows (at-least-once).
4. :meth:`Sink.flush` before the runtime commits its input offsets: after it returns, every
   accepted row is durable in the store.
5. :meth:`Sink.expire` now and then (the runtime picks the period, e.g. hourly) enforces the
   node's ``expires`` days; it returns how many rows, keys or indices it removed.
6. :meth:`Sink.close` releases connections; safe to call twice or after a failed ``open``.

Any other failure raises :class:`SinkError` (a bug or a store that refuses the table itself):
the runtime fails the node with the message.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, Self

import pyarrow as pa

from sluice.model.nodes.storages.base import StorageConfig

if TYPE_CHECKING:
    from sluice.plugins.clusters import ClusterConnection

__all__ = [
    "Rejected",
    "RetryableError",
    "Sink",
    "SinkConfigError",
    "SinkError",
    "WriteResult",
]


class SinkError(Exception):
    """A sink failure the runtime cannot fix by retrying: it fails the node with the message."""


class SinkConfigError(SinkError):
    """The node's config does not fit its schema or cluster (raised before any I/O)."""


class RetryableError(SinkError):
    """The store is unreachable or dropped the connection: retry the same batch later.

    Nothing of the batch counts as written; the sink reconnects on the next call.
    """


@dataclass(frozen=True, slots=True)
class Rejected:
    """One row the store refused: its index in the written batch and the store's reason."""

    index: int
    reason: str


@dataclass(slots=True)
class WriteResult:
    """What :meth:`Sink.write` did with one batch.

    ``written`` counts rows accepted by the store (upserted rows count once per input row);
    ``rejected`` lists the rows refused, in index order, each with the reason.
    """

    written: int = 0
    rejected: list[Rejected] = field(default_factory=list)


class Sink(abc.ABC):
    """Base of storage writers: one instance per storage node and task.

    Subclasses set :attr:`node_types` (the BKData node types they serve) and implement
    :meth:`open`, :meth:`write`, :meth:`close` and, when the store has something to expire,
    :meth:`expire`. See the module docstring for the contract.
    """

    node_types: ClassVar[tuple[str, ...]] = ()
    """BKData node types served, e.g. ``("mysql_storage", "tspider_storage")``."""

    config_model: ClassVar[type[StorageConfig]] = StorageConfig
    """The node config class the sink expects."""

    def __init__(
        self,
        config: StorageConfig,
        schema: Sequence[tuple[str, str]],
        connection: ClusterConnection,
    ) -> None:
        if not isinstance(config, self.config_model):
            raise SinkConfigError(
                f"{type(self).__name__} needs a {self.config_model.__name__}, "
                f"got {type(config).__name__}."
            )
        self.config = config
        self.schema: list[tuple[str, str]] = [(str(n), str(t).lower()) for n, t in schema]
        self.connection = connection

    @property
    def rt_id(self) -> str:
        """The stored result table."""
        return self.config.result_table_id

    @abc.abstractmethod
    def open(self) -> None:
        """Connect and create or evolve the target. Raises ``RetryableError``/``SinkError``."""

    @abc.abstractmethod
    def write(self, table: pa.Table) -> WriteResult:
        """Write one batch (columns by name; missing schema columns are nulls)."""

    def flush(self) -> None:  # noqa: B027 - a default, not an abstract method
        """Make every accepted row durable. Writes here are synchronous: nothing to do."""

    def expire(self, now_ms: int) -> int:
        """Remove data older than ``expires`` days before ``now_ms``; returns what was removed."""
        return 0

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections; idempotent."""

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def cutoff_ms(self, now_ms: int) -> int | None:
        """The oldest event time (ms) kept, or ``None`` when ``expires`` is ``-1``/``0``."""
        days = self.config.expires
        if days <= 0:
            return None
        return now_ms - days * 86_400_000
