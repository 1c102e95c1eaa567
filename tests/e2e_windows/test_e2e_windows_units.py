"""The pieces of the windowed task on their own: task settings, SQL row carrying, checkpoints."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from pydantic import ValidationError

from sluice.bus import TopicPartition
from sluice.runtime.tasks.checkpoint import NodeCheckpointer, state_dir
from sluice.runtime.tasks.window_sql import (
    ROW_COLUMN,
    feed_runs,
    plain_projection,
    projection,
    with_row_post,
    with_row_pre,
)
from sluice.runtime.tasks.windowed import WindowTaskSettings
from sluice.sql import compile_realtime_sql, open_connection
from sluice.sql.execution import run_sql
from sluice.windows import CheckpointError

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
    pre = run_sql(con, with_row_pre(plan.pre_sql), {query.relations["591_src"]: batch}, None)
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
    post = run_sql(con, with_row_post(plan.post_sql), {plan.agg_relation: agg}, None)
    expected = run_sql(con, plan.post_sql, {plan.agg_relation: agg}, None)
    assert post.drop_columns([ROW_COLUMN]).equals(expected)
    # The carried index names the __agg rows each output row came from.
    picked = agg.take(post[ROW_COLUMN]).drop_columns([ROW_COLUMN])
    assert run_sql(con, plan.post_sql, {plan.agg_relation: picked}, None).equals(expected)
    con.close()
    query.close()


@pytest.mark.parametrize(
    ("sql", "plain"),
    [
        ("select service, count(*) as c, max(latency) as m from 591_src group by service", True),
        ("select service, sig, avg(latency) as a from 591_src group by service, sig", True),
        ("select service, count(*) as c from 591_src where latency > 3 group by service", False),
        ("select service, sum(latency * 2) as w from 591_src group by service", False),
        ("select s, count(*) as c from 591_src, lateral table("
         "udf_single_signature_format_java(sig)) as T(s) group by s", False),
    ],
)  # fmt: skip
def test_plain_projection_is_what_duckdb_returns(sql: str, plain: bool) -> None:
    query = compile_realtime_sql(sql, SCHEMA)
    plan = query.aggregate
    assert plan is not None
    relation = query.relations["591_src"]
    pre_sql = with_row_pre(plan.pre_sql)
    pairs = projection(pre_sql, relation)
    assert (pairs is not None) == plain
    batch = pa.table({
        "service": ["a", None, "a", "c"], "latency": pa.array([1, 5, None, 9], pa.int64()),
        "sig": ["x", "y", None, "z"], "dtEventTimeStamp": pa.array([10, 20, 30, 40], pa.int64()),
        ROW_COLUMN: pa.array([7, 8, 9, 10], pa.int64()),
    })  # fmt: skip
    if pairs is not None:
        con = open_connection()
        selected = plain_projection(batch, pairs)
        assert selected is not None
        assert selected.equals(run_sql(con, pre_sql, {relation: batch}, None))
        assert plain_projection(batch.drop_columns(["sig"]), pairs) is None or "sig" not in sql
        con.close()
    query.close()


def test_feed_runs_restore_partition_order() -> None:
    # input records 0..5 from partitions 3, 1, 3, 1, 1, 3 (feed order: 3 first, then 1)
    ranks = pa.array([0, 1, 0, 1, 1, 0], pa.int32())
    pre = pa.table({ROW_COLUMN: pa.array([5, 1, 0, 4, 2], pa.int64()), "v": [50, 10, 0, 40, 20]})
    fed, runs = feed_runs(pre, [3, 1], ranks)
    assert runs == [(3, 3), (1, 2)]
    assert fed[ROW_COLUMN].to_pylist() == [0, 2, 5, 1, 4]
    assert fed["v"].to_pylist() == [0, 20, 50, 10, 40]
    in_order = pa.table({ROW_COLUMN: pa.array([0, 2, 3], pa.int64())})
    assert feed_runs(in_order, [3, 1], ranks) == (in_order, [(3, 2), (1, 1)])
    assert feed_runs(in_order, [3], None) == (in_order, [(3, 3)])


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
