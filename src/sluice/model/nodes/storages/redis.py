"""``redis_storage`` (also ``tredis_storage``): Redis kv, join, list and publish tables."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from sluice.model.errors import Message, NodeValidError
from sluice.model.nodes.base import NodeConfig, field_label
from sluice.model.nodes.storages.base import StorageConfig, StorageNode

__all__ = ["RedisStorageConfig", "RedisStorageNode", "TredisStorageNode"]


class RedisStorageConfig(StorageConfig):
    """Config of a Redis storage node."""

    storage_type: Literal["kv", "join", "list", "publish"] = Field(
        description="How records are stored."
    )
    keys: list[str] = Field(default_factory=list, description="Fields making the key (kv, join).")
    values: list[str] = Field(default_factory=list, description="Fields making the value (kv).")
    separator: str | None = Field(
        default=None, description="Separator between value fields / key parts."
    )
    key_separator: str | None = Field(
        default=None, description="Separator between key fields (join)."
    )
    key_prefix: str | None = Field(default=None, description="Prefix of every key (kv).")
    setnx: bool = Field(default=False, description="Write only keys that do not exist yet (kv).")
    expires_unit: str | None = Field(default=None, max_length=1, description="Unit of expires (d).")


class RedisStorageNode(StorageNode):
    """Writes its input table into Redis; ``join`` tables feed KV sources."""

    name: ClassVar[str] = "redis_storage"
    rule_name: ClassVar[str] = "redis_storage"
    cluster_type: ClassVar[str] = "redis"
    display = Message("Redis", "Redis")
    config_model = RedisStorageConfig
    order = 407

    @classmethod
    def check(cls, config: NodeConfig, *, update: bool) -> None:
        """``kv`` and ``join`` need key fields."""
        super().check(config, update=update)
        assert isinstance(config, RedisStorageConfig)
        if config.storage_type in ("kv", "join") and not config.keys:
            raise NodeValidError(
                field_label("keys") + Message("，该字段是必填项。", ", this field is required.")
            )


class TredisStorageNode(RedisStorageNode):
    """``tredis_storage``: BKData's name for the same Redis storage."""

    name: ClassVar[str] = "tredis_storage"
    rule_name: ClassVar[str] = "tredis_storage"
    cluster_type: ClassVar[str] = "tredis"
    display = Message("TRedis", "TRedis")
