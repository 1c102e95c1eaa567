"""Node types: one module each, listed in :mod:`sluice.model.nodes.registry`."""

from sluice.model.nodes.base import NodeConfig, NodeType, OutputTable
from sluice.model.nodes.registry import NODE_TYPES, NodeTypeRegistry

__all__ = ["NODE_TYPES", "NodeConfig", "NodeType", "NodeTypeRegistry", "OutputTable"]
