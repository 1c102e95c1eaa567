"""Flow locks: a conditional UPDATE, so two processes can never both hold one.

A node write or a deploy takes the lock in its own short transaction, does its work, and
releases it in ``finally``; anyone finding the flow locked gets ``1500006``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import update

from sluice.model.errors import FlowLockError, Message
from sluice.store.common import get_flow, now
from sluice.store.db import Database
from sluice.store.tables import Flow

__all__ = [
    "LOCK_CREATE_NODE",
    "LOCK_DELETE_NODE",
    "LOCK_DEPLOY",
    "LOCK_UPDATE_NODE",
    "acquire",
    "flow_lock",
    "release",
]

LOCK_CREATE_NODE = "创建节点中"
LOCK_UPDATE_NODE = "更新节点中"
LOCK_DELETE_NODE = "删除节点中"
LOCK_DEPLOY = "启停任务中"

_EN = {
    LOCK_CREATE_NODE: "creating a node",
    LOCK_UPDATE_NODE: "updating a node",
    LOCK_DELETE_NODE: "deleting a node",
    LOCK_DEPLOY: "starting or stopping the flow",
}


def lock_error(flow: Flow) -> FlowLockError:
    """The ``1500006`` error for a flow someone else holds."""
    who = flow.locked_by or ""
    what = flow.locked_description or ""
    return FlowLockError(
        Message(
            f"{who} {what}，已被锁定，不可操作，请稍候重试",
            f"{who} {_EN.get(what, what)}, the flow is locked, please try again later",
        )
    )


def acquire(db: Database, flow_id: int, user: str | None, description: str) -> None:
    """Lock flow ``flow_id``; raises ``1500006`` when already locked, ``1500404`` if absent."""
    with db.session() as session:
        flow = get_flow(session, flow_id)
        result = session.execute(
            update(Flow)
            .where(Flow.flow_id == flow_id, Flow.is_locked == 0)
            .values(is_locked=1, locked_by=user, locked_at=now(), locked_description=description)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            session.refresh(flow)
            raise lock_error(flow)


def release(db: Database, flow_id: int) -> None:
    """Unlock flow ``flow_id`` (idempotent)."""
    with db.session() as session:
        session.execute(
            update(Flow)
            .where(Flow.flow_id == flow_id)
            .values(is_locked=0, locked_by=None, locked_at=None, locked_description=None)
        )


@contextmanager
def flow_lock(db: Database, flow_id: int, user: str | None, description: str) -> Iterator[None]:
    """Hold the flow's lock for the ``with`` block."""
    acquire(db, flow_id, user, description)
    try:
        yield
    finally:
        release(db, flow_id)
