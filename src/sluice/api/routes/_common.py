"""Helpers shared by the flow routers: components, threadpool calls, pagination, ids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from sluice.api.params import Params
from sluice.model.errors import Message, NotFoundError, ParamsError
from sluice.runtime.manager import FlowManager
from sluice.store.service import FlowStore

__all__ = ["MAX_ID", "check_id", "ids_param", "manager", "paginate", "run", "store"]

T = TypeVar("T")
MAX_ID = 2**31 - 1
_MAX_PAGE_SIZE = 1000


def store(request: Request) -> FlowStore:
    """The application's :class:`FlowStore`."""
    value: FlowStore = request.app.state.store
    return value


def manager(request: Request) -> FlowManager:
    """The application's :class:`FlowManager`."""
    value: FlowManager = request.app.state.manager
    return value


async def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking store or manager call off the event loop."""
    return await run_in_threadpool(fn, *args, **kwargs)


def check_id(value: int, what: str = "flow") -> int:
    """Path ids beyond the database's range cannot exist: answer 404-style (``1500404``)."""
    if value > MAX_ID or value < 0:
        raise NotFoundError(Message(f"{what}({value})不存在", f"{what} ({value}) does not exist"))
    return value


def ids_param(params: Params, name: str) -> list[str]:
    """A repeatable query parameter (``?x=a&x=b`` or ``x=a,b``)."""
    values = params.multi.get(name) or ([str(params.data[name])] if name in params.data else [])
    return [v for raw in values for v in str(raw).split(",") if v]


def paginate(items: list[Any], params: Params) -> Any:
    """``{count, results}`` when ``page_size`` is given, else the plain list (BKData)."""
    raw_size = params.data.get("page_size")
    if raw_size in (None, ""):
        return items
    try:
        size = int(raw_size)
        page = int(params.data.get("page") or 1)
    except (TypeError, ValueError):
        raise ParamsError(
            Message("分页参数必须是整数", "Pagination parameters must be integers"),
            {"page_size": ["A valid integer is required."]},
        ) from None
    if size < 1 or page < 1:
        raise ParamsError(
            Message("分页参数必须大于0", "Pagination parameters must be positive"),
            {"page": ["Invalid page."]},
        )
    size = min(size, _MAX_PAGE_SIZE)
    start = (page - 1) * size
    return {"count": len(items), "results": items[start : start + size]}
