"""Settings of the Drain template miner, and how a ``model_ts_custom`` node's arguments map
onto them.

:class:`DrainConfig` is inert data (frozen pydantic, ``extra="forbid"``): the miner is built
from it, and its :meth:`~DrainConfig.fingerprint` is stored in checkpoints so a restored
state is only used by a miner configured the same way.

:func:`config_from_args` reads the log platform's training arguments (``st_list``,
``max_dist_list``, ``predefined_variables``, ``delimeter``, ``max_log_length``,
``is_case_sensitive``, ``depth``, ``max_child``; see
``reference/bklog-dataflow-client.md`` section 5) as they appear in a node's
``model_extra_config.predict_args``; arguments it does not name keep their defaults.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "DEFAULT_DELIMITER",
    "DEFAULT_VARIABLES",
    "HEX_REGEX",
    "DrainConfig",
    "Level",
    "MaskRule",
    "MinerConfigError",
    "config_from_args",
    "level_name",
    "parse_variables",
    "predict_args",
]

DEFAULT_DELIMITER = r"""->|--+|[\s"'`;,\[\]:()=|{}<>/\\!?^$.。：（，）【】！？]"""
"""The log platform's default separators (its ``DELIMETER``): whitespace, quotes, brackets,
punctuation (ASCII and CJK), ``--`` and ``->``. A run of separators splits two tokens."""

HEX_REGEX = r"\b(?:0[xX])?[0-9a-fA-F]{8,}\b"
"""A hex id: 8 or more hex digits, optionally ``0x``-prefixed. A run of 8 or more decimal
digits is one too: random hex ids are sometimes all decimal, and naming them differently
would split their template."""

DEFAULT_VARIABLES: tuple[tuple[str, str], ...] = (
    ("URL", r"[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s\"'<>]+"),
    (
        "DATETIME",
        r"\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+\-]\d{2}:?\d{2})?",
    ),
    ("DATE", r"\b\d{4}[\-/]\d{1,2}[\-/]\d{1,2}\b"),
    ("TIME", r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b"),
    ("UUID", r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
    ("IP-PORT", r"\b(?:\d{1,3}\.){3}\d{1,3}:\d{1,5}\b"),
    ("IP", r"\b(?:\d{1,3}\.){3}\d{1,3}\b"),
    ("PATH", r"(?:/[\w.\-]+){2,}/?"),
    ("HEX", HEX_REGEX),
    ("NUMBER", r"\b[0-9]+(?:\.[0-9]+)?"),
)
"""Default ``NAME: regex`` masks, applied in this order (the log platform's names plus
``HEX``; the expressions are Sluice's, RE2 syntax). ``NUMBER`` needs a word boundary only
before the digits, so ``350ms`` becomes ``#NUMBER#ms`` while ``md5`` stays a word. ``HEX``
catches request and trace ids: left unmasked, every line holding one is distinct, and at
``st`` 0.875 a short line with one such id never joins a cluster."""


class MinerConfigError(ValueError):
    """A miner setting is invalid (bad regex, inconsistent levels, unreadable argument)."""


class MaskRule(BaseModel):
    """One predefined variable: text matching ``regex`` becomes ``#name#``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        description="Variable name (letters, digits, _ - . *), shown as #name#.",
        pattern=r"^[A-Za-z0-9_\-.*]+$",
    )
    regex: str = Field(description="What the variable matches (RE2, else Python re syntax).")


class Level(BaseModel):
    """One sensitivity level: its name in ``log_signature`` and its similarity threshold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description='Key in log_signature, e.g. "05" for max_dist 0.5.')
    st: float = Field(gt=0.0, le=1.0, description="Drain similarity threshold of the level.")


class DrainConfig(BaseModel):
    """How the miner tokenises, masks and clusters. Defaults: the log platform's online
    clustering (``st`` 0.875 at level ``05``, depth 7, 100 children, 1000 characters,
    case-insensitive)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    levels: tuple[Level, ...] = Field(
        default=(Level(name="05", st=0.875),),
        min_length=1,
        description="Sensitivity levels; each has its own parse tree and clusters.",
    )
    depth: int = Field(
        default=7, ge=3, le=32, description="Parse-tree depth; depth - 2 leading tokens."
    )
    max_child: int = Field(
        default=100, ge=2, description="Most children of an inner tree node (wildcard included)."
    )
    delimiter: str = Field(default=DEFAULT_DELIMITER, description="Separator regex (Python re).")
    variables: tuple[MaskRule, ...] = Field(
        default=tuple(MaskRule(name=n, regex=r) for n, r in DEFAULT_VARIABLES),
        description="Masks applied in order before tokenising.",
    )
    max_log_length: int = Field(
        default=1000, ge=0, description="Characters kept per message (0: no limit)."
    )
    case_sensitive: bool = Field(
        default=False,
        description="When false, masks match and tokens compare case-insensitively "
        "(patterns keep the case of the line that created the cluster).",
    )
    max_clusters: int = Field(
        default=100_000, ge=1, description="Bound on clusters per level (memory, state size)."
    )

    @field_validator("levels")
    @classmethod
    def _distinct_levels(cls, levels: tuple[Level, ...]) -> tuple[Level, ...]:
        names = [level.name for level in levels]
        if len(set(names)) != len(names):
            raise ValueError(f"level names must be distinct, got {names}")
        return levels

    def fingerprint(self) -> str:
        """A stable digest of every setting (stored with snapshots and checkpoints)."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


def parse_variables(value: Any) -> tuple[MaskRule, ...]:
    """``predefined_variables`` as rules: a list of ``"NAME:regex"`` strings, its JSON text,
    or that JSON in base64 (how the log platform sends it).

    Raises:
        MinerConfigError: the value is none of these, or an entry has no ``NAME:``.
    """
    items = value
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith(("[", "{")):
            text = _unbase64(text, "predefined_variables")
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MinerConfigError(f"predefined_variables is not a JSON list: {exc}") from exc
    if not isinstance(items, list):
        raise MinerConfigError("predefined_variables must be a list of 'NAME:regex' strings")
    rules: list[MaskRule] = []
    for item in items:
        name, sep, regex = str(item).partition(":")
        if not sep or not name.strip() or not regex:
            raise MinerConfigError(f"predefined variable {item!r} is not 'NAME:regex'")
        try:
            rules.append(MaskRule(name=name.strip(), regex=regex))
        except ValidationError as exc:
            raise MinerConfigError(f"predefined variable {item!r}: bad name") from exc
    return tuple(rules)


def _unbase64(text: str, what: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise MinerConfigError(f"{what} is neither JSON nor base64 of it") from exc


def _delimiter(value: Any) -> str:
    """``delimeter``: base64 of a regex (the log platform's form) or the regex itself."""
    text = str(value)
    try:
        decoded = base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return text
    return decoded if decoded else text


def _floats(value: Any, what: str) -> list[float]:
    parts = value if isinstance(value, list) else str(value).split(",")
    try:
        return [float(p) for p in parts if str(p).strip()]
    except ValueError as exc:
        raise MinerConfigError(f"{what} must be comma-separated numbers, got {value!r}") from exc


def level_name(max_dist: float) -> str:
    """``0.5`` -> ``"05"``: the log platform's level key (``dist_05``, ``__dist_05``)."""
    return f"{round(max_dist * 10):02d}"


def _levels(st_value: Any, dist_value: Any) -> tuple[Level, ...]:
    sts = _floats(st_value, "st_list")
    dists = _floats(dist_value, "max_dist_list") if dist_value is not None else [0.5]
    if len(sts) != len(dists):
        raise MinerConfigError(
            f"st_list has {len(sts)} values but max_dist_list has {len(dists)}; "
            "each similarity threshold needs its level"
        )
    try:
        return tuple(Level(name=level_name(d), st=s) for s, d in zip(sts, dists, strict=True))
    except ValidationError as exc:
        raise MinerConfigError(f"bad st_list: {exc.errors()[0]['msg']}") from exc


def predict_args(model_extra_config: Mapping[str, Any] | None) -> dict[str, Any]:
    """``{field_name: value}`` of ``model_extra_config.predict_args`` (``value``, else
    ``default_value``); entries without a name or a value are skipped."""
    args: dict[str, Any] = {}
    entries = (model_extra_config or {}).get("predict_args") or []
    if not isinstance(entries, Sequence) or isinstance(entries, str):
        raise MinerConfigError("model_extra_config.predict_args must be a list")
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("field_name"), str):
            continue
        value = entry.get("value")
        if value is None or value == "":
            value = entry.get("default_value")
        if value is not None and value != "":
            args[entry["field_name"]] = value
    return args


def config_from_args(args: Mapping[str, Any]) -> DrainConfig:
    """A :class:`DrainConfig` from the log platform's training arguments.

    ``st_list`` and ``max_dist_list`` pair up into levels named by the distance (``0.5`` ->
    ``"05"``); only ``st`` steers the clustering, the distance names the level. Unnamed
    arguments (``min_members``, ``use_offline_model``, ``is_only_predict``) do not apply to
    online mining and are ignored.

    Raises:
        MinerConfigError: an argument cannot be read; the message names it.
    """
    data: dict[str, Any] = {}
    if "st_list" in args or "max_dist_list" in args:
        data["levels"] = _levels(args.get("st_list", "0.875"), args.get("max_dist_list"))
    if "predefined_variables" in args:
        data["variables"] = parse_variables(args["predefined_variables"])
    if "delimeter" in args or "delimiter" in args:
        data["delimiter"] = _delimiter(args.get("delimeter", args.get("delimiter")))
    for key, name in (("max_log_length", "max_log_length"), ("depth", "depth"),
                      ("max_child", "max_child")):  # fmt: skip
        if key in args:
            data[name] = args[key]
    if "is_case_sensitive" in args:
        data["case_sensitive"] = str(args["is_case_sensitive"]).strip().lower() in (
            "1", "true", "yes",
        )  # fmt: skip
    try:
        return DrainConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise MinerConfigError(f"invalid clustering arguments: {problems}") from exc
