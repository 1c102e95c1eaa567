"""Outputs of the Logstash-compatible pipelines: stdout, file, null, sluice, http, kafka,
elasticsearch.

:func:`make_output` builds one from a compiled ``output`` node. Who calls it: the pipeline
runtime (:mod:`sluice.pipeline.run`). See :mod:`sluice.plugins.outputs.base`.
"""

from __future__ import annotations

from sluice.pipeline.compiler import PluginNode
from sluice.pipeline.errors import ConfigError
from sluice.plugins.outputs.base import Output, OutputContext, Rejected
from sluice.plugins.outputs.elasticsearch import ElasticsearchOutput
from sluice.plugins.outputs.file import FileOutput
from sluice.plugins.outputs.http import HttpOutput
from sluice.plugins.outputs.kafka import KafkaOutput
from sluice.plugins.outputs.mysql import MysqlOutput
from sluice.plugins.outputs.postgresql import PostgresqlOutput
from sluice.plugins.outputs.redis import RedisOutput
from sluice.plugins.outputs.simple import NullOutput, StdoutOutput
from sluice.plugins.outputs.sluice import SluiceOutput

__all__ = ["OUTPUTS", "Output", "OutputContext", "Rejected", "make_output"]

OUTPUTS: dict[str, type[Output]] = {
    "stdout": StdoutOutput,
    "null": NullOutput,
    "file": FileOutput,
    "sluice": SluiceOutput,
    "http": HttpOutput,
    "kafka": KafkaOutput,
    "elasticsearch": ElasticsearchOutput,
    "redis": RedisOutput,
    "postgresql": PostgresqlOutput,
    "mysql": MysqlOutput,
}


def make_output(node: PluginNode, ctx: OutputContext) -> Output:
    """The output of ``node`` (inert until ``open``).

    Raises:
        ConfigError: the output is declared by the language but not runnable here.
    """
    cls = OUTPUTS.get(node.name)
    if cls is None:
        pos = node.position
        raise ConfigError(
            f"output '{node.name}' cannot run in this runtime; available: {', '.join(sorted(OUTPUTS))}",
            pos.line, pos.column,
        )  # fmt: skip
    return cls(node, ctx)
