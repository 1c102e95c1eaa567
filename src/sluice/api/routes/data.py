"""Data endpoints of result tables, and Prometheus ``/metrics``.

Under ``/v3/sluice`` (mounted by ``create_app`` when the app has a bus):

- ``POST /result_tables/{rt}/produce/`` with ``{"records": [{...}, ...]}`` (JSON objects)
  and/or ``{"values": ["raw text", ...]}`` (stored as given, e.g. to replay bad data);
  the RT's topic ``table_{rt}`` is created if missing. Answers ``{result_table_id, topic,
  count}``.
- ``GET /result_tables/{rt}/tail/?n=20``: the latest ``n`` records (``{partition, offset,
  timestamp, value}``, oldest first); dead-letter RTs (``{rt}_dlq``) can be tailed too.
- ``GET /result_tables/{rt}/records/?partition=0&offset=0&limit=1000``: page through one
  partition of the RT's topic by offset (``next_offset`` continues).

At the root: ``GET /metrics``, the per-node counters in the Prometheus text format.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from sluice.api.envelope import ok
from sluice.api.openapi import ENVELOPE_RESPONSES
from sluice.api.params import read_params
from sluice.api.routes._common import manager, run, store
from sluice.bus import BusError, OffsetOutOfRangeError, PartitionNotFoundError, TopicNotFoundError
from sluice.model.errors import FlowError, Message, NotFoundError, ParamsError
from sluice.model.result_table import topic_of

__all__ = ["metrics_router", "router"]

router = APIRouter(tags=["result tables"], responses=ENVELOPE_RESPONSES)
metrics_router = APIRouter(tags=["sluice"])

MAX_TAIL = 1000


def _dlq_base(rt_id: str) -> str:
    return rt_id.removesuffix("_dlq")


@router.post("/result_tables/{rt_id}/produce/")
async def produce(request: Request, rt_id: str) -> Response:
    """Append records to a result table (its topic is created on first use)."""
    params = await read_params(request)
    records: Any = params.data.get("records")
    values: Any = params.data.get("values")
    if records is None and values is None:
        raise ParamsError(
            Message("缺少records或values", "Give records (JSON objects) or values (text)"),
            {"records": ["This field is required."]},
        )
    if records is not None and not isinstance(records, list):
        raise ParamsError(
            Message("records必须是列表", "records must be a list"),
            {"records": ["Expected a list."]},
        )
    if values is not None and (
        not isinstance(values, list) or not all(isinstance(v, str) for v in values)
    ):
        raise ParamsError(
            Message("values必须是字符串列表", "values must be a list of strings"),
            {"values": ["Expected a list of strings."]},
        )
    await run(store(request).get_result_table, rt_id)
    data = await run(manager(request).tables.produce, rt_id, records, values)
    return ok(data)


@router.get("/result_tables/{rt_id}/tail/")
async def tail(
    request: Request,
    rt_id: str,
    n: Annotated[int, Query(ge=1, le=MAX_TAIL, description="How many records.")] = 20,
) -> Response:
    """The latest ``n`` records of a result table (or of its dead-letter RT ``{rt}_dlq``)."""
    await run(store(request).get_result_table, _dlq_base(rt_id))
    return ok(await run(manager(request).tables.tail, rt_id, n))


@router.get("/result_tables/{rt_id}/records/")
async def records(
    request: Request,
    rt_id: str,
    partition: Annotated[int, Query(ge=0, le=10_000, description="Partition.")] = 0,
    offset: Annotated[int, Query(ge=0, description="First offset to read.")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Most records.")] = 1000,
) -> Response:
    """One partition's records from ``offset`` on (at most ``limit``)."""
    await run(store(request).get_result_table, _dlq_base(rt_id))
    topic = topic_of(rt_id)
    try:
        data = await run(manager(request).tables.read, topic, partition, offset, limit)
    except (TopicNotFoundError, PartitionNotFoundError) as exc:
        raise NotFoundError(str(exc)) from None
    except OffsetOutOfRangeError as exc:
        raise ParamsError(str(exc), {"offset": [str(exc)]}) from None
    except BusError as exc:
        raise FlowError(str(exc)) from exc
    return ok(data)


@metrics_router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus exposition of every node's counters."""
    body, content_type = manager(request).metrics_text()
    return Response(body, media_type=content_type)
