"""``hdfs_storage``: Parquet files partitioned by day and hour (local path, hdfs:// or s3://)."""

from __future__ import annotations

from typing import ClassVar

from sluice.model.errors import Message
from sluice.model.nodes.storages.base import StorageConfig, StorageNode

__all__ = ["HdfsStorageNode"]


class HdfsStorageNode(StorageNode):
    """Writes its input table as partitioned Parquet."""

    name: ClassVar[str] = "hdfs_storage"
    rule_name: ClassVar[str] = "hdfs_storage"
    cluster_type: ClassVar[str] = "hdfs"
    display = Message("HDFS存储", "HDFS storage")
    config_model = StorageConfig
    order = 401
