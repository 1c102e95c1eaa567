"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dataflow_execute_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("flow_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("logs_zh", sa.Text(), nullable=False),
        sa.Column("logs_en", sa.Text(), nullable=False),
        sa.Column("start_time", sa.DateTime(), nullable=True),
        sa.Column("end_time", sa.DateTime(), nullable=True),
        sa.Column("context", sa.Text(), nullable=True),
        sa.Column("version", sa.String(length=255), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dataflow_execute_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dataflow_execute_log_flow_id"), ["flow_id"], unique=False
        )

    op.create_table(
        "dataflow_info",
        sa.Column("flow_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("flow_name", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("is_locked", sa.Integer(), nullable=False),
        sa.Column("latest_version", sa.String(length=255), nullable=True),
        sa.Column("custom_calculate_id", sa.String(length=255), nullable=True),
        sa.Column("bk_app_code", sa.String(length=255), nullable=False),
        sa.Column("tdw_conf", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("locked_by", sa.String(length=255), nullable=True),
        sa.Column("locked_at", sa.DateTime(), nullable=True),
        sa.Column("locked_description", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.String(length=128), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("flow_id"),
    )
    with op.batch_alter_table("dataflow_info", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dataflow_info_active"), ["active"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_dataflow_info_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "dataflow_version_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("flow_id", sa.Integer(), nullable=False),
        sa.Column("flow_version", sa.String(length=255), nullable=False),
        sa.Column("version_ids", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dataflow_version_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dataflow_version_log_flow_id"), ["flow_id"], unique=False
        )

    op.create_table(
        "sluice_result_table",
        sa.Column("result_table_id", sa.String(length=255), nullable=False),
        sa.Column("bk_biz_id", sa.BigInteger(), nullable=False),
        sa.Column("table_name", sa.String(length=255), nullable=False),
        sa.Column("alias", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("processing_type", sa.String(length=32), nullable=False),
        sa.Column("generate_type", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("result_table_id"),
    )
    with op.batch_alter_table("sluice_result_table", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sluice_result_table_bk_biz_id"), ["bk_biz_id"], unique=False
        )

    op.create_table(
        "dataflow_node_info",
        sa.Column("node_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("flow_id", sa.Integer(), nullable=False),
        sa.Column("node_name", sa.String(length=255), nullable=False),
        sa.Column("node_config", sa.Text(), nullable=False),
        sa.Column("node_type", sa.String(length=255), nullable=False),
        sa.Column("frontend_info", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("latest_version", sa.String(length=255), nullable=True),
        sa.Column("running_version", sa.String(length=255), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["flow_id"],
            ["dataflow_info.flow_id"],
        ),
        sa.PrimaryKeyConstraint("node_id"),
    )
    with op.batch_alter_table("dataflow_node_info", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dataflow_node_info_flow_id"), ["flow_id"], unique=False
        )

    op.create_table(
        "sluice_result_table_field",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("result_table_id", sa.String(length=255), nullable=False),
        sa.Column("field_index", sa.Integer(), nullable=False),
        sa.Column("field_name", sa.String(length=255), nullable=False),
        sa.Column("field_type", sa.String(length=32), nullable=False),
        sa.Column("field_alias", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["result_table_id"], ["sluice_result_table.result_table_id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("result_table_id", "field_name", name="uq_rt_field"),
    )
    with op.batch_alter_table("sluice_result_table_field", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sluice_result_table_field_result_table_id"),
            ["result_table_id"],
            unique=False,
        )

    op.create_table(
        "dataflow_link_info",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("flow_id", sa.Integer(), nullable=False),
        sa.Column("from_node_id", sa.Integer(), nullable=False),
        sa.Column("to_node_id", sa.Integer(), nullable=False),
        sa.Column("frontend_info", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["flow_id"],
            ["dataflow_info.flow_id"],
        ),
        sa.ForeignKeyConstraint(
            ["from_node_id"],
            ["dataflow_node_info.node_id"],
        ),
        sa.ForeignKeyConstraint(
            ["to_node_id"],
            ["dataflow_node_info.node_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("from_node_id", "to_node_id", name="uq_link_pair"),
    )
    with op.batch_alter_table("dataflow_link_info", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dataflow_link_info_flow_id"), ["flow_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dataflow_link_info_from_node_id"), ["from_node_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dataflow_link_info_to_node_id"), ["to_node_id"], unique=False
        )

    op.create_table(
        "dataflow_node_relation",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bk_biz_id", sa.BigInteger(), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("flow_id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("result_table_id", sa.String(length=255), nullable=False),
        sa.Column("node_type", sa.String(length=255), nullable=False),
        sa.Column("generate_type", sa.String(length=32), nullable=False),
        sa.Column("is_head", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["node_id"],
            ["dataflow_node_info.node_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dataflow_node_relation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dataflow_node_relation_flow_id"), ["flow_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dataflow_node_relation_node_id"), ["node_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dataflow_node_relation_result_table_id"),
            ["result_table_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("dataflow_node_relation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataflow_node_relation_result_table_id"))
        batch_op.drop_index(batch_op.f("ix_dataflow_node_relation_node_id"))
        batch_op.drop_index(batch_op.f("ix_dataflow_node_relation_flow_id"))

    op.drop_table("dataflow_node_relation")
    with op.batch_alter_table("dataflow_link_info", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataflow_link_info_to_node_id"))
        batch_op.drop_index(batch_op.f("ix_dataflow_link_info_from_node_id"))
        batch_op.drop_index(batch_op.f("ix_dataflow_link_info_flow_id"))

    op.drop_table("dataflow_link_info")
    with op.batch_alter_table("sluice_result_table_field", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sluice_result_table_field_result_table_id"))

    op.drop_table("sluice_result_table_field")
    with op.batch_alter_table("dataflow_node_info", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataflow_node_info_flow_id"))

    op.drop_table("dataflow_node_info")
    with op.batch_alter_table("sluice_result_table", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sluice_result_table_bk_biz_id"))

    op.drop_table("sluice_result_table")
    with op.batch_alter_table("dataflow_version_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataflow_version_log_flow_id"))

    op.drop_table("dataflow_version_log")
    with op.batch_alter_table("dataflow_info", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataflow_info_project_id"))
        batch_op.drop_index(batch_op.f("ix_dataflow_info_active"))

    op.drop_table("dataflow_info")
    with op.batch_alter_table("dataflow_execute_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataflow_execute_log_flow_id"))

    op.drop_table("dataflow_execute_log")
