"""Reference tool: drain3's ``TemplateMiner`` over the ``message`` field (W4).

Runs in the cache virtualenv ``.bench-cache/venv-drain3``. Configuration: drain3's
defaults (depth 4, similarity 0.4) plus the usual IP / hex-sequence / number masks, the
"3 regex masks" setting of the published drain3 anchor. Writes one cluster id per input
line, in input order; prints ``templates`` (clusters found) and ``templates_per_s``.
"""

from __future__ import annotations

import json
import time

from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

from bench.runners._common import emit, parse_args

__all__: list[str] = []

_B, _E = r"((?<=[^A-Za-z0-9])|^)", r"((?=[^A-Za-z0-9])|$)"
MASKS = (
    (_B + r"(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})" + _E, "IP"),
    (_B + r"([0-9a-f]{6,} ?){3,}" + _E, "SEQ"),
    (_B + r"(0x[a-f0-9A-F]+)" + _E, "HEX"),
    (_B + r"([\-\+]?\d+)" + _E, "NUM"),
)


def main() -> None:
    args = parse_args("drain3 runner", ("w4",))
    config = TemplateMinerConfig()
    config.masking_instructions = [MaskingInstruction(p, name) for p, name in MASKS]
    config.profiling_enabled = False
    miner = TemplateMiner(config=config)
    with open(args.input, "rb") as fh:
        messages = [json.loads(line)["message"] for line in fh]
    start = time.perf_counter()
    add = miner.add_log_message
    ids = [add(msg)["cluster_id"] for msg in messages]
    seconds = time.perf_counter() - start
    with open(args.output, "w", encoding="utf-8") as out:
        out.write("\n".join(map(str, ids)) + "\n")
    emit({
        "events": len(messages), "seconds": seconds, "templates": len(miner.drain.clusters),
        "templates_per_s": len(messages) / seconds if seconds else 0.0,
    })  # fmt: skip


if __name__ == "__main__":
    main()
