"""Sluice: a self-hosted data-flow platform.

Flows are graphs of nodes that read result tables from a Kafka-style log, transform them
with SQL, route and merge them, and store them. See ``DESIGN.md`` in the shared folder and
``docs/`` for the architecture.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
