"""Migrations: a store from an older version upgrades in place and keeps its data."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from sluice.store.db import Database


def test_older_database_upgrades_in_place(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    db.migrate("0001")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO dataflow_info (flow_name, project_id, status, is_locked, bk_app_code, tdw_conf, created_at, updated_at, description, active) "
                "VALUES ('kept', 1, 'no-start', 0, 'dataweb', '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '', 1)"
            )
        )
    assert "ix_node_relation_rt_type" not in {
        i["name"] for i in inspect(db.engine).get_indexes("dataflow_node_relation")
    }
    db.migrate()
    assert "ix_node_relation_rt_type" in {
        i["name"] for i in inspect(db.engine).get_indexes("dataflow_node_relation")
    }
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT flow_name FROM dataflow_info")).scalar_one() == "kept"
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0003"
    db.migrate()  # running again on a current database changes nothing
    db.dispose()
