"""Node routes: create, retrieve, PUT, PATCH, DELETE, node monitoring, and table lookups."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from sluice.api.envelope import ok
from sluice.api.openapi import ENVELOPE_RESPONSES, body
from sluice.api.params import read_params, validate
from sluice.api.routes._common import check_id, ids_param, manager, run, store
from sluice.api.schemas import CreateNode, FromLink, UpdateNode
from sluice.model.errors import Message, NodeValidError
from sluice.store.nodes import ParentLink

__all__ = ["router"]

router = APIRouter(tags=["nodes"], responses=ENVELOPE_RESPONSES)

_STREAM_MONITORS = ("data_delay_max", "data_trend")


def _parents(links: list[FromLink]) -> list[ParentLink]:
    parents = []
    for link in links:
        if link.source.node_id is None:
            raise NodeValidError(
                Message(
                    "from_links的source必须包含node_id", "Each from_links source needs a node_id"
                )
            )
        parents.append(
            ParentLink(check_id(link.source.node_id, "node"), link.model_dump(exclude_none=True))
        )
    return parents


@router.post("/flows/{flow_id:int}/nodes/", openapi_extra=body(CreateNode))
async def create_node(request: Request, flow_id: int) -> Response:
    """Create a node; returns the node dict."""
    params = await read_params(request)
    if isinstance(params.data.get("node_type"), str):
        from sluice.model.nodes import NODE_TYPES

        NODE_TYPES.get(params.data["node_type"])
    req = validate(CreateNode, params.data, params.lang)
    config = dict(req.config)
    data = await run(
        store(request).create_node,
        check_id(flow_id),
        req.node_type,
        config,
        _parents(req.from_links),
        req.frontend_info,
        params.user,
    )
    return ok(data)


@router.get("/flows/{flow_id:int}/nodes/{node_id:int}/")
async def retrieve_node(request: Request, flow_id: int, node_id: int) -> Response:
    """The node dict."""
    return ok(await run(store(request).get_node, check_id(flow_id), check_id(node_id, "node")))


@router.put("/flows/{flow_id:int}/nodes/{node_id:int}/", openapi_extra=body(UpdateNode))
async def update_node(request: Request, flow_id: int, node_id: int) -> Response:
    """Full update: links into the node, config and position; returns the node dict."""
    params = await read_params(request)
    req = validate(UpdateNode, params.data, params.lang)
    data = await run(
        store(request).update_node,
        check_id(flow_id),
        check_id(node_id, "node"),
        dict(req.config),
        _parents(req.from_links),
        req.frontend_info,
        params.user,
    )
    return ok(data)


@router.patch("/flows/{flow_id:int}/nodes/{node_id:int}/")
async def patch_node(request: Request, flow_id: int, node_id: int) -> Response:
    """Merge config fields over the stored config; returns the resulting config."""
    params = await read_params(request)
    data = await run(
        store(request).patch_node,
        check_id(flow_id),
        check_id(node_id, "node"),
        dict(params.data),
        params.user,
    )
    return ok(data)


@router.delete("/flows/{flow_id:int}/nodes/{node_id:int}/")
async def delete_node(request: Request, flow_id: int, node_id: int) -> Response:
    """Delete a node; returns the display statuses of its former children."""
    params = await read_params(request)
    return ok(
        await run(
            store(request).delete_node, check_id(flow_id), check_id(node_id, "node"), params.user
        )
    )


@router.get("/flows/{flow_id:int}/nodes/{node_id:int}/monitor_data/")
async def node_monitor(request: Request, flow_id: int, node_id: int) -> Response:
    """Node monitoring of one ``monitor_type`` (``data_delay_max`` or ``data_trend``)."""
    params = await read_params(request)
    node = await run(store(request).get_node, check_id(flow_id), check_id(node_id, "node"))
    monitor_type = str(params.data.get("monitor_type") or "")
    if monitor_type not in _STREAM_MONITORS:
        allowed = ", ".join(_STREAM_MONITORS)
        raise NodeValidError(
            Message(
                f"当前节点仅支持监控类型[{allowed}]",
                f"This node only supports monitor types [{allowed}]",
            )
        )
    metrics = manager(request).node_metrics(flow_id, node_id)
    series = dict.fromkeys(node["result_table_ids"], metrics)
    return ok({monitor_type: series})


@router.get("/nodes/calculate_nodes/")
async def calculate_nodes(request: Request) -> Response:
    """Nodes producing the given tables."""
    params = await read_params(request)
    return ok(
        await run(store(request).nodes_of_tables, ids_param(params, "result_table_id"), "calculate")
    )


@router.get("/nodes/storage_nodes/")
async def storage_nodes(request: Request) -> Response:
    """Storage nodes of the given tables."""
    params = await read_params(request)
    return ok(
        await run(store(request).nodes_of_tables, ids_param(params, "result_table_id"), "storage")
    )


@router.get("/nodes/processing_nodes/")
async def processing_nodes(request: Request) -> Response:
    """Processing nodes of the given tables, with their flow."""
    params = await read_params(request)
    return ok(
        await run(
            store(request).nodes_of_tables, ids_param(params, "result_table_id"), "processing"
        )
    )
