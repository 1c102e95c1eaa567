"""The pieces of the windowed task on their own: task settings, SQL row carrying, checkpoints."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from pydantic import ValidationError

from sluice.bus import TopicPartition
from sluice.runtime.tasks.checkpoint import NodeCheckpointer, state_dir
from sluice.runtime.tasks.windowed import (
    ROW_COLUMN,
    WindowTaskSettings,
    _with_row_post,
    _with_row_pre,
)
from sluice.runtime.windows import CheckpointError
from sluice.sql import compile_realtime_sql, open_connection
from sluice.sql.execution import run_sql

SCHEMA = {"591_src": [("service", "string"), ("latency", "long"), ("sig", "string")]}


def test_task_settings_from_env_and_bad_values() -> None:
    settings = WindowTaskSettings.from_env(
        {"SLUICE_WINDOW_CHECKPOINT_INTERVAL_MS": "250", "SLUICE_WINDOW_TICK_MS": "40"}
    )
    assert (settings.checkpoint_interval_ms, settings.tick_ms) == (250, 40)
    assert settings.idle_timeout_ms == WindowTaskSettings().idle_timeout_ms
    with pytest.raises(ValidationError):
        WindowTaskSettings.from_env({"SLUICE_WINDOW_IDLE_TIMEOUT_MS": "soon"})
    with pytest.raises(ValidationError):
        WindowTaskSettings(tick_ms=1)


@pytest.mark.parametrize(
    "sql",
    [
        "select service, count(*) as c from 591_src where latency > 3 group by service",
        "select service, sum(latency) * 1.5 as w from 591_src group by service having count(*) > 1",
        "select s, count(*) as c from 591_src, lateral table("
        "udf_single_signature_format_java(sig)) as T(s) group by s",
    ],
)
def test_row_index_survives_pre_and_post_aggregation(sql: str) -> None:
    query = compile_realtime_sql(sql, SCHEMA)
    plan = query.aggregate
    assert plan is not None
    con = open_connection()
    batch = pa.table({
        "service": ["a", "b", "a", "c"], "latency": [1, 5, 7, 9], "sig": ["x", "y", None, "z"],
        "dtEventTimeStamp": [10, 20, 30, 40], ROW_COLUMN: [7, 8, 9, 10],
    })  # fmt: skip
    pre = run_sql(con, _with_row_pre(plan.pre_sql), {query.relations["591_src"]: batch}, None)
    plain = run_sql(con, plan.pre_sql, {query.relations["591_src"]: batch}, None)
    assert pre.drop_columns([ROW_COLUMN]).equals(plain)
    times = dict(
        zip(batch[ROW_COLUMN].to_pylist(), batch["dtEventTimeStamp"].to_pylist(), strict=True)
    )
    assert all(times[r] == t for r, t in zip(pre[ROW_COLUMN].to_pylist(),
                                             pre["dtEventTimeStamp"].to_pylist(), strict=True))  # fmt: skip
    agg = pa.table({
        **{k.column: pa.array(["k1", "k2", "k3"]) for k in plan.group_keys},
        **{a.output: pa.array([1, 2, 3], pa.int64()) for a in plan.aggregates},
        ROW_COLUMN: [0, 1, 2],
    })  # fmt: skip
    post = run_sql(con, _with_row_post(plan.post_sql), {plan.agg_relation: agg}, None)
    expected = run_sql(con, plan.post_sql, {plan.agg_relation: agg}, None)
    assert post.drop_columns([ROW_COLUMN]).equals(expected)
    # The carried index names the __agg rows each output row came from.
    picked = agg.take(post[ROW_COLUMN]).drop_columns([ROW_COLUMN])
    assert run_sql(con, plan.post_sql, {plan.agg_relation: picked}, None).equals(expected)
    con.close()
    query.close()


def test_checkpointer_round_trip_and_corrupt_file(tmp_path: Path) -> None:
    folder = state_dir(tmp_path, 3, 7)
    assert folder == tmp_path / "state" / "flow3_node7"
    ckpt = NodeCheckpointer(folder, interval_ms=60_000, fingerprint="abc")
    assert ckpt.load() is None
    assert not ckpt.due()
    positions = {TopicPartition("table_591_src", 0): 12, TopicPartition("table_591_src", 3): 0}
    ckpt.save(b"state bytes", positions)
    stored = ckpt.load()
    assert stored is not None
    assert (stored.state, stored.positions, stored.fingerprint) == (
        b"state bytes",
        positions,
        "abc",
    )
    assert [p.name for p in folder.iterdir()] == ["window.ckpt"]  # the temporary file is gone
    (folder / "window.ckpt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError):
        ckpt.load()
    assert NodeCheckpointer(folder, interval_ms=0, fingerprint="x").due()
