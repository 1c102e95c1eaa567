"""Compiler: plugin and setting checks, value conversion, ids, settings models."""

from __future__ import annotations

import pytest

from sluice.pipeline.compiler import ConditionalNode, PluginNode, compile_pipeline
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.registry_spec import PLUGINS, known_plugins, setting_names, settings_model
from sluice.pipeline.settings.common import CodecSpec

ISSUE_PLUGINS = {
    "input": {"tcp", "udp", "http", "file", "stdin", "generator", "kafka", "syslog", "sluice"},
    "filter": {
        "json",
        "grok",
        "dissect",
        "kv",
        "mutate",
        "date",
        "drop",
        "split",
        "truncate",
        "fingerprint",
        "uuid",
        "translate",
        "useragent",
        "sql",
        "window",
    },
    "output": {
        "stdout",
        "file",
        "elasticsearch",
        "kafka",
        "http",
        "redis",
        "postgresql",
        "mysql",
        "sluice",
        "null",
    },
}


def test_registry_covers_the_issue_plugin_set() -> None:
    for section, names in ISSUE_PLUGINS.items():
        assert set(known_plugins(section)) == names  # type: ignore[arg-type]


def test_every_settings_model_forbids_extras_and_documents_fields() -> None:
    for plugins in PLUGINS.values():
        for name, model in plugins.items():
            assert model.model_config.get("extra") == "forbid", name
            for field_name, info in model.model_fields.items():
                assert info.description, f"{name}.{field_name}"
            model.model_json_schema()


def test_common_options_everywhere() -> None:
    assert {"add_field", "add_tag", "remove_field", "remove_tag", "id", "enable_metric"} <= set(
        setting_names(PLUGINS["filter"]["json"])
    )
    assert {"codec", "type", "tags", "add_field", "id"} <= set(
        setting_names(PLUGINS["input"]["tcp"])
    )


def test_values_codecs_duplicates_and_ids() -> None:
    p = compile_pipeline(
        """
        input { tcp { port => "5000" codec => json_lines { charset => "UTF-8" } tags => "t" } }
        filter {
          grok { match => ["message", "%{WORD:w}"] add_tag => "a" add_tag => ["b"] id => "g" }
          if [w] { kv { add_field => { "x" => 1 } add_field => { "y" => true } } }
        }
        output { stdout { codec => rubydebug } }
        """
    )
    tcp = next(p.plugins("input"))
    assert tcp.settings.port == 5000  # type: ignore[attr-defined]
    assert tcp.settings.codec == CodecSpec(name="json_lines", settings={"charset": "UTF-8"})  # type: ignore[attr-defined]
    assert tcp.settings.tags == ["t"]  # type: ignore[attr-defined]
    grok = p.filters[0]
    assert isinstance(grok, PluginNode)
    assert grok.id == "g"
    assert grok.settings.match == {"message": ["%{WORD:w}"]}  # type: ignore[attr-defined]
    assert grok.settings.add_tag == ["a", "b"]  # type: ignore[attr-defined]
    assert grok.kernel is not None
    cond = p.filters[1]
    assert isinstance(cond, ConditionalNode)
    kv = cond.branches[0].body[0]
    assert isinstance(kv, PluginNode)
    assert kv.id == "kv_1"
    assert kv.settings.add_field == {"x": "1", "y": "true"}  # type: ignore[attr-defined]
    out = next(p.plugins("output"))
    assert out.settings.codec == CodecSpec(name="rubydebug")  # type: ignore[attr-defined]
    assert [n.id for n in p.plugins()] == ["tcp_1", "g", "kv_1", "stdout_1"]


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("input {\n  tcp { }\n}", 2, 3, "input plugin 'tcp' needs the setting 'port'"),
        ('input { tcp { port => "x" } }', 1, 15, "invalid value for setting 'port'"),
        (
            "output { stdout { path => 1 } }",
            1,
            19,
            "unknown setting 'path' for output plugin 'stdout'",
        ),
        ('filter { grok { match => { "m" => "%{NOPE}" } } }', 1, 17, "grok: unknown grok pattern"),
        ('filter { dissect { mapping => { "m" => "%{a}%{b}" } } }', 1, 20, "need a delimiter"),
        ("input { if [a] { stdin {} } }", 1, 9, "conditionals are not allowed in an input section"),
        ("filter { drop { id => x } drop { id => x } }", 1, 27, "duplicate plugin id 'x'"),
        ("filter { if [a] =~ /(/ { drop {} } }", 1, 10, "the regex /(/ is not valid RE2"),
        ('filter { grok { timeout_scope => "forever" match => {} } }', 1, 17, "invalid value"),
        ("output { elasticsearch { hots => [] } }", 1, 26, "did you mean 'hosts'"),
    ],
)
def test_errors_are_positioned(text: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        compile_pipeline(text)
    assert (info.value.line, info.value.column) == (line, column)
    assert fragment in str(info.value)


def test_settings_model_lookup() -> None:
    assert settings_model("filter", "grok") is PLUGINS["filter"]["grok"]
    assert settings_model("input", "grok") is None
