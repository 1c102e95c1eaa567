"""Render bk-log style flow templates (Jinja2 sources of JSON) in a sandbox.

The log platform keeps its flow definitions as Jinja2 templates whose output is JSON. Sluice
renders them in :class:`jinja2.sandbox.SandboxedEnvironment` with ``StrictUndefined``, so a
template can neither reach Python internals nor silently drop a missing parameter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from sluice.model.errors import Message, ParamsError

__all__ = ["render_template"]


def render_template(source: str, params: Mapping[str, Any]) -> Any:
    """Render ``source`` with ``params`` and parse the result as JSON.

    Raises:
        ParamsError: the template is invalid, names a missing parameter, tries an unsafe
            operation, or does not render to JSON; the message says which.
    """
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    try:
        text = env.from_string(source).render(**params)
    except TemplateError as exc:
        raise ParamsError(
            Message(f"模板渲染失败: {exc}", f"Template rendering failed: {exc}")
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParamsError(
            Message(
                f"模板渲染结果不是合法的JSON: 第{exc.lineno}行第{exc.colno}列: {exc.msg}",
                f"Rendered template is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}",
            )
        ) from None
