"""Storage clusters kept in the metadata store: ``(cluster_type, cluster_name) -> DSN``.

:class:`ClusterStore` is the dynamic part of the cluster registry (the API's
``/v3/sluice/clusters/``); :meth:`ClusterStore.lookup` plugs into
``sluice.plugins.clusters.ClusterRegistry(lookup=...)``. DSNs hold secrets: :func:`cluster_dict`
returns them only with ``with_secret=True``; the API never asks for that.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sluice.model.errors import Message, NotFoundError, ParamsError
from sluice.store.common import fmt_dt, now
from sluice.store.db import Database
from sluice.store.tables import StorageCluster

__all__ = ["ClusterStore", "cluster_dict"]


def cluster_dict(row: StorageCluster, *, with_secret: bool = False) -> dict[str, Any]:
    """A cluster as a dict; ``dsn`` only when ``with_secret`` (mask it before showing)."""
    out: dict[str, Any] = {
        "cluster_type": row.cluster_type,
        "cluster_name": row.cluster_name,
        "description": row.description,
        "created_by": row.created_by,
        "created_at": fmt_dt(row.created_at),
        "updated_by": row.updated_by,
        "updated_at": fmt_dt(row.updated_at),
    }
    if with_secret:
        out["dsn"] = row.dsn
    return out


def _missing(cluster_type: str, name: str) -> NotFoundError:
    return NotFoundError(
        Message(
            f"存储集群 {cluster_type}/{name} 不存在",
            f"Storage cluster {cluster_type}/{name} does not exist",
        )
    )


class ClusterStore:
    """CRUD over the ``storage_clusters`` table. DSNs are stored as given (validate first)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def list_all(self, cluster_type: str | None = None) -> list[dict[str, Any]]:
        """Every cluster (of one type), with DSNs, ordered by type and name."""
        with self.db.session() as session:
            query = select(StorageCluster).order_by(
                StorageCluster.cluster_type, StorageCluster.cluster_name
            )
            if cluster_type:
                query = query.where(StorageCluster.cluster_type == cluster_type)
            return [cluster_dict(r, with_secret=True) for r in session.scalars(query)]

    def get(self, cluster_type: str, name: str) -> dict[str, Any]:
        """One cluster with its DSN; ``NotFoundError`` when absent."""
        with self.db.session() as session:
            row = self._row(session, cluster_type, name)
            if row is None:
                raise _missing(cluster_type, name)
            return cluster_dict(row, with_secret=True)

    def lookup(self, cluster_type: str, name: str) -> str | None:
        """The DSN of a cluster, or ``None`` (the registry's lookup function)."""
        with self.db.session() as session:
            row = self._row(session, cluster_type, name)
            return row.dsn if row is not None else None

    def create(
        self, cluster_type: str, name: str, dsn: str, description: str, user: str | None
    ) -> dict[str, Any]:
        """Add a cluster; ``ParamsError`` when the type already has one of that name."""
        try:
            with self.db.session() as session:
                row = StorageCluster(
                    cluster_type=cluster_type,
                    cluster_name=name,
                    dsn=dsn,
                    description=description,
                    created_by=user,
                    updated_by=user,
                )
                session.add(row)
                session.flush()
                return cluster_dict(row, with_secret=True)
        except IntegrityError:
            raise ParamsError(
                Message(
                    f"存储集群 {cluster_type}/{name} 已存在",
                    f"Storage cluster {cluster_type}/{name} already exists",
                ),
                {"cluster_name": ["A cluster of this type and name already exists."]},
            ) from None

    def update(
        self,
        cluster_type: str,
        name: str,
        *,
        dsn: str | None,
        description: str | None,
        user: str | None,
    ) -> dict[str, Any]:
        """Change a cluster's DSN and/or description; ``NotFoundError`` when absent."""
        with self.db.session() as session:
            row = self._row(session, cluster_type, name)
            if row is None:
                raise _missing(cluster_type, name)
            if dsn is not None:
                row.dsn = dsn
            if description is not None:
                row.description = description
            row.updated_by = user
            row.updated_at = now()
            session.flush()
            return cluster_dict(row, with_secret=True)

    def delete(self, cluster_type: str, name: str) -> None:
        """Remove a cluster; ``NotFoundError`` when absent."""
        with self.db.session() as session:
            row = self._row(session, cluster_type, name)
            if row is None:
                raise _missing(cluster_type, name)
            session.delete(row)

    @staticmethod
    def _row(session: Any, cluster_type: str, name: str) -> StorageCluster | None:
        row: StorageCluster | None = session.scalars(
            select(StorageCluster).where(
                StorageCluster.cluster_type == cluster_type,
                StorageCluster.cluster_name == name,
            )
        ).first()
        return row
