"""Storage clusters: the connection a storage node's ``cluster`` name stands for.

Flows name clusters as BKData does (``"cluster": "default"``); the secrets live here, never in
node configs, API output or logs. A cluster is ``(cluster_type, cluster_name) -> DSN``:

| cluster_type | DSN |
| --- | --- |
| ``mysql``, ``tspider`` | ``mysql://user:password@host:3306/database`` |
| ``postgresql`` | ``postgresql://user:password@host:5432/database`` |
| ``redis``, ``tredis`` | ``redis://[:password@]host:6379/0`` (``rediss://`` for TLS) |
| ``es`` | ``http(s)://[user:password@]host:9200`` |
| ``clickhouse`` | ``http(s)://[user:password@]host:8123/database`` |

:class:`ClusterRegistry` resolves a name, first from the environment
(``SLUICE_CLUSTER_<TYPE>_<NAME>=<dsn>``, name upper-cased with every other character as
``_``), then from the clusters file (``SLUICE_CLUSTERS_FILE``: TOML or JSON,
``{"mysql": {"default": "mysql://..."}}``), then from a lookup function (the metadata store's
``storage_clusters`` table, managed through ``/v3/sluice/clusters/``). ``tspider`` falls back
to ``mysql`` clusters and ``tredis`` to ``redis`` ones, and the other way round.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from sluice.model.errors import Message, ParamsError

__all__ = [
    "CLUSTER_TYPES",
    "ClusterConnection",
    "ClusterNotFoundError",
    "ClusterRegistry",
    "Lookup",
    "env_key",
    "load_clusters_file",
    "mask_dsn",
    "parse_dsn",
]

CLUSTER_TYPES: dict[str, tuple[str, ...]] = {
    "mysql": ("mysql", "mysql+pymysql", "mariadb"),
    "tspider": ("mysql", "mysql+pymysql", "mariadb"),
    "postgresql": ("postgresql", "postgres", "postgresql+psycopg"),
    "redis": ("redis", "rediss"),
    "tredis": ("redis", "rediss"),
    "es": ("http", "https"),
    "clickhouse": ("http", "https"),
}
"""Cluster types Sluice can connect to, with the DSN schemes each accepts."""

_FAMILY = {"tspider": "mysql", "mysql": "tspider", "tredis": "redis", "redis": "tredis"}
_SECRET_PARAMS = frozenset({"password", "passwd", "pass", "token", "secret", "api_key"})
_MASK = "***"

Lookup = Callable[[str, str], str | None]
"""``lookup(cluster_type, cluster_name) -> dsn | None``, e.g. the store's cluster table."""


class ClusterNotFoundError(ParamsError):
    """No cluster of that type and name is configured (``1500001``)."""


@dataclass(frozen=True)
class ClusterConnection:
    """A parsed DSN. ``repr`` and :attr:`masked_dsn` never show the password."""

    cluster_type: str
    name: str
    dsn: str = field(repr=False)
    scheme: str
    host: str
    port: int | None
    user: str | None
    password: str | None = field(repr=False)
    database: str | None
    params: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def masked_dsn(self) -> str:
        """The DSN with its password (and secret query parameters) replaced by ``***``."""
        return mask_dsn(self.dsn)

    def http_base(self) -> str:
        """``scheme://host:port`` without credentials (HTTP-based stores)."""
        port = f":{self.port}" if self.port else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}{port}"


def mask_dsn(dsn: str) -> str:
    """Return ``dsn`` with the password and secret query parameters masked."""
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return _MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, hostport = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":" + _MASK
        netloc = f"{userinfo}@{hostport}"
    query = parts.query
    if query:
        pairs = [
            (k, _MASK if k.lower() in _SECRET_PARAMS else v)
            for k, v in parse_qsl(query, keep_blank_values=True)
        ]
        query = urlencode(pairs, safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def parse_dsn(cluster_type: str, name: str, dsn: str) -> ClusterConnection:
    """Parse and check ``dsn`` for a cluster of ``cluster_type``.

    Raises:
        ParamsError: an unknown cluster type, a scheme the type does not accept, no host or a
            bad port; the message shows the DSN masked.
    """
    schemes = CLUSTER_TYPES.get(cluster_type)
    if schemes is None:
        known = ", ".join(CLUSTER_TYPES)
        raise ParamsError(
            Message(
                f"不支持的存储集群类型 {cluster_type}，可用类型：{known}",
                f"Unsupported cluster type {cluster_type!r}; known types: {known}",
            ),
            {"cluster_type": [f"Choose one of: {known}."]},
        )
    masked = mask_dsn(dsn)
    try:
        parts = urlsplit(dsn)
        port = parts.port
    except ValueError as exc:
        raise _bad_dsn(masked, str(exc)) from None
    if parts.scheme not in schemes:
        raise _bad_dsn(masked, f"a {cluster_type} DSN starts with {' or '.join(schemes)}://")
    if not parts.hostname:
        raise _bad_dsn(masked, "the DSN names no host")
    database = unquote(parts.path.lstrip("/")) or None
    return ClusterConnection(
        cluster_type=cluster_type,
        name=name,
        dsn=dsn,
        scheme=parts.scheme.split("+", 1)[0],
        host=parts.hostname,
        port=port,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        database=database,
        params=dict(parse_qsl(parts.query)),
    )


def _bad_dsn(masked: str, why: str) -> ParamsError:
    return ParamsError(
        Message(f"存储集群DSN不合法（{masked}）：{why}", f"Invalid cluster DSN {masked}: {why}"),
        {"dsn": [why]},
    )


def env_key(cluster_type: str, name: str) -> str:
    """The environment variable that may hold a cluster's DSN."""
    return "SLUICE_CLUSTER_" + re.sub(r"[^A-Z0-9]", "_", f"{cluster_type}_{name}".upper())


class ClusterRegistry:
    """Resolves ``(cluster_type, name)`` to a :class:`ClusterConnection`.

    ``static`` holds operator-configured clusters (``{type: {name: dsn}}``, e.g. the clusters
    file); ``environ`` the process environment; ``lookup`` the dynamic registry (store).
    """

    def __init__(
        self,
        static: Mapping[str, Mapping[str, str]] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        lookup: Lookup | None = None,
    ) -> None:
        self.static = {t: dict(names) for t, names in (static or {}).items()}
        self.environ = dict(os.environ if environ is None else environ)
        self.lookup = lookup

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, lookup: Lookup | None = None
    ) -> ClusterRegistry:
        """A registry over the environment and the clusters file it names, if any.

        Raises:
            ParamsError: the clusters file cannot be read or is not ``{type: {name: dsn}}``.
        """
        env = dict(os.environ if environ is None else environ)
        path = env.get("SLUICE_CLUSTERS_FILE")
        static = load_clusters_file(Path(path)) if path else {}
        return cls(static, environ=env, lookup=lookup)

    def static_entries(self) -> list[tuple[str, str, str, str]]:
        """Operator-configured clusters as ``(type, name, dsn, source)``; source is
        ``"file"`` or ``"env"``. Environment entries need a known type prefix."""
        out = [(t, n, dsn, "file") for t, names in self.static.items() for n, dsn in names.items()]
        for key, dsn in self.environ.items():
            if not key.startswith("SLUICE_CLUSTER_") or key == "SLUICE_CLUSTERS_FILE":
                continue
            rest = key[len("SLUICE_CLUSTER_") :].lower()
            for ctype in sorted(CLUSTER_TYPES, key=len, reverse=True):
                if rest.startswith(ctype + "_"):
                    out.append((ctype, rest[len(ctype) + 1 :], dsn, "env"))
                    break
        return out

    def resolve(self, cluster_type: str, name: str) -> ClusterConnection:
        """The connection of cluster ``name`` for a node of ``cluster_type``.

        Raises:
            ClusterNotFoundError: nowhere configured; the message says where it was looked up.
            ParamsError: the configured DSN is invalid.
        """
        for ctype in (cluster_type, _FAMILY.get(cluster_type)):
            if ctype is None:
                continue
            dsn = self._find(ctype, name)
            if dsn is not None:
                return parse_dsn(cluster_type, name, dsn)
        where = f"{env_key(cluster_type, name)}, the clusters file, /v3/sluice/clusters/"
        raise ClusterNotFoundError(
            Message(
                f"存储集群 {cluster_type}/{name} 未配置（查找位置：{where}）",
                f"Storage cluster {cluster_type}/{name} is not configured (looked in {where})",
            ),
            {"cluster": [f"No {cluster_type} cluster named {name!r}."]},
        )

    def _find(self, cluster_type: str, name: str) -> str | None:
        dsn = self.environ.get(env_key(cluster_type, name))
        if dsn:
            return dsn
        dsn = self.static.get(cluster_type, {}).get(name)
        if dsn:
            return dsn
        return self.lookup(cluster_type, name) if self.lookup is not None else None


def load_clusters_file(path: Path) -> dict[str, dict[str, str]]:
    """Read a clusters file (``.toml`` or ``.json``): ``{cluster_type: {name: dsn}}``.

    Raises:
        ParamsError: unreadable, not that shape, or an invalid DSN (reported masked).
    """
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise ParamsError(f"The clusters file {path} cannot be read: {exc}") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"The clusters file {path} must map cluster types to {{name: dsn}}.")
    out: dict[str, dict[str, str]] = {}
    for ctype, names in raw.items():
        if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
            raise ParamsError(f"In the clusters file {path}, {ctype} must map names to DSNs.")
        for name, dsn in names.items():
            parse_dsn(ctype, name, dsn)
        out[ctype] = {str(k): str(v) for k, v in names.items()}
    return out
