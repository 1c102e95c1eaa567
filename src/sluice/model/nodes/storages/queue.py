"""``queue_storage``: a topic ``queue_{rt}`` any Kafka client can subscribe to."""

from __future__ import annotations

from typing import ClassVar

from sluice.model.errors import Message
from sluice.model.nodes.storages.base import StorageConfig, StorageNode

__all__ = ["QueueStorageNode"]


class QueueStorageNode(StorageNode):
    """Copies its input table to the topic ``queue_{rt}`` with its own retention."""

    name: ClassVar[str] = "queue_storage"
    rule_name: ClassVar[str] = "queue_storage"
    cluster_type: ClassVar[str] = "queue"
    display = Message("队列服务(queue)", "Queue storage")
    config_model = StorageConfig
    order = 406
