"""Log template mining: Drain over Arrow batches (the ``model_ts_custom`` node's model).

See ``docs/mining.md``. :class:`TemplateMiner` is built from a :class:`DrainConfig`;
:func:`config_from_args` maps the log platform's clustering arguments onto one.
"""

from __future__ import annotations

from sluice.runtime.mining.config import (
    DEFAULT_DELIMITER,
    DEFAULT_VARIABLES,
    DrainConfig,
    Level,
    MaskRule,
    MinerConfigError,
    config_from_args,
    parse_variables,
    predict_args,
)
from sluice.runtime.mining.drain import WILDCARD, Cluster, DrainTree, SnapshotError, TooManyClusters
from sluice.runtime.mining.miner import MinedBatch, TemplateMiner

__all__ = [
    "DEFAULT_DELIMITER",
    "DEFAULT_VARIABLES",
    "WILDCARD",
    "Cluster",
    "DrainConfig",
    "DrainTree",
    "Level",
    "MaskRule",
    "MinedBatch",
    "MinerConfigError",
    "SnapshotError",
    "TemplateMiner",
    "TooManyClusters",
    "config_from_args",
    "parse_variables",
    "predict_args",
]
