"""Prometheus exposition of the per-node counters (``GET /metrics``).

A custom collector reads :class:`~sluice.runtime.metrics.MetricsRegistry` at scrape time, in
its own ``CollectorRegistry`` (no process-global state), so every scrape shows the live
figures of every node that ran since the server started, labelled by flow, node and type.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from sluice.runtime.metrics import MetricsRegistry

__all__ = ["CONTENT_TYPE", "NodeCollector", "render"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
_LABELS = ["flow_id", "node_id", "node_type"]
_COUNTERS = (
    ("records_in", "sluice_node_records_in", "Records a node read from its inputs."),
    ("records_out", "sluice_node_records_out", "Records a node wrote to its outputs."),
    ("dropped", "sluice_node_records_dropped", "Records filtered out or lost to retention."),
    ("dead_lettered", "sluice_node_records_dead_lettered", "Records sent to the dead-letter RT."),
    ("errors", "sluice_node_errors", "Errors that stopped a node's task."),
    ("batches", "sluice_node_batches", "Micro-batches processed."),
)
_GAUGES = (
    ("lag", "sluice_node_consumer_lag", "Records left in the inputs after the last batch."),
    ("last_batch_ms", "sluice_node_last_batch_ms", "Wall time of the last micro-batch in ms."),
)


class NodeCollector(Collector):
    """Yields one metric family per counter, one sample per node."""

    def __init__(self, metrics: MetricsRegistry) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        nodes = self.metrics.nodes()
        for key, name, doc in _COUNTERS:
            counter = CounterMetricFamily(name, doc, labels=_LABELS)
            for flow_id, node_id, node_type, values in nodes:
                counter.add_metric([str(flow_id), str(node_id), node_type], values[key])
            yield counter
        for key, name, doc in _GAUGES:
            gauge = GaugeMetricFamily(name, doc, labels=_LABELS)
            for flow_id, node_id, node_type, values in nodes:
                gauge.add_metric([str(flow_id), str(node_id), node_type], values[key])
            yield gauge
        seconds = CounterMetricFamily(
            "sluice_node_batch_seconds", "Total wall time spent in micro-batches.", labels=_LABELS
        )
        for flow_id, node_id, node_type, values in nodes:
            seconds.add_metric(
                [str(flow_id), str(node_id), node_type], values["batch_ms_total"] / 1000
            )
        yield seconds


def render(metrics: MetricsRegistry) -> bytes:
    """The text exposition of every node's metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(metrics))
    return bytes(generate_latest(registry))
