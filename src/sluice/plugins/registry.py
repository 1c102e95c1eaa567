"""Storage node type -> :class:`~sluice.plugins.base.Sink` class, and the types Sluice refuses.

The runtime builds a storage node's writer with::

    sink = create_sink(node_type, config, schema, clusters)

where ``clusters`` is a :class:`~sluice.plugins.clusters.ClusterRegistry`. ``hdfs_storage``
and ``queue_storage`` are written by the runtime itself (files and bus topics), not here.
"""

from __future__ import annotations

from collections.abc import Sequence

from sluice.model.errors import Message, NodeValidError
from sluice.model.nodes import NODE_TYPES
from sluice.model.nodes.storages.base import StorageConfig
from sluice.plugins.base import Sink
from sluice.plugins.clusters import ClusterRegistry
from sluice.plugins.sinks.clickhouse import ClickhouseSink
from sluice.plugins.sinks.elasticsearch import ElasticSink
from sluice.plugins.sinks.mysql import MysqlSink
from sluice.plugins.sinks.pgsql import PgsqlSink
from sluice.plugins.sinks.redis import RedisSink

__all__ = [
    "CLUSTER_TYPE_OF",
    "REFUSED",
    "SINKS",
    "create_sink",
    "sink_class",
]

SINKS: dict[str, type[Sink]] = {
    name: cls
    for cls in (MysqlSink, PgsqlSink, RedisSink, ElasticSink, ClickhouseSink)
    for name in cls.node_types
}
"""Every storage node type a sink plugin writes."""

CLUSTER_TYPE_OF: dict[str, str] = {
    "mysql_storage": "mysql",
    "tspider_storage": "tspider",
    "pgsql_storage": "postgresql",
    "redis_storage": "redis",
    "tredis_storage": "tredis",
    "elastic_storage": "es",
    "clickhouse_storage": "clickhouse",
}
"""The cluster type a node type's ``cluster`` name is resolved in."""

REFUSED: dict[str, Message] = {t.name: t.refused for t in NODE_TYPES if t.refused is not None}
"""Node types refused at create time, with the message to show."""


def sink_class(node_type: str) -> type[Sink]:
    """The sink class of ``node_type``.

    Raises:
        NodeValidError: a refused type (its message) or a type no sink writes (the message
            lists the valid ones).
    """
    refused = REFUSED.get(node_type)
    if refused is not None:
        raise NodeValidError(refused)
    cls = SINKS.get(node_type)
    if cls is None:
        valid = ", ".join(sorted(SINKS))
        raise NodeValidError(
            Message(
                f"没有写入 {node_type} 的存储插件；可用类型：{valid}",
                f"No storage plugin writes {node_type!r}; valid types: {valid}",
            )
        )
    return cls


def create_sink(
    node_type: str,
    config: StorageConfig,
    schema: Sequence[tuple[str, str]],
    clusters: ClusterRegistry,
) -> Sink:
    """Build (without I/O) the sink of a storage node, its cluster resolved in ``clusters``.

    Raises:
        NodeValidError: see :func:`sink_class`.
        ClusterNotFoundError: the node's cluster is not configured.
        SinkConfigError: the config does not fit the schema.
    """
    cls = sink_class(node_type)
    connection = clusters.resolve(CLUSTER_TYPE_OF[node_type], config.cluster)
    return cls(config, schema, connection)
