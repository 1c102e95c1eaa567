"""Static and service routes: palette, link rules, field types, error codes, health, latest message."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from sluice.api.envelope import ok
from sluice.api.openapi import ENVELOPE_RESPONSES
from sluice.api.params import read_params
from sluice.api.routes._common import run, store
from sluice.bus.tail import tail_records
from sluice.model import errors as error_module
from sluice.model.fields import FIELD_TYPE_CONFIGS
from sluice.model.link_rules import link_rules_payload
from sluice.model.nodes import NODE_TYPES
from sluice.model.result_table import topic_of

__all__ = ["router"]

router = APIRouter(tags=["meta"], responses=ENVELOPE_RESPONSES)

_GROUPS = {
    "source": ("数据源", "Source"),
    "processing": ("数据处理", "Processing"),
    "modeling": ("数据建模", "Modeling"),
    "storage": ("数据存储", "Storage"),
}


@router.get("/node_type_config_v2/")
async def node_type_config(request: Request) -> Response:
    """The node palette grouped by category."""
    params = await read_params(request)
    groups: list[dict[str, Any]] = []
    for group, (zh, en) in _GROUPS.items():
        types = sorted((t for t in NODE_TYPES if t.category == group), key=lambda t: t.order)
        instances = [
            {
                "node_type_instance_name": t.name,
                "node_type_instance_alias": t.display.get(params.lang),
                "order": t.order,
                "available": True,
                "support_query": t.category == "storage",
                "description": (t.__doc__ or "").strip().splitlines()[0],
            }
            for t in types
        ]
        groups.append(
            {
                "group_type_name": group,
                "group_type_alias": en if params.lang == "en" else zh,
                "order": types[0].order / 100,
                "instances": instances,
            }
        )
    return ok(groups)


@router.get("/node_link_rules_v2/")
async def node_link_rules() -> Response:
    """Which node types may link to which, with limits."""
    return ok(link_rules_payload())


@router.get("/field_type_configs/")
async def field_type_configs() -> Response:
    """Field types a user may choose."""
    return ok(FIELD_TYPE_CONFIGS)


@router.get("/errorcodes/")
async def errorcodes(request: Request) -> Response:
    """Every flow error code with its class name and meaning."""
    codes = []
    for name, cls in inspect.getmembers(error_module, inspect.isclass):
        if issubclass(cls, error_module.FlowError) and cls is not error_module.FlowError:
            doc = (cls.__doc__ or "").strip().splitlines()[0]
            codes.append({"code": cls.code, "name": name, "message": doc, "solution": ""})
    return ok(sorted(codes, key=lambda c: (c["code"], c["name"])))


@router.get("/healthz/")
async def healthz(request: Request) -> Response:
    """Health of the store and the deploy executor."""
    status = await run(_store_status, request)
    return ok({"store": status, "deploy": {"status": True, "message": "ok"}})


def _store_status(request: Request) -> dict[str, Any]:
    from sqlalchemy import text

    try:
        with store(request).db.session() as session:
            session.execute(text("SELECT 1"))
        return {"status": True, "message": "ok"}
    except Exception as exc:  # the health endpoint reports, never fails
        return {"status": False, "message": str(exc).splitlines()[0]}


@router.get("/get_latest_msg/")
async def get_latest_msg(request: Request) -> Response:
    """The last record of a result table's topic, or ``{}``."""
    params = await read_params(request)
    rt_id = str(params.data.get("result_table_id") or "")
    await run(store(request).table_schema, rt_id)
    bus = request.app.state.bus
    latest = None
    if bus is not None and await run(bus.topic_exists, topic_of(rt_id)):
        records = await run(tail_records, bus, topic_of(rt_id), 1)
        latest = records[-1]["value"] if records else None
    return ok({"data": latest or {}})
