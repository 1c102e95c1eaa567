"""Stream-table joins of ``realtime`` nodes: KV-source inputs looked up in Redis per batch.

A ``realtime`` node whose parents include a KV source (``kv_source``, ``unified_kv_source``,
``redis_kv_source``) reads that table from the Redis ``join`` table the table's
``redis_storage`` node writes, not from the bus. For each micro-batch of the stream input,
:class:`KvJoin` looks the batch's keys up in one round trip (through the bounded LRU + TTL
cache of :class:`~sluice.plugins.lookups.redis_kv.RedisKvLookup`) and hands the SQL the
distinct stored records found; the node's own ``... LEFT JOIN kv b ON a.k = b.k`` then joins
them in DuckDB, so hits, misses and LEFT JOIN semantics are the SQL's.

The stream must carry the join table's key fields under the same names (as the log
platform's flows do: ``a.signature = b.signature and a.sensitivity = b.sensitivity``).
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from sluice.model.errors import FlowError, Message
from sluice.model.nodes import NODE_TYPES
from sluice.model.nodes.storages.redis import RedisStorageConfig
from sluice.plugins.base import SinkError
from sluice.plugins.clusters import ClusterRegistry
from sluice.plugins.lookups.redis_kv import JoinTable, RedisKvLookup
from sluice.plugins.registry import CLUSTER_TYPE_OF
from sluice.runtime.engine import FlowTaskError

__all__ = ["JoinStorageSource", "KvJoin"]

JoinStorageSource = Callable[[str], "tuple[str, dict[str, object]] | None"]
"""Table id -> ``(node_type, config)`` of the Redis join storage writing it, or ``None``."""


class KvJoin:
    """The lookup side of one KV input of a ``realtime`` node (one instance per task)."""

    def __init__(
        self,
        rt: str,
        schema: list[tuple[str, str]],
        stream_fields: list[str],
        join_storage: JoinStorageSource,
        clusters: ClusterRegistry | None,
    ) -> None:
        found = join_storage(rt)
        if found is None:
            raise FlowTaskError(
                Message(
                    f"关联数据源的结果表({rt})没有Redis(join)存储，无法关联",
                    f"The KV table {rt} has no Redis join storage to look up",
                )
            )
        node_type, raw = found
        if clusters is None:
            raise FlowTaskError(
                f"The KV table {rt} needs a cluster registry; the runtime has none."
            )
        try:
            config = NODE_TYPES.get(node_type).clean(raw, update=True)
            assert isinstance(config, RedisStorageConfig)
            table = JoinTable.from_storage(config, schema)
            connection = clusters.resolve(CLUSTER_TYPE_OF[node_type], config.cluster)
        except FlowError as exc:
            raise FlowTaskError(exc.msg) from None
        except SinkError as exc:
            raise FlowTaskError(f"The KV table {rt} cannot be looked up: {exc}") from None
        missing = [key for key in table.keys if key not in stream_fields]
        if missing:
            raise FlowTaskError(
                f"The stream joined with {rt} has no field {', '.join(missing)} for its join key."
            )
        self.rt = rt
        self.keys = list(table.keys)
        self.lookup = RedisKvLookup(table, connection)
        try:
            self.lookup.open()
        except SinkError as exc:
            raise FlowTaskError(f"The Redis join table of {rt} is unreachable: {exc}") from None

    def rows_for(self, stream: pa.Table) -> pa.Table:
        """The distinct stored records whose keys occur in ``stream`` (misses left out)."""
        found = self.lookup.lookup({key: stream.column(key) for key in self.keys})
        if found.num_rows == 0:
            return found
        present = pc.is_valid(found.column(self.keys[0]))
        for key in self.keys[1:]:
            present = pc.and_(present, pc.is_valid(found.column(key)))
        hits = found.filter(present)
        if hits.num_rows <= 1:
            return hits
        indexed = hits.append_column("__row", pa.array(range(hits.num_rows), pa.int64()))
        first = indexed.group_by(self.keys).aggregate([("__row", "min")]).column("__row_min")
        return hits.take(pc.sort_indices(first))

    def close(self) -> None:
        """Close the Redis connection."""
        self.lookup.close()
