"""Lifecycle routes: start, stop, restart (single and batch), deploy records, monitoring."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from sluice.api.envelope import ok
from sluice.api.openapi import ENVELOPE_RESPONSES, body
from sluice.api.params import read_params, validate
from sluice.api.routes._common import check_id, manager, paginate, run, store
from sluice.api.schemas import DeployAction, FlowIds
from sluice.model.errors import Message, ParamsError

__all__ = ["router"]

router = APIRouter(tags=["deploy"], responses=ENVELOPE_RESPONSES)


@router.post("/flows/{flow_id:int}/start/", openapi_extra=body(DeployAction))
async def start(request: Request, flow_id: int) -> Response:
    """Check and start a flow in the background: ``{task_id}``."""
    params = await read_params(request)
    req = validate(DeployAction, params.data, params.lang)
    task_id = await run(
        manager(request).start,
        check_id(flow_id),
        params.user,
        req.consuming_mode,
        req.cluster_group,
    )
    return ok({"task_id": task_id})


@router.post("/flows/{flow_id:int}/stop/")
async def stop(request: Request, flow_id: int) -> Response:
    """Check and stop a flow in the background: ``{task_id}``."""
    params = await read_params(request)
    return ok({"task_id": await run(manager(request).stop, check_id(flow_id), params.user)})


@router.post("/flows/{flow_id:int}/restart/", openapi_extra=body(DeployAction))
async def restart(request: Request, flow_id: int) -> Response:
    """Restart what changed and its downstream: ``{task_id}``."""
    params = await read_params(request)
    req = validate(DeployAction, params.data, params.lang)
    task_id = await run(
        manager(request).restart,
        check_id(flow_id),
        params.user,
        req.consuming_mode,
        req.cluster_group,
    )
    return ok({"task_id": task_id})


async def _multi(request: Request, action: str) -> Response:
    params = await read_params(request)
    req = validate(FlowIds, params.data, params.lang)
    kwargs = {}
    if action == "start":
        kwargs = {
            "consuming_mode": params.data.get("consuming_mode"),
            "cluster_group": params.data.get("cluster_group"),
        }
    elif action == "restart":
        kwargs = {"consuming_mode": "continue"}
    result = await run(
        manager(request).multi,
        action,
        [check_id(f) for f in req.flow_ids],
        params.user,
        params.lang,
        **kwargs,
    )
    return ok(result)


@router.post("/flows/multi_start/", openapi_extra=body(FlowIds))
async def multi_start(request: Request) -> Response:
    """Start several flows."""
    return await _multi(request, "start")


@router.post("/flows/multi_stop/", openapi_extra=body(FlowIds))
async def multi_stop(request: Request) -> Response:
    """Stop several flows."""
    return await _multi(request, "stop")


@router.post("/flows/multi_restart/", openapi_extra=body(FlowIds))
async def multi_restart(request: Request) -> Response:
    """Restart several flows (always ``consuming_mode=continue``)."""
    return await _multi(request, "restart")


@router.get("/flows/{flow_id:int}/latest_deploy_data/")
async def latest_deploy_data(request: Request, flow_id: int) -> Response:
    """The latest deploy record, or ``null``."""
    params = await read_params(request)
    return ok(await run(manager(request).latest_deploy, check_id(flow_id), params.lang))


@router.get("/flows/{flow_id:int}/deploy_data/")
async def deploy_data(request: Request, flow_id: int) -> Response:
    """Every deploy record, newest first (paginated with ``page_size``)."""
    params = await read_params(request)
    return ok(paginate(await run(manager(request).deploys, check_id(flow_id), params.lang), params))


@router.get("/flows/{flow_id:int}/tasks/{task_id:int}/")
async def task(request: Request, flow_id: int, task_id: int) -> Response:
    """One deploy record with parsed ``logs``, or ``null``."""
    params = await read_params(request)
    return ok(
        await run(manager(request).task, check_id(flow_id), check_id(task_id, "task"), params.lang)
    )


@router.get("/flows/{flow_id:int}/monitor_data/")
async def monitor_data(request: Request, flow_id: int) -> Response:
    """Flow monitoring: alerts, per-node input/output totals, table status."""
    graph = await run(store(request).graph, check_id(flow_id))
    if not graph["nodes"]:
        raise ParamsError(Message("空任务不能监控", "An empty flow cannot be monitored"))
    return ok(manager(request).flow_monitor(flow_id, graph["nodes"]))


@router.get("/flows/{flow_id:int}/cluster_groups/")
async def cluster_groups(request: Request, flow_id: int) -> Response:
    """The compute cluster groups a flow may use: this server's local one."""
    await run(store(request).get_flow, check_id(flow_id), {})
    return ok(
        [
            {
                "cluster_group_id": "default",
                "cluster_group_name": "default",
                "cluster_group_alias": "Sluice local",
                "scope": "public",
            }
        ]
    )


@router.get("/flows/{flow_id:int}/list_rt_by_flowid/")
async def list_rt_by_flowid(request: Request, flow_id: int) -> Response:
    """The flow's tables grouped by job."""
    return ok(await run(store(request).tables_of_flow, check_id(flow_id)))
