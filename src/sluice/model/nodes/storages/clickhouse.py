"""``clickhouse_storage``: ClickHouse tables."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from sluice.model.errors import Message
from sluice.model.nodes.storages.base import StorageConfig, StorageNode

__all__ = ["ClickhouseStorageConfig", "ClickhouseStorageNode"]


class ClickhouseStorageConfig(StorageConfig):
    """Config of a ``clickhouse_storage`` node."""

    order_by: list[str] = Field(default_factory=list, description="ORDER BY fields of the table.")
    has_unique_key: bool = Field(default=False, description="Whether primary_keys deduplicate.")
    primary_keys: list[str] = Field(default_factory=list, description="Primary key fields.")


class ClickhouseStorageNode(StorageNode):
    """Writes its input table into ClickHouse."""

    name: ClassVar[str] = "clickhouse_storage"
    rule_name: ClassVar[str] = "clickhouse_storage"
    cluster_type: ClassVar[str] = "clickhouse"
    display = Message("ClickHouse", "ClickHouse")
    config_model = ClickhouseStorageConfig
    order = 408
