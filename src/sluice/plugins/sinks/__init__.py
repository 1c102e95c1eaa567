"""Storage sinks: one module per store; :mod:`sluice.plugins.registry` maps node types."""
