"""``elastic_storage``: Elasticsearch indices, one per day, written with the bulk API."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from sluice.model.errors import Message
from sluice.model.nodes.storages.base import StorageConfig, StorageNode

__all__ = ["ElasticStorageConfig", "ElasticStorageNode"]


class ElasticStorageConfig(StorageConfig):
    """Config of an ``elastic_storage`` node."""

    analyzed_fields: list[str] = Field(default_factory=list, description="Full-text (text) fields.")
    date_fields: list[str] = Field(default_factory=list, description="Time fields.")
    doc_values_fields: list[str] = Field(default_factory=list, description="Aggregatable fields.")
    json_fields: list[str] = Field(
        default_factory=list, description="Fields stored as JSON objects."
    )
    has_replica: bool = Field(default=False, description="Whether indices have a replica.")
    has_unique_key: bool = Field(
        default=False, description="Whether storage_keys make the document id."
    )
    storage_keys: list[str] = Field(
        default_factory=list, description="Fields making the document id."
    )


class ElasticStorageNode(StorageNode):
    """Indexes its input table into daily indices named after the table."""

    name: ClassVar[str] = "elastic_storage"
    rule_name: ClassVar[str] = "elastic_storage"
    cluster_type: ClassVar[str] = "es"
    display = Message("ElasticSearch", "ElasticSearch")
    config_model = ElasticStorageConfig
    order = 402
