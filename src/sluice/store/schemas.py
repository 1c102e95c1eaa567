"""Output schemas of processing nodes, computed when a node is saved.

Merge and split outputs carry their input's schema; a model node's come from its
``output_config``; SQL outputs are inferred by a :class:`SchemaInferrer` the store is given
(the runtime's SQL compiler), which also rejects invalid SQL at save time with ``1500001``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy.orm import Session

from sluice.model.fields import FIELD_TYPES, FieldSpec
from sluice.model.nodes import NodeConfig, NodeType
from sluice.store.result_tables import rt_fields

__all__ = ["SchemaInferrer", "output_schema"]


class SchemaInferrer(Protocol):
    """Infers a SQL node's output schema from its config and its inputs' schemas.

    Called by the store while saving a ``realtime`` node whose every input schema is known.
    Raises :class:`~sluice.model.errors.NodeValidError` (``1500001``, with the position) when
    the SQL is invalid; returns ``[(field_name, field_type)]`` otherwise.
    """

    def __call__(
        self, sql: str, inputs: Mapping[str, Sequence[tuple[str, str]]]
    ) -> list[tuple[str, str]]: ...


def _specs(fields: Sequence[tuple[str, str]]) -> list[FieldSpec]:
    return [
        FieldSpec.model_validate(
            {"field_name": name, "field_type": kind if kind in FIELD_TYPES else "string"}
        )
        for name, kind in fields
    ]


def _model_fields(config: Mapping[str, Any]) -> list[FieldSpec]:
    output = config.get("output_config") or {}
    node = output.get("output_node") if isinstance(output, dict) else None
    fields = node.get("fields") if isinstance(node, dict) else None
    if not isinstance(fields, list):
        return []
    pairs = [
        (str(f["field_name"]), str(f.get("field_type") or "string"))
        for f in fields
        if isinstance(f, dict)
        and isinstance(f.get("field_name"), str)
        and f["field_name"].replace("_", "a").isalnum()
    ]
    return _specs(pairs)


def output_schema(
    session: Session, node_type: type[NodeType], config: NodeConfig, inferrer: SchemaInferrer | None
) -> list[FieldSpec]:
    """The schema of the node's output tables ([] when it cannot be known yet)."""
    inputs = list(config.from_result_table_ids)
    if node_type.name in ("merge", "split"):
        if not inputs:
            return []
        return [
            FieldSpec(
                field_name=f["field_name"],
                field_type=f["field_type"],
                field_alias=f["field_alias"],
                description=f["description"],
            )
            for f in rt_fields(session, inputs[0])
        ]
    if node_type.name == "model_ts_custom":
        return _model_fields(config.model_dump())
    if node_type.name != "realtime" or inferrer is None:
        return []
    schemas = {
        rt: [(f["field_name"], f["field_type"]) for f in rt_fields(session, rt)] for rt in inputs
    }
    if not schemas or any(not fields for fields in schemas.values()):
        return []
    sql = str(config.model_dump()["sql"])
    return _specs(inferrer(sql, schemas))
