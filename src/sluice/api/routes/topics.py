"""Sluice's topic endpoints under ``/v3/sluice/topics/``: the bus over REST.

``GET /topics/`` lists topics, ``POST /topics/`` creates one, ``GET /topics/{name}/``
describes it, ``DELETE /topics/{name}/`` deletes it and ``GET /topics/{name}/tail/?n=N``
returns its latest N records (values decoded as JSON when they are JSON). The router has no
prefix; the app mounts it under ``/v3/sluice``. Bus errors become :mod:`sluice.model.errors`
exceptions, which the app renders in the envelope.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response

from sluice.api.deps import get_bus
from sluice.api.envelope import ok
from sluice.bus import Bus, BusError, TopicExistsError, TopicNotFoundError
from sluice.bus.tail import tail_records
from sluice.model.errors import FlowError, Message, NotFoundError, ParamsError

__all__ = ["CreateTopic", "router"]

router = APIRouter(tags=["topics"])

BusDep = Annotated[Bus, Depends(get_bus)]
MAX_TAIL = 1000


class CreateTopic(BaseModel):
    """Body of ``POST /topics/``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Topic name: 1-249 of [a-zA-Z0-9._-].", examples=["table_2_x"])
    partitions: int = Field(default=1, ge=1, le=10_000, description="Number of partitions.")
    retention_days: float = Field(
        default=-1, description="Delete data older than this many days; -1 keeps it forever."
    )
    retention_bytes: int = Field(
        default=-1, ge=-1, description="Per-partition size limit in bytes; -1 is unlimited."
    )


@contextmanager
def _bus_errors(name: str | None = None) -> Iterator[None]:
    """Turn bus exceptions into the API's typed errors."""
    try:
        yield
    except TopicNotFoundError:
        raise NotFoundError(
            Message(f"Topic {name} 不存在", f"Topic {name} does not exist")
        ) from None
    except TopicExistsError:
        raise ParamsError(
            Message(f"Topic {name} 已存在", f"Topic {name} already exists"),
            {"name": ["A topic with this name already exists."]},
        ) from None
    except ValueError as exc:
        raise ParamsError(str(exc), {"name": [str(exc)]}) from None
    except BusError as exc:
        raise FlowError(str(exc)) from exc


def _call(fn: Callable[..., Any], *args: Any, name: str | None = None, **kw: Any) -> Any:
    with _bus_errors(name):
        return fn(*args, **kw)


@router.get("/topics/")
def list_topics(bus: BusDep) -> Response:
    """Every topic with its partitions, records, size and retention."""
    with _bus_errors():
        infos = [bus.describe_topic(name).to_dict() for name in bus.list_topics()]
    return ok(infos)


@router.post("/topics/")
def create_topic(bus: BusDep, body: Annotated[dict[str, Any], Body()]) -> Response:
    """Create a topic; ``ParamsError`` for a bad body or an existing name."""
    try:
        req = CreateTopic.model_validate(body)
    except ValidationError as exc:
        errors = {".".join(map(str, e["loc"])) or "body": [e["msg"]] for e in exc.errors()}
        raise ParamsError(Message("参数校验失败", "Invalid parameters"), errors) from None
    retention_ms = -1 if req.retention_days < 0 else int(req.retention_days * 86_400_000)
    info = _call(
        bus.create_topic,
        req.name,
        req.partitions,
        retention_ms=retention_ms,
        retention_bytes=req.retention_bytes,
        name=req.name,
    )
    return ok(info.to_dict())


@router.get("/topics/{name}/")
def describe_topic(name: str, bus: BusDep) -> Response:
    """A topic's partitions (earliest/latest offsets, records, bytes, segments) and retention."""
    return ok(_call(bus.describe_topic, name, name=name).to_dict())


@router.delete("/topics/{name}/")
def delete_topic(name: str, bus: BusDep) -> Response:
    """Delete a topic and its data."""
    _call(bus.delete_topic, name, name=name)
    return ok({"name": name, "deleted": True})


@router.get("/topics/{name}/tail/")
def tail_topic(
    name: str,
    bus: BusDep,
    n: Annotated[int, Query(ge=1, le=MAX_TAIL, description="How many records.")] = 20,
) -> Response:
    """The latest ``n`` records over all partitions, oldest first (by timestamp).

    Each record is ``{partition, offset, timestamp, key, value}``; values and keys that are
    JSON come back decoded, others as text.
    """
    with _bus_errors(name):
        rows = tail_records(bus, name, n)
    return ok({"topic": name, "records": rows})
