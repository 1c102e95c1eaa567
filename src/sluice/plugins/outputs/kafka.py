"""The ``kafka`` output: events produced to Kafka (or Sluice's bus on Kafka) with
confluent-kafka.

``bootstrap_servers``, ``topic_id`` and ``message_key`` (sprintf), ``acks``,
``compression_type``, ``linger_ms``, ``batch_size``, ``client_id``; the codec (default
``json``: one JSON object per record). ``flush`` waits for every delivery report; a failed
delivery raises, so the runtime retries the batch.
"""

from __future__ import annotations

from typing import Any

import confluent_kafka
import pyarrow as pa

from sluice.pipeline.sprintf import compile_sprintf
from sluice.plugins.codecs import make_codec, output_view
from sluice.plugins.outputs.base import Output, Rejected

__all__ = ["KafkaOutput"]


class KafkaOutput(Output):
    """One producer per output."""

    def open(self) -> None:
        s = self.settings
        conf: dict[str, Any] = {
            "bootstrap.servers": s.bootstrap_servers,
            "acks": s.acks,
            "compression.type": s.compression_type,
            "linger.ms": s.linger_ms,
            "batch.size": s.batch_size,
            "security.protocol": s.security_protocol,
        }
        if s.client_id:
            conf["client.id"] = s.client_id
        self.producer = confluent_kafka.Producer(conf)
        self.topic = compile_sprintf(s.topic_id)
        self.key = compile_sprintf(s.message_key) if s.message_key else None
        self.codec = make_codec(s.codec, "json")
        self.errors: list[str] = []

    def _report(self, err: Any, msg: Any) -> None:
        if err is not None:
            self.errors.append(str(err))

    def write(self, table: pa.Table) -> Rejected:
        view = output_view(table)
        topics = self.topic.render(view)
        keys = self.key.render(view).to_pylist() if self.key else [None] * table.num_rows
        for i in range(table.num_rows):
            value = self.codec.encode(table.slice(i, 1)).rstrip(b"\n")
            topic = topics[i].as_py()
            key = keys[i]
            while True:
                try:
                    self.producer.produce(
                        topic, value=value, key=key.encode() if key else None,
                        on_delivery=self._report,
                    )  # fmt: skip
                    break
                except BufferError:
                    self.producer.poll(0.1)
            self.producer.poll(0)
        return []

    def flush(self) -> None:
        left = self.producer.flush(30)
        if left or self.errors:
            errors, self.errors = self.errors, []
            raise RuntimeError(
                f"kafka output {self.node.id}: {left} records unsent, errors: {errors[:3]}"
            )

    def close(self) -> None:
        """Deliver what is queued (up to 5 s) and drop the producer."""
        self.producer.flush(5)
        del self.producer
