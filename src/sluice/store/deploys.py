"""Deploy records (BKData's ``dataflow_execute_log``): one per start, stop or restart.

Each log line is ``LEVEL|YYYY-mm-dd HH:MM:SS|message|progress`` in both languages; a ``|``
inside a message is stored as ``\\x01``. The API reads records back with ``logs`` parsed into
``{level, time, message, progress}``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sluice.model.errors import Message
from sluice.store.common import fmt_dt, now
from sluice.store.db import Database
from sluice.store.tables import DeployRecord

__all__ = [
    "DEPLOY_TIMEOUT",
    "VISIBLE_STATUSES",
    "append_log",
    "create_record",
    "expire_if_stale",
    "latest_record",
    "list_records",
    "parse_logs",
    "record_dict",
    "set_progress",
]

DEPLOY_TIMEOUT = timedelta(minutes=60)
VISIBLE_STATUSES = ("success", "failure", "running", "pending", "terminated", "finished")


def create_record(
    session: Session,
    *,
    flow_id: int,
    action: str,
    context: dict[str, Any],
    version: str | None,
    user: str | None,
) -> DeployRecord:
    """Create a ``pending`` record and return it (its ``id`` is the task id)."""
    record = DeployRecord(
        flow_id=flow_id,
        action=action,
        status="pending",
        context=json.dumps(context),
        version=version,
        created_by=user,
    )
    session.add(record)
    session.flush()
    return record


def _line(level: str, text: str, progress: float | None) -> str:
    clean = text.replace("|", "\x01").replace("\n", " ")
    shown = "" if progress is None else f"{progress:.1f}"
    return f"{level}|{now():%Y-%m-%d %H:%M:%S}|{clean}|{shown}"


def append_log(
    db: Database, record_id: int, level: str, message: Message, progress: float | None = None
) -> None:
    """Append one log line in both languages, and move the record's progress if given."""
    with db.session() as session:
        record = session.get(DeployRecord, record_id)
        if record is None:
            return
        record.logs_zh = (record.logs_zh + "\n" if record.logs_zh else "") + _line(
            level, message.zh, progress
        )
        record.logs_en = (record.logs_en + "\n" if record.logs_en else "") + _line(
            level, message.en, progress
        )
        if progress is not None:
            context = json.loads(record.context or "{}")
            context["progress"] = round(progress, 1)
            record.context = json.dumps(context)


def set_progress(db: Database, record_id: int, status: str) -> None:
    """Move the record to ``status`` (``running`` sets ``start_time``; ends set ``end_time``)."""
    with db.session() as session:
        record = session.get(DeployRecord, record_id)
        if record is None:
            return
        record.status = status
        if status == "running":
            record.start_time = now()
        if status in ("success", "failure", "terminated"):
            record.end_time = now()


def parse_logs(text: str) -> list[dict[str, Any]]:
    """Stored log text -> ``[{level, time, message, progress}]``."""
    logs = []
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) < 4:
            continue
        level, time, message, progress = parts[0], parts[1], "|".join(parts[2:-1]), parts[-1]
        logs.append(
            {
                "level": level,
                "time": time,
                "message": message.replace("\x01", "|"),
                "progress": progress or None,
            }
        )
    return logs


def record_dict(
    record: DeployRecord, lang: str, *, with_progress: bool, with_created_at: bool
) -> dict[str, Any]:
    """A record as the API returns it."""
    data: dict[str, Any] = {
        "id": record.id,
        "flow_id": record.flow_id,
        "action": record.action,
        "status": record.status,
        "logs_zh": record.logs_zh,
        "logs_en": record.logs_en,
        "start_time": _raw_dt(record.start_time),
        "end_time": _raw_dt(record.end_time),
        "context": record.context,
        "version": record.version,
        "created_by": record.created_by,
        "description": record.description,
        "logs": parse_logs(record.logs_en if lang.lower().startswith("en") else record.logs_zh),
    }
    if with_created_at:
        data["created_at"] = fmt_dt(record.created_at)
    if with_progress:
        progress = json.loads(record.context or "{}").get("progress")
        data["progress"] = None if progress is None else f"{float(progress):.1f}"
    return data


def _raw_dt(value: Any) -> str | None:
    return value.isoformat(sep=" ") if value is not None else None


def latest_record(session: Session, flow_id: int) -> DeployRecord | None:
    """The newest record in a visible status, or ``None``."""
    return session.scalars(
        select(DeployRecord)
        .where(DeployRecord.flow_id == flow_id, DeployRecord.status.in_(VISIBLE_STATUSES))
        .order_by(DeployRecord.id.desc())
    ).first()


def list_records(session: Session, flow_id: int) -> list[DeployRecord]:
    """Every record of the flow, newest first."""
    return list(
        session.scalars(
            select(DeployRecord)
            .where(DeployRecord.flow_id == flow_id)
            .order_by(DeployRecord.id.desc())
        )
    )


def expire_if_stale(record: DeployRecord) -> bool:
    """Whether ``record`` has been running past :data:`DEPLOY_TIMEOUT` (the 60-minute rule)."""
    return (
        record.action != "custom_calculate"
        and record.status == "running"
        and record.start_time is not None
        and record.end_time is None
        and now() - record.start_time > DEPLOY_TIMEOUT
    )
