"""Sluice's pipeline endpoints under ``/v3/sluice/pipelines/`` (router ``router``, mounted
by the app at ``/v3/sluice``).

- ``POST /pipelines/simulate/`` ``{config, events}``: the events after each filter (no I/O).
- ``GET /pipelines/``, ``POST /pipelines/`` ``{name, config}``, ``GET|PUT|DELETE
  /pipelines/{name}/``: pipelines stored as config files.
- ``POST /pipelines/{name}/start/``, ``POST /pipelines/{name}/stop/``,
  ``GET /pipelines/{name}/status/``: run them in the server process on its bus.

Pipelines are kept under ``app.state.pipeline_dir`` (if the app sets it), else
``$SLUICE_DATA_DIR/pipelines`` (default ``.sluice/pipelines``). Config errors are
``1500001`` (params) with the positioned message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from sluice.api.deps import get_bus
from sluice.api.envelope import ok
from sluice.model.errors import FlowError, Message, NotFoundError, ParamsError
from sluice.pipeline.errors import ConfigError
from sluice.pipeline.run import PipelineManager, simulate

__all__ = ["PipelineBody", "SimulateBody", "router"]

router = APIRouter(tags=["pipelines"])


class SimulateBody(BaseModel):
    """Body of ``POST /pipelines/simulate/``."""

    model_config = ConfigDict(extra="forbid")

    config: str = Field(description="Pipeline config text (Logstash syntax).")
    events: list[dict[str, Any]] = Field(description="Input events, JSON objects.")


class PipelineBody(BaseModel):
    """Body of ``POST /pipelines/`` and ``PUT /pipelines/{name}/``."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, description="Pipeline name, [A-Za-z0-9_.-]+.")
    config: str = Field(description="Pipeline config text (Logstash syntax).")


def _config_error(exc: ConfigError) -> ParamsError:
    return ParamsError(Message(f"管道配置错误: {exc}", f"Pipeline config error: {exc}"))


def _manager(request: Request) -> PipelineManager:
    state = request.app.state
    manager = getattr(state, "pipeline_manager", None)
    if manager is None:
        root = getattr(state, "pipeline_dir", None) or (
            Path(os.environ.get("SLUICE_DATA_DIR", ".sluice")) / "pipelines"
        )
        manager = PipelineManager(Path(root), get_bus(request))
        state.pipeline_manager = manager
    return manager


def _missing(name: str) -> NotFoundError:
    return NotFoundError(Message(f"管道 {name} 不存在", f"Pipeline {name} does not exist"))


@router.post("/pipelines/simulate/")
def simulate_pipeline(body: Annotated[SimulateBody, Body()]) -> Response:
    """Run the filter section over ``events``; return the events after each filter."""
    try:
        return ok(simulate(body.config, body.events))
    except ConfigError as exc:
        raise _config_error(exc) from None


@router.get("/pipelines/")
def list_pipelines(request: Request) -> Response:
    """Every stored pipeline with its status."""
    manager = _manager(request)
    return ok([manager.status(name) for name in manager.names()])


@router.post("/pipelines/")
def create_pipeline(request: Request, body: Annotated[PipelineBody, Body()]) -> Response:
    """Store a new pipeline (compiled first)."""
    if not body.name:
        raise ParamsError(Message("缺少管道名称", "The pipeline needs a name"))
    try:
        _manager(request).save(body.name, body.config, create=True)
    except ConfigError as exc:
        raise _config_error(exc) from None
    except FileExistsError:
        raise ParamsError(
            Message(f"管道 {body.name} 已存在", f"Pipeline {body.name} already exists")
        ) from None
    return ok({"name": body.name})


@router.get("/pipelines/{name}/")
def get_pipeline(request: Request, name: str) -> Response:
    """A pipeline's config and status."""
    manager = _manager(request)
    try:
        return ok({"config": manager.config(name), **manager.status(name)})
    except (KeyError, ConfigError):
        raise _missing(name) from None


@router.put("/pipelines/{name}/")
def update_pipeline(request: Request, name: str, body: Annotated[PipelineBody, Body()]) -> Response:
    """Replace a stopped pipeline's config."""
    try:
        _manager(request).save(name, body.config, create=False)
    except ConfigError as exc:
        raise _config_error(exc) from None
    except KeyError:
        raise _missing(name) from None
    except RuntimeError as exc:
        raise ParamsError(Message(f"管道运行中: {exc}", str(exc))) from None
    return ok({"name": name})


@router.delete("/pipelines/{name}/")
def delete_pipeline(request: Request, name: str) -> Response:
    """Stop and delete a pipeline."""
    try:
        _manager(request).delete(name)
    except (KeyError, ConfigError):
        raise _missing(name) from None
    return ok(None)


@router.post("/pipelines/{name}/start/")
def start_pipeline(request: Request, name: str) -> Response:
    """Start a pipeline in the server process."""
    try:
        return ok(_manager(request).start(name))
    except KeyError:
        raise _missing(name) from None
    except ConfigError as exc:
        raise _config_error(exc) from None
    except OSError as exc:
        raise FlowError(Message(f"管道启动失败: {exc}", f"Pipeline start failed: {exc}")) from None


@router.post("/pipelines/{name}/stop/")
def stop_pipeline(request: Request, name: str) -> Response:
    """Stop a running pipeline (events not yet processed stay on the bus)."""
    manager = _manager(request)
    try:
        manager.config(name)
    except (KeyError, ConfigError):
        raise _missing(name) from None
    manager.stop(name)
    return ok(manager.status(name))


@router.get("/pipelines/{name}/status/")
def pipeline_status(request: Request, name: str) -> Response:
    """State and counters of a pipeline."""
    try:
        return ok(_manager(request).status(name))
    except (KeyError, ConfigError):
        raise _missing(name) from None
