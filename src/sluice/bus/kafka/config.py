"""Configuration of the Kafka backend (inert: nothing connects until ``KafkaBus.open``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["KafkaConfig"]


class KafkaConfig(BaseModel):
    """How to reach the cluster and the librdkafka options the bus's clients share."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bootstrap: str = Field(
        description="bootstrap.servers: comma-separated host:port list of the cluster.",
        examples=["127.0.0.1:9092"],
    )
    client_id: str = Field(default="sluice", description="client.id sent to the brokers.")
    timeout_ms: int = Field(
        default=15_000, ge=100, description="Deadline of admin, metadata and offset requests."
    )
    linger_ms: int = Field(
        default=5, ge=0, description="linger.ms of the producer (time to fill a batch)."
    )
    options: dict[str, str] = Field(
        default_factory=dict,
        description="Extra librdkafka properties for every client (e.g. security.protocol, "
        "sasl.mechanism); they override Sluice's defaults.",
    )

    def client(self, **extra: Any) -> dict[str, Any]:
        """librdkafka properties for one client: base settings, ``extra``, then ``options``."""
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap,
            "client.id": self.client_id,
        }
        conf.update(extra)
        conf.update(self.options)
        return conf
