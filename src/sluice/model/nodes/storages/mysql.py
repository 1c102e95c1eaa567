"""``mysql_storage`` and ``tspider_storage``: MariaDB/MySQL tables."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from sluice.model.errors import Message
from sluice.model.nodes.storages.base import StorageConfig, StorageNode

__all__ = ["MysqlStorageConfig", "MysqlStorageNode", "TspiderStorageNode"]


class MysqlStorageConfig(StorageConfig):
    """Config of a MySQL-family storage node."""

    indexed_fields: list[str] = Field(default_factory=list, description="Fields that get an index.")
    has_unique_key: bool = Field(
        default=False, description="Whether storage_keys make writes upserts."
    )
    storage_keys: list[str] = Field(default_factory=list, description="The unique key fields.")


class MysqlStorageNode(StorageNode):
    """Writes its input table into a MySQL table created from the table's schema."""

    name: ClassVar[str] = "mysql_storage"
    rule_name: ClassVar[str] = "mysql_storage"
    cluster_type: ClassVar[str] = "mysql"
    display = Message("MySQL", "MySQL")
    config_model = MysqlStorageConfig
    order = 403


class TspiderStorageNode(MysqlStorageNode):
    """``tspider_storage``: BKData's sharded MySQL; a MySQL-protocol server here."""

    name: ClassVar[str] = "tspider_storage"
    rule_name: ClassVar[str] = "tspider_storage"
    cluster_type: ClassVar[str] = "tspider"
    display = Message("TSpider", "TSpider")
    order = 404
