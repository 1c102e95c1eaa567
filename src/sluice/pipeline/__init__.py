"""Sluice's Logstash-compatible pipeline language and its batch kernels.

Text -> :func:`parse` -> :class:`PipelineConfig` (AST) -> :func:`compile_pipeline` ->
:class:`Pipeline` (validated, typed settings; compiled conditions; grok/dissect/kv kernels)
-> :class:`FilterChain` runs the filter section over Arrow tables, :func:`route_outputs`
splits a table between outputs. See ``docs/pipelines.md``.
"""

from __future__ import annotations

from sluice.pipeline.ast import PipelineConfig
from sluice.pipeline.compiler import (
    Branch,
    ConditionalNode,
    Node,
    Pipeline,
    PluginNode,
    compile_pipeline,
)
from sluice.pipeline.conditions import Predicate, compile_condition
from sluice.pipeline.dissect import Dissect
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.executor import FilterChain, KernelRegistry, default_kernels, route_outputs
from sluice.pipeline.grok import Grok
from sluice.pipeline.jsonl import encode_jsonl
from sluice.pipeline.kv import Kv
from sluice.pipeline.parser import parse, parse_condition
from sluice.pipeline.printer import print_condition, print_config
from sluice.pipeline.sprintf import Sprintf, compile_sprintf

__all__ = [
    "Branch",
    "ConditionalNode",
    "ConfigError",
    "Dissect",
    "FilterChain",
    "Grok",
    "KernelRegistry",
    "Kv",
    "Node",
    "Pipeline",
    "PipelineConfig",
    "PluginNode",
    "Predicate",
    "Sprintf",
    "compile_condition",
    "compile_pipeline",
    "compile_sprintf",
    "default_kernels",
    "encode_jsonl",
    "parse",
    "parse_condition",
    "print_condition",
    "print_config",
    "route_outputs",
]
