"""``model_ts_custom`` nodes: the log platform's clustering model, served as a Drain miner.

Per micro-batch the processor decodes the fields the output needs, mines the input field
with the ``feature`` role (the log line; ``log`` when no field declares the role) with a
:class:`~sluice.runtime.mining.TemplateMiner`, and produces one record per input record to
``table_{output_rt}``:

- ``log_signature``: JSON ``{level: signature}`` for every level (``{"05": "<16 hex>"}``
  with the defaults), the form ``udf_single_signature_format_java`` and friends read;
- ``pattern``: the template of the first level, variables shown as ``#NAME#`` and
  varying tokens as ``#*#``;
- ``is_new``: 1 on the record that opened a new cluster (at any level), else 0;
- every other output field is passed through from the input by name; an output field with
  the ``timestamp`` role the input lacks gets the record's ``dtEventTimeStamp``.

The output fields are the output RT's schema (the node's ``output_config``); when it has
none, the input's fields plus the three above. Records whose feature field is missing or
null go to ``{output_rt}_dlq`` with the reason. The mining settings come from
``model_extra_config.predict_args`` (:func:`~sluice.runtime.mining.config_from_args`);
defaults are the log platform's online clustering (``st`` 0.875 named ``05``).

The clusters are state: checkpointed with the input positions
(:class:`~sluice.runtime.tasks.checkpoint.NodeCheckpointer`) at start, every
``SLUICE_MODEL_CHECKPOINT_INTERVAL_MS`` (default 5 s) when something changed, and at a clean
stop, so ``continue`` after a stop or crash keeps every cluster and reads on from the
checkpoint's positions. ``from_head``/``from_tail`` start with no clusters.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sluice.model.errors import Message, NodeValidError
from sluice.runtime.engine import FlowTaskError, NodeTask
from sluice.runtime.mining import (
    MinerConfigError,
    TemplateMiner,
    TooManyClusters,
    config_from_args,
    predict_args,
)
from sluice.runtime.tasks.batch import BatchResult, DeadLetter, MicroBatch
from sluice.runtime.tasks.checkpoint import NodeCheckpointer, StoredState, state_dir
from sluice.runtime.tasks.codec import decode_input, produce_table, with_system_fields
from sluice.runtime.tasks.context import TaskContext
from sluice.runtime.tasks.resumable import Resumable
from sluice.runtime.tasks.topics import dlq_rt
from sluice.sql.types import SYSTEM_FIELDS, arrow_type

__all__ = ["PREDICT_FIELDS", "ModelServingProcessor"]

log = logging.getLogger(__name__)

PREDICT_FIELDS = (("log_signature", "text"), ("pattern", "text"), ("is_new", "int"))
"""The model's outputs (role ``predict_result``)."""
_SYSTEM = {name for name, _ in SYSTEM_FIELDS}
_DEFAULT_INTERVAL_MS = 5_000


def _fail(zh: str, en: str) -> FlowTaskError:
    return FlowTaskError(Message(zh, en))


def _fields(config: Mapping[str, Any], section: str, node: str) -> list[dict[str, Any]]:
    """``config[section][node]["fields"]`` as a list of dicts (JSON text accepted)."""
    outer = config.get(section)
    inner = outer.get(node) if isinstance(outer, Mapping) else None
    fields = inner.get("fields") if isinstance(inner, Mapping) else None
    if isinstance(fields, str):
        try:
            fields = json.loads(fields)
        except json.JSONDecodeError:
            return []
    if not isinstance(fields, list):
        return []
    return [f for f in fields if isinstance(f, dict) and isinstance(f.get("field_name"), str)]


def _roles(field: Mapping[str, Any]) -> set[str]:
    roles = field.get("roles")
    if isinstance(roles, Mapping):
        return {str(k) for k, v in roles.items() if v}
    if isinstance(roles, list):
        return {str(r) for r in roles if isinstance(r, str)}
    return set()


def _feature_field(config: Mapping[str, Any], schema: Sequence[tuple[str, str]]) -> str:
    names = {name for name, _ in schema}
    for field in _fields(config, "input_config", "input_node"):
        if "feature" in _roles(field):
            name = str(field.get("data_field_name") or field["field_name"])
            if name not in names:
                raise _fail(
                    f"模型的特征字段 {name} 不在输入表中",
                    f"The model's feature field {name} is not a field of its input table",
                )
            return name
    if "log" in names:
        return "log"
    raise _fail(
        "模型输入没有特征字段（feature），输入表也没有 log 字段",
        "The model input declares no feature field and its input table has no log field",
    )


class ModelServingProcessor(Resumable):
    """Mines one ``model_ts_custom`` node's log field and writes its predictions."""

    follows_consuming_mode = True
    file_storage = False
    tick_interval_s = 1.0

    def __init__(self, ctx: TaskContext, task: NodeTask) -> None:
        config = task.config
        if len(task.inputs) != 1:
            raise FlowTaskError(f"Model node {task.name} reads exactly one table.")
        if not task.outputs:
            raise FlowTaskError(f"Node {task.name} has no output result table.")
        self.ctx = ctx
        self.task = task
        self.input_rt = task.inputs[0]
        self.inputs = [self.input_rt]
        self.output_rt = task.outputs[0]
        self.dead_letter_rt = dlq_rt(self.output_rt)
        input_schema = ctx.schema(self.input_rt)
        self.feature = _feature_field(config, input_schema)
        try:
            self.mining = config_from_args(predict_args(config.get("model_extra_config")))
            self.miner = TemplateMiner(self.mining)
        except MinerConfigError as exc:
            raise _fail(f"聚类参数无效：{exc}", f"Invalid clustering arguments: {exc}") from exc
        output = [(n, t) for n, t in ctx.schema(self.output_rt) if n not in _SYSTEM]
        if not output:
            output = [(n, t) for n, t in input_schema if n not in _SYSTEM] + list(PREDICT_FIELDS)
        self.output_fields = output
        self.stamp_fields = {
            str(f["field_name"])
            for f in _fields(config, "output_config", "output_node")
            if "timestamp" in _roles(f)
        }
        wanted = {n for n, _ in output} | {self.feature}
        self.decode_schema = [(n, t) for n, t in input_schema if n in wanted]
        self.output_topic = ctx.ensure_rt_topic(self.output_rt)
        interval = int(os.environ.get("SLUICE_MODEL_CHECKPOINT_INTERVAL_MS", _DEFAULT_INTERVAL_MS))
        self.checkpointer = NodeCheckpointer(
            state_dir(ctx.settings.data_dir, task.flow_id, task.node_id),
            max(interval, 0),
            self.mining.fingerprint(),
        )
        self._dirty = False

    # -- StatefulProcessor hooks -------------------------------------------------------------

    def snapshot(self) -> bytes:
        """The miner's clusters (see :class:`~.resumable.Resumable`)."""
        return self.miner.snapshot()

    def restore(self, blob: bytes) -> None:
        """Restore the miner's clusters (raises ``SnapshotError``)."""
        self.miner.restore(blob)

    def reset_state(self) -> None:
        """Start with no clusters (the checkpoint cannot be restored)."""
        self.miner = TemplateMiner(self.mining)

    def state_summary(self, stored: StoredState) -> str:
        return f"{self.miner.cluster_count()} clusters"

    def tick(self) -> BatchResult:
        """Nothing happens in processing time."""
        return BatchResult()

    # -- batches -----------------------------------------------------------------------------

    def process(self, batch: MicroBatch) -> BatchResult:
        """Decode, mine the feature field, produce predictions; feature-less records go to
        the DLQ.

        Raises:
            FlowTaskError: a level reached its cluster bound (the node stops with why).
        """
        source = batch.inputs.get(self.input_rt)
        if source is None:
            return BatchResult()
        timezone = self.ctx.settings.timezone
        table, dead, kept = decode_input(source, self.decode_schema, timezone)
        if table.num_rows == 0:
            return BatchResult(dead=dead)
        column = table.column(self.feature)
        if not pa.types.is_string(column.type):
            column = pc.cast(column, pa.string())
        missing = pc.is_null(column)
        if column.null_count:
            rows = pc.indices_nonzero(missing).to_pylist()
            reason = f"no `{self.feature}` field: the model's feature (log) is missing or null"
            for row in rows:
                index = row if kept is None else int(kept[row].as_py())
                dead.append(DeadLetter(self.input_rt, index, reason))
            present = pc.invert(missing)
            table = table.filter(present)
            column = column.filter(present)
        if table.num_rows == 0:
            return BatchResult(dead=dead)
        self._dirty = True
        try:
            mined = self.miner.mine(column)
        except TooManyClusters as exc:
            raise _fail(f"聚类数超出上限：{exc}", f"Too many clusters: {exc}") from exc
        computed = {
            "log_signature": mined.signatures,
            "pattern": mined.patterns,
            "is_new": mined.is_new,
        }
        names: list[str] = []
        columns: list[pa.Array | pa.ChunkedArray] = []
        for name, kind in self.output_fields:
            if name in computed:
                values: pa.Array | pa.ChunkedArray = computed[name]()
            elif name in table.column_names:
                values = table.column(name)
            elif name in self.stamp_fields and "dtEventTimeStamp" in table.column_names:
                values = table.column("dtEventTimeStamp")
            else:
                values = pa.nulls(table.num_rows)
            names.append(name)
            columns.append(_conform(values, kind))
        if "dtEventTimeStamp" in table.column_names:
            names.append("dtEventTimeStamp")
            columns.append(table.column("dtEventTimeStamp"))
        out = with_system_fields(pa.table(columns, names=names), timezone)
        written = produce_table(self.ctx.bus, self.output_topic, out)
        return BatchResult(records_out=written, dead=dead)

    def close(self) -> None:
        """Nothing to release (the miner is plain memory)."""


def _conform(values: pa.Array | pa.ChunkedArray, kind: str) -> pa.Array | pa.ChunkedArray:
    """``values`` cast to the output field's type when that is lossless, else as they are."""
    try:
        target = arrow_type(kind)
    except NodeValidError:  # an unknown declared type keeps the input's type
        return values
    if values.type == target:
        return values
    try:
        return pc.cast(values, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return values
