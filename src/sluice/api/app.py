"""``create_app``: the FastAPI application, built from injected components.

The flow API is mounted under ``/v3/dataflow/flow/`` and the two gateway prefixes the log
platform uses, so an existing client changes only its host. Every error, including unknown
URLs and unexpected failures, leaves in the ``{result, code, message, data, errors}`` envelope.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import PlainTextResponse, Response

from sluice.api.envelope import Envelope, failure
from sluice.api.openapi import install_openapi
from sluice.api.params import language
from sluice.api.routes import (
    clusters,
    data,
    deploy,
    flows,
    graph,
    meta,
    nodes,
    pipelines,
    result_tables,
    topics,
)
from sluice.model.errors import FlowError
from sluice.runtime.manager import FlowManager
from sluice.store.service import FlowStore
from sluice.web import mount_web

__all__ = ["FLOW_PREFIXES", "create_app"]

log = logging.getLogger(__name__)

FLOW_PREFIXES = (
    "/v3/dataflow/flow",
    "/api/c/compapi/data/v3/dataflow/flow",
    "/api/bk-base/prod/v3/dataflow/flow",
)
_NOT_FOUND = ("您所请求的内容不存在", "The content you requested does not exist")


def create_app(
    store: FlowStore,
    manager: FlowManager,
    *,
    bus: Any = None,
    extra_routers: list[Any] | None = None,
) -> FastAPI:
    """Build the application around a store and a flow manager (and optionally a bus).

    Sluice's own endpoints are served under ``/v3/sluice`` (result tables; with a bus, also
    their data and the topics), Prometheus ``/metrics`` at the root.
    """
    app = FastAPI(
        title="Sluice",
        version="0.1.0",
        description="BKData-compatible DataFlow API, plus Sluice's own result-table and topic endpoints.",
        default_response_class=Envelope,
    )
    app.state.store = store
    app.state.manager = manager
    app.state.bus = bus
    for index, prefix in enumerate(FLOW_PREFIXES):
        for module in (flows, nodes, graph, deploy, meta):
            app.include_router(module.router, prefix=prefix, include_in_schema=index == 0)

    @app.get(f"{FLOW_PREFIXES[0]}/", include_in_schema=False)
    async def hello() -> Response:
        return PlainTextResponse("Hello DataFlow.Flow!")

    app.include_router(result_tables.router, prefix="/v3/sluice")
    app.include_router(clusters.router, prefix="/v3/sluice")
    if bus is not None:  # the topic and data endpoints read and write the bus
        app.include_router(topics.router, prefix="/v3/sluice")
        app.include_router(data.router, prefix="/v3/sluice")
        app.include_router(pipelines.router, prefix="/v3/sluice")
    app.include_router(data.metrics_router)
    for router in extra_routers or []:
        app.include_router(router, prefix="/v3/sluice")

    @app.get("/healthz", tags=["sluice"])
    async def healthz() -> Response:
        return Envelope(
            {
                "result": True,
                "code": "1500200",
                "message": "ok",
                "data": {"status": "ok"},
                "errors": None,
            }
        )

    mount_web(app)
    _install_handlers(app)
    install_openapi(app)
    return app


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(FlowError)
    async def flow_error(request: Request, exc: FlowError) -> Response:
        return failure(exc.code, exc.message(language(request)), exc.errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            zh, en = _NOT_FOUND
            return failure("1500404", en if language(request) == "en" else zh, status_code=404)
        return failure(f"1500{exc.status_code}", str(exc.detail), status_code=200)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors: dict[str, list[str]] = {}
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            errors.setdefault(".".join(loc) or "non_field_errors", []).append(str(err.get("msg")))
        return failure(
            "1500001",
            "参数校验失败" if language(request) != "en" else "Parameter validation failed",
            errors,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        incident = uuid.uuid4().hex[:12]
        log.exception(
            "Request %s %s failed unexpectedly (incident %s).",
            request.method,
            request.url.path,
            incident,
        )
        message = (
            f"Internal error (incident {incident}); the server log has the details."
            if language(request) == "en"
            else f"系统内部错误（事件 {incident}），详情见服务日志"
        )
        return failure("1500500", message)
