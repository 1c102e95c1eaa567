"""The ``useragent`` filter: parse a user-agent string into browser, OS and device fields.

Logstash reference behaviour (``ecs_compatibility => disabled``): from ``source`` the
filter sets ``name``, ``version``, ``major``, ``minor``, ``patch``, ``os_name``,
``os_version``, ``os_major``, ``os_minor``, ``os_patch``, ``os_full`` and ``device`` (each
only when the parser found it; ``name``, ``os_name`` and ``device`` are ``Other`` for an
unknown agent), under ``target`` when given, each name preceded by ``prefix``. An event
without the source field (or with an empty one) is left alone and not "matched"; every
other event is matched (an unknown agent is not a failure). ``regexes`` (a custom
regexes.yaml) is not supported (a config error).

How it runs: the parser is the maintained ``ua-parser`` package (uap-core's regexes). A
batch is dictionary-encoded, each DISTINCT user-agent string is parsed once (and kept in
a cache of up to ``lru_cache_size`` strings across batches), and the results are mapped
back to the rows with one ``take`` per field.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from ua_parser import parse

from sluice.pipeline.batch import string_view
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.executor import Kernel
from sluice.pipeline.fields import parse_ref, set_where
from sluice.pipeline.settings.common import PluginSettings

__all__ = ["FIELDS", "parse_agent", "useragent_kernel"]

FIELDS = (
    "name", "version", "major", "minor", "patch", "os_name", "os_version", "os_major",
    "os_minor", "os_patch", "os_full", "device",
)  # fmt: skip
"""The fields set (legacy, non-ECS names), in order."""


def _version(*parts: str | None) -> str | None:
    present: list[str] = []
    for part in parts:
        if part is None:
            break
        present.append(part)
    return ".".join(present) or None


def parse_agent(text: str) -> dict[str, str | None]:
    """One user-agent string as the fields of :data:`FIELDS` (``None`` = not set)."""
    result = parse(text)
    ua, os, device = result.user_agent, result.os, result.device
    os_name = os.family if os is not None else "Other"
    os_version = _version(os.major, os.minor, os.patch) if os is not None else None
    return {
        "name": ua.family if ua is not None else "Other",
        "version": _version(ua.major, ua.minor, ua.patch) if ua is not None else None,
        "major": ua.major if ua is not None else None,
        "minor": ua.minor if ua is not None else None,
        "patch": ua.patch if ua is not None else None,
        "os_name": os_name,
        "os_version": os_version,
        "os_major": os.major if os is not None else None,
        "os_minor": os.minor if os is not None else None,
        "os_patch": os.patch if os is not None else None,
        "os_full": f"{os_name} {os_version}" if os_version else os_name,
        "device": device.family if device is not None else "Other",
    }


def useragent_kernel(settings: PluginSettings) -> Kernel:
    """Build the useragent kernel (see the module doc).

    Raises:
        ConfigError: ``regexes`` is set.
    """
    cfg: Any = settings
    if cfg.regexes:
        raise ConfigError("useragent filter: custom regexes are not supported")
    source = parse_ref(cfg.source)
    base = parse_ref(cfg.target) if cfg.target else ()
    paths = [(name, (*base, *parse_ref(cfg.prefix + name))) for name in FIELDS]
    limit = max(0, int(cfg.lru_cache_size))
    cache: dict[str, dict[str, str | None]] = {}

    def lookup(text: str) -> dict[str, str | None]:
        found = cache.get(text)
        if found is None:
            found = parse_agent(text)
            if len(cache) >= limit:
                cache.clear()
            if limit:
                cache[text] = found
        return found

    def kernel(table: pa.Table) -> tuple[pa.Table, pa.Array | None]:
        n = table.num_rows
        strings = string_view(table, source)
        if strings is None:
            return table, pa.nulls(n, pa.bool_()).fill_null(True)
        present = pc.and_(strings.is_valid(), pc.not_equal(strings, "")).fill_null(False)
        encoded = pc.dictionary_encode(strings)
        parsed = [lookup(text) for text in encoded.dictionary.to_pylist()]
        for name, path in paths:
            values = pa.array([p[name] for p in parsed], pa.string()).take(encoded.indices)
            table = set_where(table, path, values, present)
        return table, pc.invert(present)

    return kernel
