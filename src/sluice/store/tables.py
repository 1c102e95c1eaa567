"""SQLAlchemy models of the metadata store (BKData's ``dataflow_*`` tables and Sluice's own).

Schema changes go through Alembic migrations in ``store/migrations``; never edit a table
here without adding a migration.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Base",
    "DeployRecord",
    "Flow",
    "FlowLink",
    "FlowNode",
    "NodeRelation",
    "ResultTable",
    "ResultTableField",
    "StorageCluster",
    "VersionLog",
]


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


class Base(DeclarativeBase):
    """Declarative base of every store table."""


class Flow(Base):
    """``dataflow_info``: one flow; soft-deleted through ``active``."""

    __tablename__ = "dataflow_info"

    flow_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flow_name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[int] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(32), default="no-start")
    is_locked: Mapped[int] = mapped_column(Integer, default=0)
    latest_version: Mapped[str | None] = mapped_column(String(255), nullable=True)
    custom_calculate_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    bk_app_code: Mapped[str] = mapped_column(String(255), default="dataweb")
    tdw_conf: Mapped[str] = mapped_column(Text, default="{}")
    created_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    locked_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    locked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    locked_description: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=_now, onupdate=_now)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)


class FlowNode(Base):
    """``dataflow_node_info``: one node; hard-deleted with its links and relations."""

    __tablename__ = "dataflow_node_info"

    node_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flow_id: Mapped[int] = mapped_column(ForeignKey("dataflow_info.flow_id"), index=True)
    node_name: Mapped[str] = mapped_column(String(255))
    node_config: Mapped[str] = mapped_column(Text)
    node_type: Mapped[str] = mapped_column(String(255))
    frontend_info: Mapped[str] = mapped_column(Text, default="{}")
    status: Mapped[str] = mapped_column(String(32), default="no-start")
    latest_version: Mapped[str | None] = mapped_column(String(255), nullable=True)
    running_version: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    updated_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=_now, onupdate=_now)
    description: Mapped[str] = mapped_column(Text, default="")


class FlowLink(Base):
    """``dataflow_link_info``: a directed link; ``frontend_info`` is the UI anchor JSON."""

    __tablename__ = "dataflow_link_info"
    __table_args__ = (UniqueConstraint("from_node_id", "to_node_id", name="uq_link_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flow_id: Mapped[int] = mapped_column(ForeignKey("dataflow_info.flow_id"), index=True)
    from_node_id: Mapped[int] = mapped_column(ForeignKey("dataflow_node_info.node_id"), index=True)
    to_node_id: Mapped[int] = mapped_column(ForeignKey("dataflow_node_info.node_id"), index=True)
    frontend_info: Mapped[str] = mapped_column(Text, default="{}")


class NodeRelation(Base):
    """``dataflow_node_relation``: which result tables a node reads or produces."""

    __tablename__ = "dataflow_node_relation"
    __table_args__ = (Index("ix_node_relation_rt_type", "result_table_id", "node_type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bk_biz_id: Mapped[int] = mapped_column(BigInteger)
    project_id: Mapped[int] = mapped_column(BigInteger)
    flow_id: Mapped[int] = mapped_column(Integer, index=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("dataflow_node_info.node_id"), index=True)
    result_table_id: Mapped[str] = mapped_column(String(255), index=True)
    node_type: Mapped[str] = mapped_column(String(255))
    generate_type: Mapped[str] = mapped_column(String(32), default="user")
    is_head: Mapped[bool] = mapped_column(Boolean, default=False)


class ResultTable(Base):
    """A result table: a named, typed stream ``{bk_biz_id}_{table_name}``."""

    __tablename__ = "sluice_result_table"

    result_table_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    bk_biz_id: Mapped[int] = mapped_column(BigInteger, index=True)
    table_name: Mapped[str] = mapped_column(String(255))
    alias: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    processing_type: Mapped[str] = mapped_column(String(32), default="clean")
    generate_type: Mapped[str] = mapped_column(String(32), default="user")
    created_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=_now, onupdate=_now)


class ResultTableField(Base):
    """One field of a result table's schema, in order."""

    __tablename__ = "sluice_result_table_field"
    __table_args__ = (UniqueConstraint("result_table_id", "field_name", name="uq_rt_field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    result_table_id: Mapped[str] = mapped_column(
        ForeignKey("sluice_result_table.result_table_id", ondelete="CASCADE"), index=True
    )
    field_index: Mapped[int] = mapped_column(Integer)
    field_name: Mapped[str] = mapped_column(String(255))
    field_type: Mapped[str] = mapped_column(String(32))
    field_alias: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")


class DeployRecord(Base):
    """``dataflow_execute_log``: one start, stop or restart and its bilingual log."""

    __tablename__ = "dataflow_execute_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flow_id: Mapped[int] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), default="pending")
    logs_zh: Mapped[str] = mapped_column(Text, default="")
    logs_en: Mapped[str] = mapped_column(Text, default="")
    start_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    end_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    context: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    description: Mapped[str] = mapped_column(Text, default="")


class VersionLog(Base):
    """``dataflow_version_log``: one row per flow version."""

    __tablename__ = "dataflow_version_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flow_id: Mapped[int] = mapped_column(Integer, index=True)
    flow_version: Mapped[str] = mapped_column(String(255))
    version_ids: Mapped[str] = mapped_column(Text, default="{}")
    created_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)


class StorageCluster(Base):
    """``storage_clusters``: a storage cluster name and the DSN it stands for (per type)."""

    __tablename__ = "storage_clusters"
    __table_args__ = (UniqueConstraint("cluster_type", "cluster_name", name="uq_cluster"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cluster_type: Mapped[str] = mapped_column(String(32))
    cluster_name: Mapped[str] = mapped_column(String(255))
    dsn: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=_now)
    updated_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=_now, onupdate=_now)
