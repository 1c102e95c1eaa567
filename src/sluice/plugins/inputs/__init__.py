"""Inputs of the Logstash-compatible pipelines: generator, stdin, tcp, file, http, sluice.

:func:`make_input` builds one from a compiled ``input`` node. Who calls it: the pipeline
runtime (:mod:`sluice.pipeline.run`). See :mod:`sluice.plugins.inputs.base` for the protocol.
"""

from __future__ import annotations

from sluice.pipeline.compiler import PluginNode
from sluice.pipeline.errors import ConfigError
from sluice.plugins.inputs.base import Emit, Event, Input, InputContext
from sluice.plugins.inputs.file import FileInput
from sluice.plugins.inputs.generator import GeneratorInput
from sluice.plugins.inputs.http import HttpInput
from sluice.plugins.inputs.kafka import KafkaInput
from sluice.plugins.inputs.sluice import SluiceInput
from sluice.plugins.inputs.stdin import StdinInput
from sluice.plugins.inputs.syslog import SyslogInput
from sluice.plugins.inputs.tcp import TcpInput
from sluice.plugins.inputs.udp import UdpInput

__all__ = ["INPUTS", "Emit", "Event", "Input", "InputContext", "make_input"]

INPUTS: dict[str, type[Input]] = {
    "generator": GeneratorInput,
    "stdin": StdinInput,
    "tcp": TcpInput,
    "udp": UdpInput,
    "syslog": SyslogInput,
    "kafka": KafkaInput,
    "file": FileInput,
    "http": HttpInput,
    "sluice": SluiceInput,
}


def make_input(node: PluginNode, ctx: InputContext) -> Input:
    """The input of ``node`` (inert until ``start``).

    Raises:
        ConfigError: the input is declared by the language but not runnable here.
    """
    cls = INPUTS.get(node.name)
    if cls is None:
        pos = node.position
        raise ConfigError(
            f"input '{node.name}' cannot run in this runtime; available: {', '.join(sorted(INPUTS))}",
            pos.line, pos.column,
        )  # fmt: skip
    return cls(node, ctx)
