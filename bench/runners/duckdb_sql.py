"""Reference tool: DuckDB SQL over the input file (the in-Python ceiling), W1, W2 and W3.

The query reads the file with ``read_json``/``read_csv`` and writes the answer with
``COPY ... (FORMAT json)``; columns are declared so that ``ts`` stays the string it was.
"""

from __future__ import annotations

import time

import duckdb

from bench.runners._common import WINDOW_MS, emit, parse_args

__all__: list[str] = []

_EVENTS = (
    "read_json('{path}', format='newline_delimited', columns={{ts: 'VARCHAR', "
    "ts_ms: 'BIGINT', host: 'VARCHAR', service: 'VARCHAR', level: 'VARCHAR', "
    "status: 'INTEGER', latency_ms: 'DOUBLE'}})"
)
_W2_FIELDS = (
    "clientip", "ident", "auth", "timestamp", "verb", "request", "httpversion", "response",
    "bytes", "referrer", "agent",
)  # fmt: skip
_W2_RE = (
    r'^(\S+) (\S+) (\S+) \[([^\]]+)\] "(\S+) (\S+) HTTP/([^"]+)" (\d+) (\d+) "([^"]*)" '
    r'"([^"]*)"$'
)


def _query(workload: str, path: str) -> str:
    if workload == "w1":
        return (
            "SELECT ts, host, service, level, status, latency_ms * 1000 AS latency_us "
            f"FROM {_EVENTS.format(path=path)} "
            "WHERE level IN ('WARN', 'ERROR') OR status >= 500"
        )
    if workload == "w3":
        return (
            f"SELECT ts_ms // {WINDOW_MS} * {WINDOW_MS} AS window_start, service, level, "
            "count(*) AS count, avg(latency_ms) AS avg_latency_ms, "
            f"max(latency_ms) AS max_latency_ms FROM {_EVENTS.format(path=path)} "
            "GROUP BY ALL"
        )
    names = ", ".join(f"'{f}'" for f in _W2_FIELDS)
    cols = ", ".join(
        f"CAST(g.{f} AS BIGINT) AS {f}" if f in ("response", "bytes") else f"g.{f} AS {f}"
        for f in _W2_FIELDS
    )
    return (
        f"SELECT {cols} FROM (SELECT regexp_extract(line, '{_W2_RE}', [{names}]) AS g "
        f"FROM read_csv('{path}', columns={{line: 'VARCHAR'}}, delim='\\x01', quote='', "
        "escape='', header=false))"
    )


def main() -> None:
    args = parse_args("DuckDB runner", ("w1", "w2", "w3"))
    start = time.perf_counter()
    con = duckdb.connect()
    n = con.execute(
        "SELECT count(*) FROM read_csv(?, columns={line: 'VARCHAR'}, delim='\\x01', "
        "quote='', escape='', header=false)",
        [args.input],
    ).fetchone()
    count_seconds = time.perf_counter() - start
    start = time.perf_counter()
    con.execute(f"COPY ({_query(args.workload, args.input)}) TO '{args.output}' (FORMAT json)")
    seconds = time.perf_counter() - start
    emit({"events": int(n[0]) if n else 0, "seconds": seconds, "count_seconds": count_seconds})


if __name__ == "__main__":
    main()
