"""Template rendering in a sandbox with StrictUndefined."""

from __future__ import annotations

import pytest

from sluice.model.errors import ParamsError
from sluice.model.templates import render_template


def test_render_json() -> None:
    assert render_template(
        '[{"id": {{ p.id }}, "name": "{{ p.name }}"}]', {"p": {"id": 3, "name": "x"}}
    ) == [{"id": 3, "name": "x"}]


def test_missing_parameter_is_an_error() -> None:
    with pytest.raises(ParamsError, match=r"has no attribute .missing."):
        render_template('{"a": {{ p.missing }}}', {"p": {}})


def test_sandbox_blocks_internals() -> None:
    with pytest.raises(ParamsError, match=r"unsafe|not safely|access"):
        render_template("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})


def test_output_must_be_json() -> None:
    with pytest.raises(ParamsError) as info:
        render_template("{{ a }}", {"a": "not json"})
    assert "line 1" in info.value.message("en")
