"""Consumer groups for the in-process backends (memory and embedded).

:class:`GroupCoordinator` plays the part of Kafka's group coordinator inside one process:
members join and leave, a member that stops polling for ``session_timeout_ms`` is expired,
and every membership change starts a new generation whose assignment the strategy
(:mod:`sluice.bus.assignor`) computes from the current partition counts. Committed offsets
go through an :class:`OffsetStore` (a dict for memory, JSON files for embedded).

Membership is per process: machines coordinate through Kafka (see ``docs/bus.md``).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sluice.bus.assignor import STRATEGIES, assign
from sluice.bus.base import GroupMember
from sluice.bus.errors import GroupError
from sluice.bus.types import GroupInfo, MemberInfo, TopicPartition

__all__ = ["FileOffsetStore", "GroupCoordinator", "LocalGroupMember", "OffsetStore"]

_SAFE = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._-]{0,199}")


class OffsetStore:
    """Committed offsets per group, kept in memory; subclasses persist them."""

    def __init__(self) -> None:
        self._offsets: dict[str, dict[TopicPartition, int]] = {}

    def groups(self) -> list[str]:
        """Groups with at least one committed offset."""
        return sorted(self._offsets)

    def get(self, group: str) -> dict[TopicPartition, int]:
        """A copy of the group's committed offsets."""
        return dict(self._offsets.get(group, {}))

    def put(self, group: str, offsets: Mapping[TopicPartition, int]) -> None:
        """Merge ``offsets`` into the group's committed offsets."""
        self._offsets.setdefault(group, {}).update(offsets)

    def drop_topic(self, topic: str) -> None:
        """Forget offsets of a deleted topic."""
        for group in list(self._offsets):
            kept = {tp: o for tp, o in self._offsets[group].items() if tp.topic != topic}
            if kept != self._offsets[group]:
                self._offsets[group] = {}
                self.put(group, kept)


class FileOffsetStore(OffsetStore):
    """Committed offsets in ``<dir>/<group>.json``, replaced atomically on every commit.

    With ``fsync=True`` the file and directory are fsynced before ``put`` returns.
    """

    def __init__(self, directory: Path, fsync: bool, read_only: bool = False) -> None:
        super().__init__()
        self._dir = directory
        self._fsync = fsync
        if not read_only:
            directory.mkdir(parents=True, exist_ok=True)
        self.reload()

    def reload(self) -> None:
        """Read every group file again (a read-only follower sees the writer's commits)."""
        offsets: dict[str, dict[TopicPartition, int]] = {}
        for path in sorted(self._dir.glob("*.json")) if self._dir.is_dir() else []:
            try:
                raw = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # replaced while we read it; the next reload sees the new file
            offsets[raw["group"]] = {
                TopicPartition(o["topic"], o["partition"]): o["offset"] for o in raw["offsets"]
            }
        self._offsets = offsets

    def put(self, group: str, offsets: Mapping[TopicPartition, int]) -> None:
        super().put(group, offsets)
        doc = {
            "group": group,
            "offsets": [
                {"topic": tp.topic, "partition": tp.partition, "offset": o}
                for tp, o in sorted(self._offsets[group].items())
            ],
        }
        name = group if _SAFE.fullmatch(group) else "hex-" + group.encode().hex()
        path = self._dir / f"{name}.json"
        tmp = path.with_suffix(f".tmp{threading.get_ident()}")
        with open(tmp, "w") as f:
            json.dump(doc, f)
            if self._fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
        if self._fsync:
            fd = os.open(self._dir, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


@dataclass
class _Member:
    member_id: str
    client_id: str
    topics: tuple[str, ...]
    deadline: float
    session_s: float


@dataclass
class _Group:
    strategy: str = ""
    generation: int = 0
    members: dict[str, _Member] = field(default_factory=dict)


class GroupCoordinator:
    """Membership, generations and assignments of the groups of one local bus.

    Args:
        offsets: where committed offsets live.
        partitions_of: partition count of a topic (0 when it does not exist).
    """

    def __init__(self, offsets: OffsetStore, partitions_of: Callable[[str], int]) -> None:
        self.offsets = offsets
        self._partitions_of = partitions_of
        self._groups: dict[str, _Group] = {}
        self._cond = threading.Condition()
        self._ids = itertools.count(1)

    def _expire(self, group: str, g: _Group) -> None:
        now = time.monotonic()
        dead = [m for m, mem in g.members.items() if mem.deadline < now]
        for member_id in dead:
            del g.members[member_id]
        if dead:
            self._bump(g)

    def _bump(self, g: _Group) -> None:
        g.generation += 1
        if not g.members:
            g.strategy = ""
        self._cond.notify_all()

    def join(
        self,
        group: str,
        topics: Sequence[str],
        strategy: str,
        session_timeout_ms: int,
        client_id: str,
    ) -> str:
        """Add a member and start a new generation; returns the member id."""
        if strategy not in STRATEGIES:
            raise GroupError(
                f"Unknown assignment strategy {strategy!r}; known: {', '.join(STRATEGIES)}."
            )
        with self._cond:
            g = self._groups.setdefault(group, _Group())
            self._expire(group, g)
            if g.members and g.strategy != strategy:
                raise GroupError(
                    f"Group {group!r} uses the {g.strategy!r} strategy; a member asking for "
                    f"{strategy!r} cannot join it."
                )
            g.strategy = strategy
            member_id = f"{client_id or 'sluice'}-{next(self._ids)}-{uuid.uuid4().hex[:8]}"
            session = session_timeout_ms / 1000
            g.members[member_id] = _Member(
                member_id, client_id, tuple(topics), time.monotonic() + session, session
            )
            self._bump(g)
            return member_id

    def leave(self, group: str, member_id: str) -> None:
        """Remove a member (no error if it is already gone) and rebalance."""
        with self._cond:
            g = self._groups.get(group)
            if g is not None and g.members.pop(member_id, None) is not None:
                self._bump(g)

    def _assignment(self, g: _Group) -> dict[str, list[TopicPartition]]:
        subs = {m: mem.topics for m, mem in g.members.items()}
        topics = {t for ts in subs.values() for t in ts}
        return assign(g.strategy, subs, {t: self._partitions_of(t) for t in topics})

    def poll(
        self, group: str, member_id: str, generation: int, timeout_ms: int
    ) -> tuple[int, list[TopicPartition]]:
        """Heartbeat; wait up to ``timeout_ms`` for a generation newer than ``generation``.

        Returns the current generation and this member's partitions. ``GroupError`` if the
        member was expired (it must join again).
        """
        deadline = time.monotonic() + timeout_ms / 1000
        with self._cond:
            while True:
                g = self._groups.get(group)
                mem = None if g is None else g.members.get(member_id)
                if g is None or mem is None:
                    raise GroupError(
                        f"Member {member_id!r} is no longer in group {group!r} (it left or its "
                        "session timed out); join the group again."
                    )
                mem.deadline = time.monotonic() + mem.session_s
                self._expire(group, g)
                remaining = deadline - time.monotonic()
                if g.generation != generation or remaining <= 0:
                    return g.generation, self._assignment(g).get(member_id, [])
                self._cond.wait(min(remaining, mem.session_s / 3))

    def list_groups(self) -> list[str]:
        """Groups that ever had members in this process, or have committed offsets."""
        with self._cond:
            live = set(self._groups)
            return sorted(live | set(self.offsets.groups()))

    def describe(self, group: str, latest: Callable[[TopicPartition], int | None]) -> GroupInfo:
        """The group as Kafka's DescribeGroups plus committed offsets and lag."""
        with self._cond:
            g = self._groups.get(group, _Group())
            self._expire(group, g)
            assignment = self._assignment(g) if g.members else {}
            members = tuple(
                MemberInfo(m, mem.client_id, "localhost", tuple(assignment.get(m, [])))
                for m, mem in sorted(g.members.items())
            )
            offsets = self.offsets.get(group)
        if not members and not offsets and group not in self.list_groups():
            return GroupInfo(group=group, state="Dead")
        lag: dict[TopicPartition, int] = {}
        for tp, off in offsets.items():
            end = latest(tp)
            if end is not None:
                lag[tp] = max(end - off, 0)
        return GroupInfo(
            group=group,
            state="Stable" if members else "Empty",
            protocol=g.strategy,
            generation=g.generation,
            members=members,
            offsets=offsets,
            lag=lag,
        )


class LocalGroupMember(GroupMember):
    """A :class:`GroupMember` of a :class:`GroupCoordinator` (memory and embedded buses)."""

    def __init__(self, coordinator: GroupCoordinator, group: str, member_id: str) -> None:
        self._coordinator = coordinator
        self.group = group
        self.member_id = member_id
        self._generation = -1
        self._left = False

    @property
    def generation(self) -> int:
        return self._generation

    def poll(self, timeout_ms: int = 0) -> list[TopicPartition]:
        if self._left:
            raise GroupError(f"Member {self.member_id!r} already left group {self.group!r}.")
        self._generation, parts = self._coordinator.poll(
            self.group, self.member_id, self._generation, timeout_ms
        )
        return parts

    def leave(self) -> None:
        if not self._left:
            self._left = True
            self._coordinator.leave(self.group, self.member_id)
