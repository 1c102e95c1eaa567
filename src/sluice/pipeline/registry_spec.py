"""Which plugins each section knows, and their settings models.

Who calls it: the compiler, to reject unknown plugins and settings with the list of valid
names, and to validate values; the API/CLI to describe plugins (``settings_model(...)
.model_json_schema()``). The plugin runtime registers kernels for these names.
"""

from __future__ import annotations

from sluice.pipeline.ast import SectionKind
from sluice.pipeline.settings.catalog import FILTERS, INPUTS, OUTPUTS
from sluice.pipeline.settings.common import PluginSettings
from sluice.pipeline.settings.filters import DissectSettings, GrokSettings, KvSettings
from sluice.pipeline.settings.window import WindowSettings

__all__ = ["PLUGINS", "known_plugins", "setting_names", "settings_model"]

_FILTERS: dict[str, type[PluginSettings]] = {
    **FILTERS,
    "grok": GrokSettings,
    "dissect": DissectSettings,
    "kv": KvSettings,
    "window": WindowSettings,
}

PLUGINS: dict[SectionKind, dict[str, type[PluginSettings]]] = {
    "input": dict(sorted(INPUTS.items())),
    "filter": dict(sorted(_FILTERS.items())),
    "output": dict(sorted(OUTPUTS.items())),
}
"""Section -> plugin name -> settings model."""


def known_plugins(section: SectionKind) -> list[str]:
    """The plugin names valid in ``section``, sorted."""
    return list(PLUGINS[section])


def settings_model(section: SectionKind, name: str) -> type[PluginSettings] | None:
    """The settings model of plugin ``name`` in ``section``, or ``None`` if unknown."""
    return PLUGINS[section].get(name)


def setting_names(model: type[PluginSettings]) -> list[str]:
    """The setting names a model accepts (Logstash names, i.e. aliases where set)."""
    return sorted(f.alias or name for name, f in model.model_fields.items())
