"""``pgsql_storage``: PostgreSQL tables."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from sluice.model.errors import Message
from sluice.model.nodes.storages.base import StorageConfig, StorageNode

__all__ = ["PgsqlStorageConfig", "PgsqlStorageNode"]


class PgsqlStorageConfig(StorageConfig):
    """Config of a ``pgsql_storage`` node."""

    indexed_fields: list[str] = Field(default_factory=list, description="Fields that get an index.")
    expires_unit: str | None = Field(default=None, max_length=1, description="Unit of expires (d).")
    has_unique_key: bool = Field(
        default=False, description="Whether storage_keys make writes upserts."
    )
    storage_keys: list[str] = Field(default_factory=list, description="The unique key fields.")


class PgsqlStorageNode(StorageNode):
    """Writes its input table into a PostgreSQL table."""

    name: ClassVar[str] = "pgsql_storage"
    rule_name: ClassVar[str] = "pgsql_storage"
    cluster_type: ClassVar[str] = "postgresql"
    display = Message("PostgreSQL", "PostgreSQL")
    config_model = PgsqlStorageConfig
    order = 405
