"""The useragent kernel over a large batch: each distinct string parsed once, nulls and
empty strings left alone, and the config error for custom regexes."""

from __future__ import annotations

import pyarrow as pa
import pytest

from sluice.pipeline.compiler import compile_pipeline
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.executor import FilterChain
from sluice.plugins.filters import filter_kernels, useragent

AGENTS = ["curl/8.4.0", "okhttp/4.12.0", None, "", "Wget/1.21.4"]


def _chain(config: str) -> FilterChain:
    return FilterChain(compile_pipeline(config).filters, filter_kernels())


def test_distinct_agents_are_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = useragent.parse_agent

    def counting(text: str) -> dict[str, str | None]:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(useragent, "parse_agent", counting)
    chain = _chain('filter { useragent { source => "ua" target => "[client][agent]" } }')
    table = pa.table({"ua": AGENTS * 2000})
    out = chain.run(table).to_pylist()
    assert sorted(calls) == ["", "Wget/1.21.4", "curl/8.4.0", "okhttp/4.12.0"]
    assert out[0]["client"]["agent"]["name"] == "curl"
    assert out[1]["client"]["agent"]["major"] == "4"
    assert out[2].get("client") is None and out[3].get("client") is None
    assert out[4 + 5 * 1999]["client"]["agent"]["name"] == "Wget"
    chain.run(table)  # the second batch hits the cache
    assert len(calls) == 4


def test_custom_regexes_are_refused() -> None:
    with pytest.raises(ConfigError, match="regexes"):
        _chain('filter { useragent { source => "ua" regexes => "/etc/r.yaml" } }')
