"""Reference tool: Polars over the input file (lazy scan, vectorised), W1, W2 and W3.

Runs in the cache virtualenv ``.bench-cache/venv-polars`` (never the main one).
"""

from __future__ import annotations

import time

import polars as pl

from bench.runners._common import WINDOW_MS, emit, parse_args

__all__: list[str] = []

_SCHEMA = {
    "ts": pl.String,
    "ts_ms": pl.Int64,
    "host": pl.String,
    "service": pl.String,
    "level": pl.String,
    "status": pl.Int64,
    "latency_ms": pl.Float64,
}
_W2_RE = (
    r"^(?P<clientip>\S+) (?P<ident>\S+) (?P<auth>\S+) \[(?P<timestamp>[^\]]+)\] "
    r'"(?P<verb>\S+) (?P<request>\S+) HTTP/(?P<httpversion>[^"]+)" (?P<response>\d+) '
    r'(?P<bytes>\d+) "(?P<referrer>[^"]*)" "(?P<agent>[^"]*)"$'
)


def _frame(workload: str, path: str) -> pl.LazyFrame:
    if workload == "w2":
        lines = pl.scan_csv(
            path,
            has_header=False,
            separator="\x01",
            quote_char=None,
            new_columns=["line"],
            schema_overrides={"line": pl.String},
        )
        return (
            lines.select(pl.col("line").str.extract_groups(_W2_RE).alias("g"))
            .unnest("g")
            .with_columns(pl.col("response").cast(pl.Int64), pl.col("bytes").cast(pl.Int64))
        )
    events = pl.scan_ndjson(path, schema=_SCHEMA)
    if workload == "w1":
        return events.filter(
            pl.col("level").is_in(["WARN", "ERROR"]) | (pl.col("status") >= 500)
        ).select(
            "ts", "host", "service", "level", "status",
            (pl.col("latency_ms") * 1000).alias("latency_us"),
        )  # fmt: skip
    return events.group_by(
        (pl.col("ts_ms") // WINDOW_MS * WINDOW_MS).alias("window_start"), "service", "level"
    ).agg(
        pl.len().alias("count"),
        pl.col("latency_ms").mean().alias("avg_latency_ms"),
        pl.col("latency_ms").max().alias("max_latency_ms"),
    )


def main() -> None:
    args = parse_args("Polars runner", ("w1", "w2", "w3"))
    start = time.perf_counter()
    with open(args.input, "rb") as fh:
        n = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b""))
    count_seconds = time.perf_counter() - start
    start = time.perf_counter()
    _frame(args.workload, args.input).sink_ndjson(args.output)
    seconds = time.perf_counter() - start
    emit({"events": n, "seconds": seconds, "count_seconds": count_seconds})


if __name__ == "__main__":
    main()
