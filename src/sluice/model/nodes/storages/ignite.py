"""``ignite``: Apache Ignite join tables: listed (BKData has the type) but refused at create
time, since no Ignite server can be had here; ``redis_storage`` joins replace it."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from sluice.model.errors import Message
from sluice.model.nodes.storages.base import StorageConfig, StorageNode

__all__ = ["IgniteStorageConfig", "IgniteStorageNode"]


class IgniteStorageConfig(StorageConfig):
    """Config of an ``ignite`` node."""

    storage_type: Literal["join"] = Field(default="join", description="Only join tables.")
    indexed_fields: list[str] = Field(default_factory=list, description="Indexed fields.")
    storage_keys: list[str] = Field(
        default_factory=list, description="Key fields for static joins."
    )
    max_records: int = Field(description="Maximum number of records kept, e.g. 100000.", ge=1)
    expires_unit: str | None = Field(default=None, max_length=1, description="Unit of expires (d).")


class IgniteStorageNode(StorageNode):
    """Stores its input table in an Ignite cache for static joins."""

    name: ClassVar[str] = "ignite"
    rule_name: ClassVar[str] = "ignite"
    cluster_type: ClassVar[str] = "ignite"
    display = Message("Ignite", "Ignite")
    config_model = IgniteStorageConfig
    order = 409
    refused = Message(
        "Sluice 不支持 ignite 存储节点：没有可用的 Apache Ignite 服务器。"
        "请改用 redis_storage（storage_type: join）作为关联数据表。",
        "Sluice does not support ignite storage nodes: no Apache Ignite server is available. "
        "Use a redis_storage node with storage_type: join as the lookup table instead.",
    )
