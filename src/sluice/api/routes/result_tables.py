"""Sluice's own result-table endpoints under ``/v3/sluice/result_tables/``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from sluice.api.envelope import ok
from sluice.api.openapi import ENVELOPE_RESPONSES, body
from sluice.api.params import read_params, validate
from sluice.api.routes._common import manager, run, store
from sluice.api.schemas import CreateResultTable
from sluice.model.errors import COMMA, Message, ParamsError
from sluice.model.fields import FieldSpec

__all__ = ["router"]

router = APIRouter(tags=["result tables"], responses=ENVELOPE_RESPONSES)


@router.post("/result_tables/", openapi_extra=body(CreateResultTable))
async def create_result_table(request: Request) -> Response:
    """Register a result table with its schema (a source a ``stream_source`` can read).

    Its topic ``table_{rt}`` is created at once, so a pipeline's ``sluice`` output or any
    Kafka-style producer can write to it before anything else did.
    """
    params = await read_params(request)
    req = validate(CreateResultTable, params.data, params.lang)
    fields = []
    for index, raw in enumerate(req.fields):
        try:
            fields.append(FieldSpec.model_validate(raw))
        except ValueError as exc:
            first = str(exc).splitlines()[1:3]
            raise ParamsError(
                Message(f"字段{index}", f"Field {index}") + COMMA + " ".join(first).strip(),
                {"fields": [f"{index}: {' '.join(first).strip()}"]},
            ) from None
    data = await run(
        store(request).create_result_table,
        req.bk_biz_id,
        req.table_name,
        fields,
        req.result_table_name_alias,
        req.description,
        params.user,
    )
    await run(manager(request).ensure_rt_topic, data["result_table_id"])
    return ok(data)


@router.get("/result_tables/")
async def list_result_tables(request: Request) -> Response:
    """Every result table, optionally of one business (``bk_biz_id``)."""
    params = await read_params(request)
    raw = params.data.get("bk_biz_id")
    try:
        biz = int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        raise ParamsError(
            Message("bk_biz_id必须是整数", "bk_biz_id must be an integer"),
            {"bk_biz_id": ["A valid integer is required."]},
        ) from None
    return ok(await run(store(request).list_result_tables, biz))


@router.get("/result_tables/{rt_id}/")
async def get_result_table(request: Request, rt_id: str) -> Response:
    """One result table with schema, producing node and storages."""
    return ok(await run(store(request).get_result_table, rt_id))


@router.delete("/result_tables/{rt_id}/")
async def delete_result_table(request: Request, rt_id: str) -> Response:
    """Delete a result table no flow uses."""
    await run(store(request).delete_result_table, rt_id)
    return ok(None)
