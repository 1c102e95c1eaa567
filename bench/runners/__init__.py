"""Tool runners: each module is run as ``python -m bench.runners.NAME ...`` in its own process.

A runner reads its input file, writes its output file, and prints one JSON object as its
last stdout line with at least ``events`` and ``seconds`` (measured processing time), or
``{"skipped": "reason"}`` when it cannot run here. Runners use only the standard library
plus the tool they measure, and never import ``sluice`` unless they measure Sluice through
its server, so they also run in the per-tool cache virtualenvs.
"""

__all__: list[str] = []
