"""Flow routes: CRUD, list, batch delete, create with nodes, re-import, export, lookups."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from sluice.api.envelope import ok
from sluice.api.openapi import ENVELOPE_RESPONSES, body
from sluice.api.params import read_params, validate
from sluice.api.routes._common import check_id, ids_param, paginate, run, store
from sluice.api.schemas import CreateFlow, CreateFlowWithNodes, FlowIds, ImportNodes, PatchFlow
from sluice.model.errors import FlowError, Message, ParamsError, ValidError

__all__ = ["router"]

router = APIRouter(tags=["flows"], responses=ENVELOPE_RESPONSES)

_FLAGS = ("add_node_count_info", "add_process_status_info", "add_exception_info", "show_display")


def _tdw(value: Any) -> str:
    if value is None:
        return "{}"
    return value if isinstance(value, str) else json.dumps(value)


@router.post("/flows/", openapi_extra=body(CreateFlow))
async def create_flow(request: Request) -> Response:
    """Create an empty flow."""
    params = await read_params(request)
    req = validate(CreateFlow, params.data, params.lang)
    data = await run(
        store(request).create_flow,
        req.project_id,
        req.flow_name,
        params.user,
        tdw_conf=_tdw(req.tdw_conf),
        description=req.description,
    )
    return ok(data)


@router.get("/flows/")
async def list_flows(request: Request) -> Response:
    """List flows with BKData's filters, search, ordering and pagination."""
    params = await read_params(request)
    flags = {f: params.flag(f) for f in _FLAGS}
    skip = {"page", "page_size", "bk_username", "bk_app_code", "bk_app_secret", *_FLAGS}
    query = {k: v for k, v in params.multi.items() if k not in skip}
    items = await run(store(request).list_flows, query, flags)
    return ok(paginate(items, params))


@router.get("/flows/latest_flows/")
async def latest_flows(request: Request) -> Response:
    """The ten most recently updated flows of a project."""
    params = await read_params(request)
    raw = params.data.get("project_id")
    try:
        project_id = int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        raise ParamsError(
            Message("project_id必须是整数", "project_id must be an integer"),
            {"project_id": ["A valid integer is required."]},
        ) from None
    return ok(await run(store(request).latest_flows, project_id))


@router.get("/flows/list_rela_by_rtid/")
async def list_rela_by_rtid(request: Request) -> Response:
    """Flows using any of the given result tables."""
    params = await read_params(request)
    return ok(
        await run(
            store(request).flows_using_tables,
            ids_param(params, "result_table_id"),
            params.flag("show_display"),
        )
    )


@router.get("/flows/list_flow_monitor_info/")
async def list_flow_monitor_info(request: Request) -> Response:
    """Result table -> flows/nodes using it, with monitor module info."""
    params = await read_params(request)
    return ok(await run(store(request).monitor_info, ids_param(params, "result_table_id")))


@router.get("/flows/projects/count/")
async def projects_count(request: Request) -> Response:
    """Per-project flow counts."""
    params = await read_params(request)
    try:
        ids = [int(v) for v in ids_param(params, "project_id")]
    except ValueError:
        raise ParamsError(
            Message("project_id必须是整数", "project_id must be an integer"),
            {"project_id": ["A valid integer is required."]},
        ) from None
    return ok(await run(store(request).project_counts, ids))


@router.delete("/flows/multi_destroy/", openapi_extra=body(FlowIds))
async def multi_destroy(request: Request) -> Response:
    """Delete several flows: ``{success_flows, fail_flows}``."""
    params = await read_params(request)
    req = validate(FlowIds, params.data, params.lang)
    success: dict[str, str] = {}
    failed: dict[str, str] = {}
    for flow_id in req.flow_ids:
        try:
            await run(store(request).delete_flow, check_id(flow_id), params.user)
            success[str(flow_id)] = "ok"
        except FlowError as exc:
            failed[str(flow_id)] = exc.message(params.lang)
    return ok({"success_flows": success, "fail_flows": failed})


@router.post("/flows/create/", openapi_extra=body(CreateFlowWithNodes))
async def create_with_nodes(request: Request) -> Response:
    """Create a flow with its nodes, all or nothing."""
    params = await read_params(request)
    nodes = params.data.get("nodes")
    if isinstance(nodes, list):
        from sluice.model.nodes import NODE_TYPES

        for node in nodes:
            if isinstance(node, dict) and isinstance(node.get("node_type"), str):
                NODE_TYPES.get(node["node_type"])
    req = validate(CreateFlowWithNodes, params.data, params.lang)
    node_list = [n.model_dump() for n in req.nodes]
    data = await run(
        store(request).create_with_nodes,
        req.project_id,
        req.flow_name,
        node_list,
        params.user,
        tdw_conf=_tdw(req.tdw_conf),
    )
    return ok(data)


@router.get("/flows/{flow_id:int}/")
async def retrieve_flow(request: Request, flow_id: int) -> Response:
    """One flow with ``custom_calculate`` (and ``has_exception``/``project_name`` on request)."""
    params = await read_params(request)
    flags = {
        f: params.flag(f)
        for f in (
            "add_exception_info",
            "show_display",
            "add_node_count_info",
            "add_process_status_info",
        )
    }
    return ok(await run(store(request).get_flow, check_id(flow_id), flags))


@router.patch("/flows/{flow_id:int}/", openapi_extra=body(PatchFlow))
async def patch_flow(request: Request, flow_id: int) -> Response:
    """Change a flow's name, project, tdw_conf or description."""
    params = await read_params(request)
    req = validate(PatchFlow, params.data, params.lang)
    changes = {
        k: v
        for k, v in req.model_dump(
            include={"project_id", "flow_name", "tdw_conf", "description"}
        ).items()
        if v is not None
    }
    if "tdw_conf" in changes:
        changes["tdw_conf"] = _tdw(changes["tdw_conf"])
    return ok(await run(store(request).update_flow, check_id(flow_id), changes, params.user))


@router.put("/flows/{flow_id:int}/", openapi_extra=body(CreateFlow))
async def put_flow(request: Request, flow_id: int) -> Response:
    """Full update of a flow's editable fields."""
    params = await read_params(request)
    req = validate(CreateFlow, params.data, params.lang)
    changes = {
        "project_id": req.project_id,
        "flow_name": req.flow_name,
        "tdw_conf": _tdw(req.tdw_conf),
        "description": req.description,
    }
    return ok(await run(store(request).update_flow, check_id(flow_id), changes, params.user))


@router.delete("/flows/{flow_id:int}/")
async def delete_flow(request: Request, flow_id: int) -> Response:
    """Delete a stopped flow and its nodes."""
    params = await read_params(request)
    await run(store(request).delete_flow, check_id(flow_id), params.user)
    return ok(None)


@router.post("/flows/{flow_id:int}/create/", openapi_extra=body(ImportNodes))
async def reimport(request: Request, flow_id: int) -> Response:
    """Replace all nodes of a stopped flow (re-import)."""
    params = await read_params(request)
    try:
        req = validate(ImportNodes, params.data, params.lang)
    except ParamsError as exc:
        raise ValidError(
            Message("导入配置的文件参数格式错误:", "The imported configuration has a bad format: ")
            + exc.msg,
            exc.errors,
        ) from None
    node_ids = await run(
        store(request).reimport, check_id(flow_id), [n.model_dump() for n in req.nodes], params.user
    )
    return ok({"flow_id": str(flow_id), "node_ids": node_ids})


@router.get("/flows/{flow_id:int}/export/")
async def export_flow(request: Request, flow_id: int) -> Response:
    """The flow in create format."""
    return ok(await run(store(request).export, check_id(flow_id)))
