"""Filter kernels of the Logstash-compatible pipelines (see ``docs/pipelines.md``).

:func:`filter_kernels` returns a :class:`~sluice.pipeline.executor.KernelRegistry` holding
``drop`` and every kernel of this package: json, mutate, date, truncate, fingerprint, uuid,
translate, sql, split, useragent, window (grok, dissect and kv are built by the compiler). Who calls it: the pipeline
runtime (:mod:`sluice.pipeline.run`), ``sluice pipeline test`` and the simulate endpoint.
"""

from __future__ import annotations

from sluice.pipeline.executor import KernelRegistry, default_kernels
from sluice.plugins.filters.date import date_kernel
from sluice.plugins.filters.fingerprint import fingerprint_kernel
from sluice.plugins.filters.json_filter import json_kernel
from sluice.plugins.filters.mutate import mutate_kernel
from sluice.plugins.filters.split import split_kernel
from sluice.plugins.filters.sql_filter import SqlFilterError, sql_kernel
from sluice.plugins.filters.translate import translate_kernel
from sluice.plugins.filters.truncate import truncate_kernel
from sluice.plugins.filters.useragent import useragent_kernel
from sluice.plugins.filters.uuid_filter import uuid_kernel
from sluice.plugins.filters.window import window_kernel

__all__ = ["SqlFilterError", "filter_kernels"]


def filter_kernels() -> KernelRegistry:
    """A registry with every filter kernel Sluice ships."""
    registry = default_kernels()
    for name, factory in (
        ("json", json_kernel),
        ("mutate", mutate_kernel),
        ("date", date_kernel),
        ("truncate", truncate_kernel),
        ("fingerprint", fingerprint_kernel),
        ("uuid", uuid_kernel),
        ("translate", translate_kernel),
        ("sql", sql_kernel),
        ("split", split_kernel),
        ("useragent", useragent_kernel),
        ("window", window_kernel),
    ):
        registry.register(name, factory)
    return registry
