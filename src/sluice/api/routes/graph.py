"""Graph routes: graph, draft, versions, graph actions, extra info."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from sluice.api.envelope import ok
from sluice.api.openapi import ENVELOPE_RESPONSES, body
from sluice.api.params import read_params, validate
from sluice.api.routes._common import check_id, run, store
from sluice.api.schemas import GraphAction

__all__ = ["router"]

router = APIRouter(tags=["graph"], responses=ENVELOPE_RESPONSES)


@router.get("/flows/{flow_id:int}/graph/")
async def get_graph(request: Request, flow_id: int) -> Response:
    """``{nodes, links, version}``."""
    return ok(await run(store(request).graph, check_id(flow_id)))


@router.put("/flows/{flow_id:int}/graph/", openapi_extra=body(GraphAction))
async def put_graph(request: Request, flow_id: int) -> Response:
    """Move nodes, create or delete links."""
    params = await read_params(request)
    req = validate(GraphAction, params.data, params.lang)
    return ok(
        await run(store(request).graph_action, check_id(flow_id), req.action, req.data, params.user)
    )


@router.get("/flows/{flow_id:int}/versions/")
async def versions(request: Request, flow_id: int) -> Response:
    """The flow's versions, newest first."""
    return ok(await run(store(request).versions, check_id(flow_id)))


@router.get("/flows/{flow_id:int}/versions/draft/")
async def draft(request: Request, flow_id: int) -> Response:
    """The canvas view ``{locations, lines, version}``."""
    return ok(await run(store(request).draft, check_id(flow_id)))


@router.get("/flows/{flow_id:int}/versions/{version_id}/graph/")
async def version_graph(request: Request, flow_id: int, version_id: str) -> Response:
    """Same as the graph (BKData ignores ``version_id``)."""
    del version_id
    return ok(await run(store(request).graph, check_id(flow_id)))


@router.get("/flows/{flow_id:int}/get_graph_extra_info/")
async def graph_extra_info(request: Request, flow_id: int) -> Response:
    """Running source nodes whose upstream job is stopped."""
    return ok(await run(store(request).graph_extra_info, check_id(flow_id)))
