"""Drain (He et al., ICWS 2017): online log template mining with a fixed-depth parse tree.

One :class:`DrainTree` clusters token sequences at one similarity threshold ``st``:

- the first tree layer is keyed by the number of tokens, the next ``depth - 2`` layers by
  the leading tokens; a token holding a digit, or a new token under a node that already has
  ``max_child`` children (the wildcard child counts), goes to the wildcard child ``#*#``;
- a leaf holds clusters; a line joins the most similar cluster of its leaf when the
  similarity (positions where the template has the line's token or a wildcard, over the
  length) reaches ``st``, ties going to the template with fewer wildcards, then the older;
  positions where the line differs become wildcards;
- otherwise the line opens a new cluster, placed by the insert rules above.

Counting wildcard positions as matches makes similarity monotonic: a cluster's template
still matches every line that joined it after it generalises. A line searches the leaf where
a cluster created from its tokens would sit, so no two clusters of a level are ever created
from the same tokens. A cluster's ``signature`` is therefore a stable hash of the tokens it
was created with (and the level name): it stays the same while the template generalises,
and distinct clusters of a level never share it.

:meth:`DrainTree.snapshot` / :meth:`DrainTree.restore` carry the clusters and the exact tree
shape as JSON-ready data (the tree's routing depends on insertion history, so it is stored,
not rebuilt). Batching and masking live in :mod:`sluice.runtime.mining.miner`.
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = ["WILDCARD", "Cluster", "DrainTree", "SnapshotError", "TooManyClusters"]

WILDCARD = "#*#"
"""A template position that varies between the cluster's lines."""


class SnapshotError(ValueError):
    """A miner snapshot is corrupt, of another format, or of another configuration."""


class TooManyClusters(RuntimeError):
    """A level reached ``max_clusters``; the masks or ``st`` fit the logs badly."""


def signature_of(level: str, tokens: list[str]) -> str:
    """Stable 64-bit hex signature of a level's template (BLAKE2b of its tokens)."""
    text = "\x1f".join([level, *tokens])
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


class Cluster:
    """A log template: its tokens (``#*#`` where lines differ), the separators and the
    tokens as shown (case kept) of its first line, how many lines joined it and its stable
    signature."""

    __slots__ = ("gaps", "id", "shown", "signature", "size", "tokens", "wildcards")

    def __init__(
        self,
        cluster_id: int,
        tokens: list[str],
        gaps: list[str],
        signature: str,
        size: int = 1,
        shown: list[str] | None = None,
    ) -> None:
        self.id = cluster_id
        self.tokens = tokens
        self.gaps = gaps
        self.shown = list(tokens) if shown is None else shown
        self.signature = signature
        self.size = size
        self.wildcards = tokens.count(WILDCARD)

    def pattern(self) -> str:
        """The template as text: the first line's tokens (``#*#`` where lines differ) with
        its separators around them."""
        parts = [self.gaps[0]]
        for token, shown, gap in zip(self.tokens, self.shown, self.gaps[1:], strict=True):
            parts.append(WILDCARD if token == WILDCARD else shown)
            parts.append(gap)
        return "".join(parts)


class _Node:
    """A tree node; leaves hold clusters, plus an exact index of their templates.

    While no template of the leaf has a wildcard (``wild`` false), a line whose length allows
    no mismatch at ``st`` (``(n - 1) / n < st``: every line of up to 7 tokens at 0.875) can
    only join a cluster whose template equals it, so ``exact`` answers in one lookup what
    the scan over the leaf would; a leaf of thousands of clusters stays cheap.
    """

    __slots__ = ("children", "exact", "leaf", "wild")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.leaf: list[Cluster] = []
        self.exact: dict[tuple[str, ...], Cluster] = {}
        self.wild = False

    def hold(self, cluster: Cluster) -> None:
        """Add ``cluster`` to this leaf and its index."""
        self.leaf.append(cluster)
        self.exact.setdefault(tuple(cluster.tokens), cluster)
        self.wild = self.wild or cluster.wildcards > 0


def _has_digit(token: str) -> bool:
    return any(c.isdigit() for c in token)


class DrainTree:
    """One similarity level: the parse tree and its clusters (ids are 0, 1, 2, ...).

    Args:
        level: the level's name (part of every signature).
        st: similarity threshold in (0, 1].
        depth: tree depth (>= 3): the length layer plus ``depth - 2`` token layers.
        max_child: most children of an inner node, the wildcard child included.
        max_clusters: bound on clusters; :meth:`add` raises :class:`TooManyClusters` beyond.
    """

    def __init__(
        self, level: str, st: float, depth: int, max_child: int, max_clusters: int
    ) -> None:
        self.level = level
        self.st = st
        self.prefix = depth - 2
        self.max_child = max_child
        self.max_clusters = max_clusters
        self.clusters: list[Cluster] = []
        self._root: dict[int, _Node] = {}

    def add(
        self, tokens: list[str], gaps: list[str], count: int = 1, shown: list[str] | None = None
    ) -> tuple[Cluster, bool]:
        """Cluster one tokenised line seen ``count`` times; returns ``(cluster, created)``.

        ``tokens`` are compared (case-folded by the caller when the miner is
        case-insensitive); ``shown`` are the same tokens as the line had them (default:
        ``tokens``), used by :meth:`Cluster.pattern` of a cluster the line creates.

        Raises:
            TooManyClusters: the line needs a new cluster and the level is full.
        """
        node, found = self._match(tokens)
        if node is not None and found is not None:
            found.size += count
            template = found.tokens
            if template != tokens:
                changed = False
                for i, token in enumerate(tokens):
                    if template[i] != token and template[i] != WILDCARD:
                        template[i] = WILDCARD
                        changed = True
                if changed:
                    found.wildcards = template.count(WILDCARD)
                    node.wild = True
            return found, False
        if len(self.clusters) >= self.max_clusters:
            raise TooManyClusters(
                f"level {self.level} reached {self.max_clusters} clusters; the logs vary "
                "more than the masks and similarity threshold allow"
            )
        cluster = Cluster(
            len(self.clusters),
            list(tokens),
            list(gaps),
            signature_of(self.level, tokens),
            count,
            list(tokens if shown is None else shown),
        )
        self.clusters.append(cluster)
        self._insert_leaf(tokens).hold(cluster)
        return cluster, True

    def _match(self, tokens: list[str]) -> tuple[_Node | None, Cluster | None]:
        """The leaf of ``tokens`` and the cluster they join there (``None`` when none)."""
        node = self._root.get(len(tokens))
        if node is None:
            return None, None
        for token in tokens[: self.prefix]:
            child = node.children.get(token)
            if child is None:
                child = node.children.get(WILDCARD)
                if child is None:
                    return None, None
            node = child
        n = len(tokens)
        if not node.wild and (n == 0 or (n - 1) / n < self.st):
            return node, node.exact.get(tuple(tokens))
        best: Cluster | None = None
        best_key = (-1.0, 0)
        for cluster in node.leaf:
            same = 0
            for a, b in zip(cluster.tokens, tokens, strict=True):
                if a in (b, WILDCARD):
                    same += 1
            sim = same / n if n else 1.0
            key = (sim, -cluster.wildcards)
            if sim >= self.st and key > best_key:
                best, best_key = cluster, key
        return node, best

    def _insert_leaf(self, tokens: list[str]) -> _Node:
        node = self._root.get(len(tokens))
        if node is None:
            node = self._root[len(tokens)] = _Node()
        for token in tokens[: self.prefix]:
            child = node.children.get(token)
            if child is None:
                key = token
                if _has_digit(token) or len(node.children) + 1 >= self.max_child:
                    key = WILDCARD
                child = node.children.get(key)
                if child is None:
                    child = node.children[key] = _Node()
            node = child
        return node

    # -- state -------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The clusters and the tree as JSON-ready data."""
        return {
            "level": self.level,
            "clusters": [[c.signature, c.size, c.tokens, c.gaps, c.shown] for c in self.clusters],
            "tree": {str(n): _dump(node) for n, node in self._root.items()},
        }

    def restore(self, data: Any) -> None:
        """Replace the state with a :meth:`snapshot` of a tree of the same level.

        Raises:
            SnapshotError: ``data`` is not such a snapshot.
        """
        try:
            if data["level"] != self.level:
                raise SnapshotError(f"snapshot of level {data['level']!r}, not {self.level!r}")
            clusters = []
            for i, (sig, size, tokens, gaps, shown) in enumerate(data["clusters"]):
                if (
                    len(gaps) != len(tokens) + 1
                    or len(shown) != len(tokens)
                    or not all(isinstance(t, str) for t in [*tokens, *gaps, *shown])
                ):
                    raise SnapshotError(f"cluster {i} has a malformed template")
                clusters.append(
                    Cluster(i, list(tokens), list(gaps), str(sig), int(size), list(shown))
                )
            root = {int(n): _load(node, clusters) for n, node in data["tree"].items()}
        except SnapshotError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise SnapshotError(f"malformed snapshot of level {self.level}: {exc!r}") from exc
        self.clusters = clusters
        self._root = root


def _dump(node: _Node) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if node.children:
        out["c"] = {token: _dump(child) for token, child in node.children.items()}
    if node.leaf:
        out["l"] = [c.id for c in node.leaf]
    return out


def _load(data: dict[str, Any], clusters: list[Cluster]) -> _Node:
    node = _Node()
    for token, child in (data.get("c") or {}).items():
        node.children[str(token)] = _load(child, clusters)
    for i in data.get("l") or []:
        if not 0 <= int(i) < len(clusters):
            raise SnapshotError(f"the tree names cluster {i}, which the snapshot lacks")
        node.hold(clusters[int(i)])
    return node
