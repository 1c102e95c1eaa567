"""Request parameters the BKData way, and their validation into pydantic models.

GET reads the query string; POST the JSON body, falling back to form data; PUT, PATCH and
DELETE the JSON body. ``X-Bkdata-Authorization`` (a JSON object) overrides identity keys.
Validation failures become ``1500001`` with DRF-style ``errors``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from sluice.model.errors import FlowError, Message, ParamsError

__all__ = [
    "MAX_BODY_BYTES",
    "BodyTooLarge",
    "Params",
    "ParseError",
    "language",
    "read_params",
    "validate",
]

MAX_BODY_BYTES = 16 * 1024 * 1024
_IDENTITY_KEYS = (
    "bk_username",
    "bk_app_code",
    "bk_app_secret",
    "bkdata_authentication_method",
    "bkdata_data_token",
)

M = TypeVar("M", bound=BaseModel)


class ParseError(FlowError):
    """The body is not valid JSON (DRF's ``ParseError``, ``1500400``)."""

    code = "1500400"


class BodyTooLarge(FlowError):
    """The body exceeds :data:`MAX_BODY_BYTES` (``1500413``)."""

    code = "1500413"


@dataclass
class Params:
    """The merged parameters of one request."""

    data: dict[str, Any]
    multi: dict[str, list[str]] = field(default_factory=dict)
    lang: str = "zh-hans"

    @property
    def user(self) -> str | None:
        """The operator (``bk_username``), if any."""
        value = self.data.get("bk_username")
        return str(value) if value not in (None, "") else None

    def flag(self, name: str) -> bool:
        """A boolean query flag such as ``add_exception_info=1``."""
        return str(self.data.get(name, "")).lower() in ("1", "true", "yes")


def language(request: Request) -> str:
    """``Blueking-Language``, else ``Accept-Language``, else ``zh-hans``."""
    value = (
        request.headers.get("blueking-language")
        or request.headers.get("accept-language")
        or "zh-hans"
    )
    return "en" if value.lower().startswith("en") else "zh-hans"


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge(_too_large())
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge(_too_large())
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> Message:
    limit = MAX_BODY_BYTES // (1024 * 1024)
    return Message(f"请求体超过{limit}MB的限制", f"The request body exceeds the {limit} MB limit")


async def read_params(request: Request) -> Params:
    """Collect the request's parameters from where BKData reads them."""
    multi: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        multi.setdefault(key, []).append(value)
    data: dict[str, Any] = {k: v[-1] for k, v in multi.items()}
    if request.method not in ("GET", "HEAD"):
        raw = (await _body(request)).strip()
        content_type = request.headers.get("content-type", "")
        if raw and request.method == "POST" and "form" in content_type:
            data.update(await _form(request, raw))
        elif raw:
            try:
                body = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ParseError(
                    Message(f"JSON解析错误 - {exc}", f"JSON parse error - {exc}")
                ) from None
            if not isinstance(body, dict):
                raise ParseError(
                    Message("请求体必须是JSON对象", "The request body must be a JSON object")
                )
            data.update(body)
    header = request.headers.get("x-bkdata-authorization")
    if header:
        try:
            auth = json.loads(header)
        except json.JSONDecodeError:
            raise ParseError(
                Message(
                    "X-Bkdata-Authorization不是合法的JSON",
                    "X-Bkdata-Authorization is not valid JSON",
                )
            ) from None
        if isinstance(auth, dict):
            data.update({k: auth[k] for k in _IDENTITY_KEYS if k in auth})
    return Params(data=data, multi=multi, lang=language(request))


async def _form(request: Request, raw: bytes) -> dict[str, Any]:
    from urllib.parse import parse_qsl

    content_type = request.headers.get("content-type", "")
    if "multipart" in content_type:
        raise ParseError(
            Message("不支持multipart请求体", "Multipart bodies are not supported here")
        )
    return dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))


_DRF_MESSAGES = {
    "missing": ("该字段是必填项。", "This field is required."),
    "int_parsing": ("请填写合法的整数值。", "A valid integer is required."),
    "int_type": ("请填写合法的整数值。", "A valid integer is required."),
    "string_type": ("请填写合法的字符串。", "Not a valid string."),
    "list_type": ("请填写合法的列表。", 'Expected a list of items but got type "{input_type}".'),
    "dict_type": (
        "请填写合法的字典。",
        'Expected a dictionary of items but got type "{input_type}".',
    ),
}


def validate(model: type[M], data: Mapping[str, Any], lang: str) -> M:
    """Validate ``data`` into ``model``; raises ``1500001`` with DRF-shaped ``errors``."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        errors: dict[str, Any] = {}
        lines = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]] or ["non_field_errors"]
            zh, en = _DRF_MESSAGES.get(err["type"], (str(err["msg"]), str(err["msg"])))
            text = en if lang == "en" else zh
            text = text.replace("{input_type}", type(err.get("input")).__name__)
            errors.setdefault(loc[0], []).append(
                text if len(loc) == 1 else {".".join(loc[1:]): [text]}
            )
            lines.append(f"  {'.'.join(loc)}: 1.{text}\n")
        raise ParamsError(
            Message(
                "参数校验失败:\n" + "".join(lines),
                "Parameter validation failed:\n" + "".join(lines),
            ),
            errors,
        ) from None
