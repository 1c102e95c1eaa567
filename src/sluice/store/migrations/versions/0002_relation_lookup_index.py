"""Index node relations by (result_table_id, node_type) for table lookups.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dataflow_node_relation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_node_relation_rt_type", ["result_table_id", "node_type"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dataflow_node_relation", schema=None) as batch_op:
        batch_op.drop_index("ix_node_relation_rt_type")
