"""The batch template miner: Drain at one or more sensitivity levels over Arrow batches.

:meth:`TemplateMiner.mine` takes a whole batch of messages. The masking and deduplication
are Arrow kernels (:mod:`sluice.runtime.mining.masking`); the tree walk
(:mod:`sluice.runtime.mining.drain`) runs once per *distinct* masked line and level, in order
of first appearance; results go back to the rows with Arrow ``take``. Identical masked lines
of one batch therefore share the cluster chosen at their first appearance (sequential Drain
decides each copy anew: a line in between can add a tree child on the copy's path or a
closer cluster to its leaf, though the cluster first chosen would still match the copy).

Example::

    miner = TemplateMiner(DrainConfig())
    mined = miner.mine(pa.array(["user 7 logged in", "user 9 logged in"]))
    mined.patterns().to_pylist()   # ['user #NUMBER# logged in', 'user #NUMBER# logged in']
    state = miner.snapshot()       # bytes; TemplateMiner(DrainConfig()).restore(state)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from sluice.runtime.mining.config import DrainConfig
from sluice.runtime.mining.drain import Cluster, DrainTree, SnapshotError
from sluice.runtime.mining.masking import Masker, Tokenizer

__all__ = ["MinedBatch", "TemplateMiner"]

_FORMAT = "sluice-drain/1"


@dataclass(frozen=True, slots=True)
class MinedBatch:
    """What :meth:`TemplateMiner.mine` found, per distinct masked line, with the row map.

    ``clusters[level][d]`` is the cluster of distinct line ``d`` at that level (templates as
    of the end of the batch); ``created[d]`` tells whether the line opened a cluster at some
    level; ``indices[row]`` is the row's distinct line.
    """

    levels: tuple[str, ...]
    clusters: list[list[Cluster]]
    created: list[bool]
    indices: pa.Array

    @property
    def rows(self) -> int:
        """Messages in the batch."""
        return len(self.indices)

    @property
    def distinct(self) -> int:
        """Distinct masked lines in the batch (tree walks per level)."""
        return len(self.created)

    def cluster_ids(self, level: int = 0) -> pa.Array:
        """The cluster id (int64, per level numbering from 0) of every row."""
        ids = pa.array([c.id for c in self.clusters[level]], pa.int64())
        return ids.take(self.indices)

    def patterns(self, level: int = 0) -> pa.Array:
        """The template text of every row's cluster at ``level``."""
        return pa.array([c.pattern() for c in self.clusters[level]], pa.string()).take(self.indices)

    def signatures(self) -> pa.Array:
        """Every row's ``log_signature``: JSON ``{level: signature}`` over all levels."""
        per_line = [
            orjson.dumps(
                {name: self.clusters[i][d].signature for i, name in enumerate(self.levels)}
            ).decode()
            for d in range(self.distinct)
        ]
        return pa.array(per_line, pa.string()).take(self.indices)

    def is_new(self) -> pa.Array:
        """1 (int32) on the first row of each line that opened a cluster, else 0."""
        n = self.rows
        if not any(self.created):
            return pa.repeat(pa.scalar(0, pa.int32()), n)
        rows = pa.array(range(n), pa.int64())
        firsts = pa.table({"d": self.indices, "r": rows}).group_by("d").aggregate([("r", "min")])
        first_of = [0] * self.distinct
        for d, r in zip(firsts["d"].to_pylist(), firsts["r_min"].to_pylist(), strict=True):
            first_of[d] = r
        first = pa.array(first_of, pa.int64()).take(self.indices)
        created = pa.array(self.created, pa.bool_()).take(self.indices)
        return pc.cast(pc.and_(created, pc.equal(rows, first)), pa.int32())


def _counts(indices: pa.Array, distinct: int) -> list[int]:
    """Rows per distinct line (``indices`` values are ``0 .. distinct - 1``)."""
    counts = [0] * distinct
    if distinct:
        found = pc.value_counts(indices)
        for d, n in zip(
            found.field("values").to_pylist(), found.field("counts").to_pylist(), strict=True
        ):
            counts[d] = n
    return counts


class TemplateMiner:
    """Drain over batches of messages at every level of ``config``.

    Raises:
        MinerConfigError: from the constructor, for a bad mask or delimiter.
    """

    def __init__(self, config: DrainConfig) -> None:
        self.config = config
        self.masker = Masker(config.variables, config.case_sensitive, config.max_log_length)
        self.tokenizer = Tokenizer(config.delimiter)
        self.trees = [self._tree(level.name, level.st) for level in config.levels]
        self.lines = 0

    def _tree(self, name: str, st: float) -> DrainTree:
        c = self.config
        return DrainTree(name, st, c.depth, c.max_child, c.max_clusters)

    @property
    def levels(self) -> tuple[str, ...]:
        """The level names, in configuration order."""
        return tuple(tree.level for tree in self.trees)

    def cluster_count(self, level: int = 0) -> int:
        """Clusters found so far at ``level``."""
        return len(self.trees[level].clusters)

    def mine(self, messages: pa.Array | pa.ChunkedArray) -> MinedBatch:
        """Cluster a batch of non-null string messages, in order.

        Raises:
            ValueError: ``messages`` holds nulls or non-strings (nothing is clustered).
            TooManyClusters: a level is full (the lines before the failing one are kept).
        """
        prepared = self.masker.prepare(messages)
        split = self.tokenizer.split
        per_level: list[list[Cluster]] = [[] for _ in self.trees]
        created: list[bool] = []
        counts = _counts(prepared.indices, len(prepared.lines))
        fold = not self.config.case_sensitive
        for line, count in zip(prepared.lines, counts, strict=True):
            shown, gaps = split(line)
            tokens = [t.lower() for t in shown] if fold else shown
            opened = False
            for tree, found in zip(self.trees, per_level, strict=True):
                cluster, new = tree.add(tokens, gaps, count, shown)
                found.append(cluster)
                opened = opened or new
            created.append(opened)
        self.lines += len(prepared.indices)
        return MinedBatch(self.levels, per_level, created, prepared.indices)

    def templates(self, level: int = 0) -> list[tuple[str, int, str]]:
        """``(signature, size, pattern)`` of every cluster at ``level``, oldest first."""
        return [(c.signature, c.size, c.pattern()) for c in self.trees[level].clusters]

    def snapshot(self) -> bytes:
        """The whole state (every level's clusters and tree) as JSON bytes."""
        return orjson.dumps(
            {
                "format": _FORMAT,
                "config": self.config.fingerprint(),
                "lines": self.lines,
                "levels": [tree.snapshot() for tree in self.trees],
            }
        )

    def restore(self, state: bytes) -> None:
        """Replace the state with a :meth:`snapshot` taken by a miner of the same config.

        Raises:
            SnapshotError: the bytes are not such a snapshot (the state is left unchanged).
        """
        try:
            data: Any = orjson.loads(state)
        except orjson.JSONDecodeError as exc:
            raise SnapshotError(f"miner snapshot is not JSON: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise SnapshotError(f"not a {_FORMAT} snapshot")
        if data.get("config") != self.config.fingerprint():
            raise SnapshotError("the snapshot was taken with other clustering settings")
        levels = data.get("levels")
        if not isinstance(levels, list) or len(levels) != len(self.trees):
            raise SnapshotError("the snapshot's levels do not match the configuration")
        trees = [self._tree(t.level, t.st) for t in self.trees]
        for tree, level in zip(trees, levels, strict=True):
            tree.restore(level)
        self.trees = trees
        self.lines = int(data.get("lines") or 0)
