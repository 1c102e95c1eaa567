"""``--demo``: the demo flow runs on its own, and a restart reuses it."""

from __future__ import annotations

from pathlib import Path

from conftest import fast_settings, wait_until
from sluice.runtime.build import build_components
from sluice.runtime.demo import DEMO_FLOW


def test_demo_flow_moves_records_and_is_reused_after_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = build_components(data_dir, None, settings=fast_settings(data_dir), demo=True)
    try:
        assert first.demo is not None and first.demo.flow_id is not None
        flow_id = first.demo.flow_id
        tables = first.manager.tables
        wait_until(
            lambda: len(tables.tail("100_demo_weblog_clean", 5)["records"]) == 5,
            what="cleaned demo records",
        )
        wait_until(
            lambda: any((data_dir / "hdfs" / "demo").rglob("*.parquet")), what="Parquet files"
        )
        wait_until(lambda: len(tables.tail("101_demo_weblog_region", 1)["records"]) == 1)
        clean = tables.tail("100_demo_weblog_clean", 50)["records"]
        assert all(not r["value"]["path"].startswith("/healthz") for r in clean)
        assert {r["value"]["level"] for r in clean} <= {"ok", "warn", "error"}
        queue = first.bus.describe_topic("queue_100_demo_weblog_clean")
        assert sum(p.latest for p in queue.partitions) > 0
    finally:
        first.close()
    second = build_components(data_dir, None, settings=fast_settings(data_dir), demo=True)
    try:
        assert second.demo is not None and second.demo.flow_id == flow_id
        flows = second.store.list_flows({}, {})
        assert [f["flow_id"] for f in flows if f["flow_name"] == DEMO_FLOW] == [flow_id]
        assert second.store.get_flow(flow_id, {})["status"] == "running"
    finally:
        second.close()
