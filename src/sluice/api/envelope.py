"""The BKData response envelope: ``{result, code, message, data, errors}``, always HTTP 200.

Routers return :func:`ok` for success; failures are raised as
:class:`sluice.model.errors.FlowError` and rendered by the app's exception handlers through
:func:`failure`, so no router formats an error body itself.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

__all__ = ["SUCCESS_CODE", "Envelope", "failure", "ok"]

SUCCESS_CODE = "1500200"


class Envelope(Response):
    """A JSON response that is always HTTP 200 unless told otherwise (the BKData way)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Serialise with orjson; non-JSON types (datetime, Path) are rendered as text."""
        return orjson.dumps(content, default=str, option=orjson.OPT_NON_STR_KEYS)


def ok(data: Any = None) -> Envelope:
    """Wrap ``data`` in a success envelope."""
    return Envelope(
        {"result": True, "code": SUCCESS_CODE, "message": "ok", "data": data, "errors": None}
    )


def failure(code: str, message: str, errors: Any = None, status_code: int = 200) -> Envelope:
    """Build a failure envelope; ``status_code`` stays 200 except for unknown URLs (404)."""
    return Envelope(
        {"result": False, "code": code, "message": message, "data": None, "errors": errors},
        status_code=status_code,
    )
