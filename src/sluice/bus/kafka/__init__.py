"""The Kafka backend: the bus protocol over confluent-kafka, for scale-out on a cluster."""

from __future__ import annotations

from sluice.bus.kafka.bus import KafkaBus
from sluice.bus.kafka.config import KafkaConfig

__all__ = ["KafkaBus", "KafkaConfig"]
