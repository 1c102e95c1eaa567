"""Sluice's storage cluster endpoints under ``/v3/sluice/clusters/``.

A storage node names a ``cluster``; the cluster registry maps ``(cluster_type, cluster_name)``
to a DSN (see :mod:`sluice.plugins.clusters`). These endpoints manage the registry's table in
the metadata store and list the read-only clusters configured by environment variables or the
clusters file. DSNs are validated on write and **always returned with the password masked**.

- ``GET /clusters/[?cluster_type=mysql]``: every cluster, ``source`` ``store``, ``env`` or
  ``file`` (only ``store`` ones can be changed here).
- ``POST /clusters/`` ``{cluster_type, cluster_name, dsn, description}``.
- ``GET|PUT|PATCH|DELETE /clusters/{cluster_type}/{cluster_name}/``; ``PUT``/``PATCH`` take
  ``{dsn?, description?}``.

The router has no prefix; the app mounts it under ``/v3/sluice``. The store is
``app.state.clusters`` (a :class:`~sluice.store.clusters.ClusterStore`) when set, else one over
the flow store's database.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from sluice.api.envelope import ok
from sluice.api.openapi import ENVELOPE_RESPONSES, body
from sluice.api.params import read_params, validate
from sluice.api.routes._common import run, store
from sluice.model.errors import Message, NotFoundError, ParamsError
from sluice.plugins.clusters import CLUSTER_TYPES, ClusterRegistry, mask_dsn, parse_dsn
from sluice.store.clusters import ClusterStore

__all__ = ["CreateCluster", "UpdateCluster", "router"]

router = APIRouter(tags=["clusters"], responses=ENVELOPE_RESPONSES)

_IDENTITY = frozenset(
    {"bk_username", "bk_app_code", "bk_app_secret", "bkdata_authentication_method"}
)


class CreateCluster(BaseModel):
    """Body of ``POST /clusters/``."""

    model_config = ConfigDict(extra="forbid")

    cluster_type: str = Field(description=f"One of: {', '.join(CLUSTER_TYPES)}.")
    cluster_name: str = Field(
        min_length=1,
        max_length=255,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="The name storage nodes give as `cluster`.",
    )
    dsn: str = Field(min_length=1, description="Connection URL, e.g. mysql://u:p@host:3306/db.")
    description: str = Field(default="", description="Free text.")


class UpdateCluster(BaseModel):
    """Body of ``PUT``/``PATCH /clusters/{cluster_type}/{cluster_name}/``."""

    model_config = ConfigDict(extra="forbid")

    dsn: str | None = Field(default=None, min_length=1, description="New connection URL.")
    description: str | None = Field(default=None, description="New description.")


def _clusters(request: Request) -> ClusterStore:
    found = getattr(request.app.state, "clusters", None)
    if isinstance(found, ClusterStore):
        return found
    return ClusterStore(store(request).db)


def _public(entry: dict[str, Any], source: str) -> dict[str, Any]:
    out = {k: v for k, v in entry.items() if k != "dsn"}
    out["dsn"] = mask_dsn(str(entry.get("dsn", "")))
    out["source"] = source
    return out


def _data(params_data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params_data.items() if k not in _IDENTITY}


@router.get("/clusters/")
async def list_clusters(request: Request) -> Response:
    """Every storage cluster (DSNs masked), optionally of one ``cluster_type``."""
    params = await read_params(request)
    ctype = params.data.get("cluster_type") or None
    if ctype is not None and ctype not in CLUSTER_TYPES:
        raise ParamsError(
            Message(f"未知的集群类型 {ctype}", f"Unknown cluster type {ctype!r}"),
            {"cluster_type": [f"Choose one of: {', '.join(CLUSTER_TYPES)}."]},
        )
    rows = await run(_clusters(request).list_all, ctype)
    out = [_public(r, "store") for r in rows]
    for t, name, dsn, source in ClusterRegistry.from_env().static_entries():
        if ctype in (None, t):
            out.append(_public({"cluster_type": t, "cluster_name": name, "dsn": dsn}, source))
    return ok(out)


@router.post("/clusters/", openapi_extra=body(CreateCluster))
async def create_cluster(request: Request) -> Response:
    """Register a cluster; the DSN must suit the type (``1500001`` otherwise)."""
    params = await read_params(request)
    req = validate(CreateCluster, _data(params.data), params.lang)
    parse_dsn(req.cluster_type, req.cluster_name, req.dsn)
    row = await run(
        _clusters(request).create,
        req.cluster_type,
        req.cluster_name,
        req.dsn,
        req.description,
        params.user,
    )
    return ok(_public(row, "store"))


@router.get("/clusters/{cluster_type}/{cluster_name}/")
async def get_cluster(request: Request, cluster_type: str, cluster_name: str) -> Response:
    """One cluster (DSN masked), from the store or else the environment/clusters file."""
    try:
        row = await run(_clusters(request).get, cluster_type, cluster_name)
        return ok(_public(row, "store"))
    except NotFoundError:
        for t, name, dsn, source in ClusterRegistry.from_env().static_entries():
            if (t, name) == (cluster_type, cluster_name):
                return ok(_public({"cluster_type": t, "cluster_name": name, "dsn": dsn}, source))
        raise


async def _update(request: Request, cluster_type: str, cluster_name: str) -> Response:
    params = await read_params(request)
    req = validate(UpdateCluster, _data(params.data), params.lang)
    if req.dsn is not None:
        parse_dsn(cluster_type, cluster_name, req.dsn)
    row = await run(
        _clusters(request).update,
        cluster_type,
        cluster_name,
        dsn=req.dsn,
        description=req.description,
        user=params.user,
    )
    return ok(_public(row, "store"))


@router.put("/clusters/{cluster_type}/{cluster_name}/", openapi_extra=body(UpdateCluster))
async def put_cluster(request: Request, cluster_type: str, cluster_name: str) -> Response:
    """Change a stored cluster's DSN and/or description."""
    return await _update(request, cluster_type, cluster_name)


@router.patch("/clusters/{cluster_type}/{cluster_name}/", openapi_extra=body(UpdateCluster))
async def patch_cluster(request: Request, cluster_type: str, cluster_name: str) -> Response:
    """Same as ``PUT``: only the given fields change."""
    return await _update(request, cluster_type, cluster_name)


@router.delete("/clusters/{cluster_type}/{cluster_name}/")
async def delete_cluster(request: Request, cluster_type: str, cluster_name: str) -> Response:
    """Remove a stored cluster (environment and file clusters cannot be removed here)."""
    await run(_clusters(request).delete, cluster_type, cluster_name)
    return ok({"cluster_type": cluster_type, "cluster_name": cluster_name, "deleted": True})
