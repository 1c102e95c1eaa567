"""The pipeline runtime: inputs, filters and outputs over the bus (``docs/pipelines.md``).

:class:`PipelineRunner` runs one pipeline; :func:`simulate` and :func:`run_filters` run the
filters over given events without I/O; :func:`diff_events` compares results.
"""

from __future__ import annotations

from sluice.pipeline.run.events import decode_events, events_table
from sluice.pipeline.run.manager import PipelineManager
from sluice.pipeline.run.runner import PipelineRunner, PipelineStats, check_name
from sluice.pipeline.run.simulate import diff_events, run_filters, simulate

__all__ = [
    "PipelineManager",
    "PipelineRunner",
    "PipelineStats",
    "check_name",
    "decode_events",
    "diff_events",
    "events_table",
    "run_filters",
    "simulate",
]
