"""Request bodies of the flow API, as pydantic models (validation and OpenAPI docs).

Unknown keys are allowed where BKData ignores them (clients send ``bk_app_code``, auth
fields, ``flow_id`` in bodies); node configs are validated by their node type, not here.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]
"""A row id: what the database can hold."""
BigInt = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
"""A 64-bit integer column (project ids)."""
BizId = Annotated[int, Field(ge=0, le=2**31 - 1)]
"""A business id."""

__all__ = [
    "CreateFlow",
    "CreateFlowWithNodes",
    "CreateNode",
    "CreateResultTable",
    "DeployAction",
    "FlowIds",
    "GraphAction",
    "ImportNodes",
    "ImportedNode",
    "LinkEnd",
    "PatchFlow",
    "UpdateNode",
]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class CreateFlow(_Lenient):
    """``POST flows/``."""

    project_id: BigInt = Field(description="Project the flow belongs to.")
    flow_name: str = Field(
        description="Name, unique within the project.", min_length=1, max_length=255
    )
    tdw_conf: Any = Field(default=None, description="TDW settings (JSON string or object).")
    description: str = Field(default="", description="Free text.")
    bk_username: str | None = Field(default=None, description="Operator.")


class PatchFlow(_Lenient):
    """``PATCH flows/{id}/``: any of these fields."""

    project_id: BigInt | None = Field(default=None, description="New project.")
    flow_name: str | None = Field(
        default=None, description="New name.", min_length=1, max_length=255
    )
    tdw_conf: Any = Field(default=None, description="New TDW settings.")
    description: str | None = Field(default=None, description="New description.")


class ImportedNode(_Lenient):
    """One node of the create format: required keys; every other key is node config."""

    id: int = Field(description="Client-local id, used to resolve from_nodes.")
    from_nodes: list[dict[str, Any]] = Field(
        description="Upstream links [{id, from_result_table_ids}]."
    )
    node_type: str = Field(description="BKData node type.")
    bk_biz_id: BizId = Field(description="Business id.")
    name: str = Field(description="Node name.")


class CreateFlowWithNodes(_Lenient):
    """``POST flows/create/``."""

    project_id: BigInt = Field(description="Project the flow belongs to.")
    flow_name: str = Field(
        description="Name, unique within the project.", min_length=1, max_length=255
    )
    nodes: list[ImportedNode] = Field(description="The nodes in create format.")
    tdw_conf: Any = Field(default=None, description="TDW settings.")


class ImportNodes(_Lenient):
    """``POST flows/{id}/create/``."""

    nodes: list[ImportedNode] = Field(description="The nodes in create format.", min_length=1)


class LinkEnd(_Lenient):
    """One end of a UI link anchor."""

    node_id: int | None = Field(default=None, description="The node (source end: the parent).")
    id: str | None = Field(default=None, description="UI anchor id, e.g. ch_123.")
    arrow: str | None = Field(default=None, description="Right or Left.")


class FromLink(_Lenient):
    """``{source, target}`` of a link into a node."""

    source: LinkEnd = Field(description="The parent end.")
    target: LinkEnd = Field(default_factory=LinkEnd, description="This node's end.")


class CreateNode(_Lenient):
    """``POST flows/{id}/nodes/``."""

    node_type: str = Field(description="BKData node type.")
    from_links: list[FromLink] = Field(description="Links into the node; [] for sources.")
    config: dict[str, Any] = Field(description="The node config (fields per node type).")
    frontend_info: dict[str, Any] = Field(
        default_factory=dict, description="Canvas position {x, y}."
    )


class UpdateNode(_Lenient):
    """``PUT flows/{id}/nodes/{nid}/``."""

    from_links: list[FromLink] = Field(default_factory=list, description="Links into the node.")
    config: dict[str, Any] = Field(description="The full node config.")
    frontend_info: dict[str, Any] = Field(
        default_factory=dict, description="Canvas position {x, y}."
    )


class DeployAction(_Lenient):
    """``POST flows/{id}/start|restart/``."""

    consuming_mode: str | None = Field(
        default=None, description="continue, from_tail or from_head."
    )
    cluster_group: str | None = Field(default=None, description="Compute cluster group.")


class FlowIds(_Lenient):
    """Batch operations."""

    flow_ids: list[DbId] = Field(description="The flows to act on.")


class GraphAction(_Lenient):
    """``PUT flows/{id}/graph/``."""

    action: str = Field(description="update_nodes, create_lines or delete_lines.")
    data: list[Any] = Field(description="The items of the action.")


class CreateResultTable(BaseModel):
    """``POST /v3/sluice/result_tables/``."""

    model_config = ConfigDict(extra="ignore")

    bk_biz_id: int = Field(
        description="Business id; the table id is {bk_biz_id}_{table_name}.", ge=0
    )
    table_name: str = Field(description="Table name (letters, digits, single underscores).")
    fields: list[dict[str, Any]] = Field(
        description="[{field_name, field_type, field_alias?, description?}]", min_length=1
    )
    result_table_name_alias: str = Field(default="", description="Display name.")
    description: str = Field(default="", description="Free text.")
