"""Reference answers for window tests: watermarks by a plain loop, windows and aggregates by DuckDB.

The engine under test assigns windows and aggregates with its own SQL kernels over Arrow
batches; this module recomputes the expected output over the *whole* input at once, from the
rules in ``docs/windows.md``: the watermark in force before every record (a direct loop over
the batches), the window pairs and their status (on time / late but accepted / rejected) and
the aggregates (DuckDB ``GROUP BY`` over all accepted pairs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from sluice.windows import AggSpec, WindowConfig, WindowOperator

__all__ = [
    "AGGS",
    "ARROW_AGGS",
    "SIMPLE_AGGS",
    "Batch",
    "Emitted",
    "collect",
    "expected_panes",
    "expected_sessions",
    "record_marks",
    "run_engine",
]

NEG = -(2**62)

Batch = tuple[int, list[tuple[int | None, str | None, int | None]]]
"""(partition, [(event time ms, key, value), ...])."""

AGGS = [
    AggSpec(func="count", alias="n_all"),
    AggSpec(func="count", column="v", alias="n_v"),
    AggSpec(func="sum", column="v", alias="s"),
    AggSpec(func="min", column="v", alias="lo"),
    AggSpec(func="max", column="v", alias="hi"),
    AggSpec(func="avg", column="v", alias="mean"),
    AggSpec(func="first", column="v", alias="fst"),
    AggSpec(func="last", column="v", alias="lst"),
    AggSpec(func="count_distinct", column="v", alias="nd"),
]
SIMPLE_AGGS = AGGS[:6]
"""count, sum, min, max, avg only: the operator computes these by Arrow hash aggregation."""
ARROW_AGGS = AGGS[:8]
"""Also first and last: Arrow pre-aggregation and results, SQL merges."""
_AGG_SQL = (
    "count(*) AS n_all, count(v) AS n_v, sum(v)::BIGINT AS s, min(v) AS lo, max(v) AS hi, "
    "avg(v) AS mean, arg_min(v, seq) FILTER (WHERE v IS NOT NULL) AS fst, "
    "arg_max(v, seq) FILTER (WHERE v IS NOT NULL) AS lst, count(DISTINCT v) AS nd"
)


@dataclass
class Emitted:
    """Everything the engine emitted over a run, keyed by (start ms, end ms, key)."""

    first: dict[tuple[int, int, str | None], dict[str, Any]]
    last: dict[tuple[int, int, str | None], dict[str, Any]]
    first_dupes: int
    late_values: list[tuple[int | None, str | None, int | None]]


def end_ms(text: str) -> int:
    stamp = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return int(stamp.timestamp() * 1000)


def _table(records: Sequence[tuple[int | None, str | None, int | None]]) -> pa.Table:
    return pa.table(
        {
            "dtEventTimeStamp": pa.array([r[0] for r in records], pa.int64()),
            "k": pa.array([r[1] for r in records], pa.string()),
            "v": pa.array([r[2] for r in records], pa.int64()),
        }
    )


def run_engine(
    config: WindowConfig,
    batches: Sequence[Batch],
    partitions: Sequence[int] = (0,),
    snapshot_every: int = 0,
    runs_per_call: int = 1,
    aggs: Sequence[AggSpec] = tuple(AGGS),
) -> Emitted:
    """Feed ``batches`` to a fresh operator (restoring from a snapshot every N calls)."""
    outputs = run_engine_outputs(config, batches, partitions, snapshot_every, runs_per_call, aggs)
    return collect(outputs)


def run_engine_outputs(
    config: WindowConfig,
    batches: Sequence[Batch],
    partitions: Sequence[int] = (0,),
    snapshot_every: int = 0,
    runs_per_call: int = 1,
    aggs: Sequence[AggSpec] = tuple(AGGS),
) -> list[Any]:
    """The WindowOutputs of a run, the flush last.

    With ``runs_per_call`` > 1, that many consecutive batches (of any partitions) go to one
    ``process_runs`` call, as the windowed node task feeds a micro-batch.
    """
    op = WindowOperator(config, ["k"], aggs)
    op.declare_partitions(list(partitions), now_ms=0)
    outputs = []
    step = max(1, runs_per_call)
    for i, start in enumerate(range(0, len(batches), step)):
        group = batches[start : start + step]
        if runs_per_call <= 1:
            partition, records = group[0]
            outputs.append(op.process(_table(records), partition, now_ms=0))
        else:
            tables = [_table(records) for _, records in group]
            runs = [(partition, len(records)) for partition, records in group]
            outputs.append(op.process_runs(pa.concat_tables(tables), runs, now_ms=0))
        if snapshot_every and (i + 1) % snapshot_every == 0:
            blob = op.snapshot()
            op.close()
            op = WindowOperator(config, ["k"], aggs)
            op.restore(blob)
    outputs.append(op.flush())
    op.close()
    return outputs


def collect(outputs: Sequence[Any]) -> Emitted:
    """Fold WindowOutputs into first and last emission per (window, key)."""
    first: dict[tuple[int, int, str | None], dict[str, Any]] = {}
    last: dict[tuple[int, int, str | None], dict[str, Any]] = {}
    dupes = 0
    late: list[tuple[int | None, str | None, int | None]] = []
    for out in outputs:
        for row in out.rows.to_pylist():
            key = (row["dtEventTimeStamp"], end_ms(row["_endTime_"]), row["k"])
            if key in first:
                dupes += 1
            first[key] = row
            last[key] = row
        for row in out.corrections.to_pylist():
            key = (row["dtEventTimeStamp"], end_ms(row["_endTime_"]), row["k"])
            last[key] = row
        for row in out.late.to_pylist():
            late.append((row["dtEventTimeStamp"], row["k"], row["v"]))
    return Emitted(first, last, dupes, late)


def record_marks(
    config: WindowConfig, batches: Sequence[Batch], partitions: Sequence[int]
) -> pa.Table:
    """One row per record: seq, t, k, v and the watermark in force just before it."""
    wait = config.waiting_time * 1000
    highs = dict.fromkeys(partitions, NEG)
    mark = NEG
    cols: dict[str, list[Any]] = {"seq": [], "t": [], "k": [], "v": [], "wm": []}
    seq = 0
    for partition, records in batches:
        highs.setdefault(partition, NEG)
        others = min([h for p, h in highs.items() if p != partition], default=2**62)
        own = highs[partition]
        for t, k, v in records:
            wm_i = max(mark, min(own, others) - wait)
            cols["seq"].append(seq)
            cols["t"].append(t)
            cols["k"].append(k)
            cols["v"].append(v)
            cols["wm"].append(wm_i)
            seq += 1
            if t is not None:
                own = max(own, t)
        highs[partition] = own
        low = min(highs.values())
        if low > NEG:
            mark = max(mark, low - wait)
    return pa.table(
        {
            "seq": pa.array(cols["seq"], pa.int64()),
            "t": pa.array(cols["t"], pa.int64()),
            "k": pa.array(cols["k"], pa.string()),
            "v": pa.array(cols["v"], pa.int64()),
            "wm": pa.array(cols["wm"], pa.int64()),
        }
    )


def _floor(expr: str, size: int) -> str:
    return f"(floor(({expr})::DOUBLE / {size})::BIGINT * {size})"


def expected_panes(
    config: WindowConfig, batches: Sequence[Batch], partitions: Sequence[int] = (0,)
) -> tuple[dict[Any, dict[str, Any]], dict[Any, dict[str, Any]], list[int]]:
    """(first emissions, final emissions, rejected seqs) for scroll, slide and accumulate."""
    recs = record_marks(config, batches, partitions)
    step = config.count_freq * 1000
    late = config.lateness_time * 3_600_000 if config.allowed_lateness else 0
    kind = config.window_type.value
    con = duckdb.connect()
    con.register("r", recs)
    if kind == "scroll":
        pairs = f"SELECT *, {_floor('t', step)} AS ws, {_floor('t', step)} + {step} AS we FROM r"
        pairs = f"SELECT *, we AS wend FROM ({pairs})"
    elif kind == "slide":
        size = config.window_time * 60_000
        pairs = (
            f"SELECT r.*, g.ws, g.ws + {size} AS we, g.ws + {size} AS wend FROM r, "
            f"LATERAL (SELECT unnest(generate_series({_floor('t', step)} - "
            f"{-(-size // step) * step}, "
            f"{_floor('t', step)}, {step})) AS ws) g WHERE g.ws <= t AND g.ws + {size} > t"
        )
    else:
        size = config.window_time * 60_000
        p = _floor("t", size)
        pe = f"least({p} + {_floor(f't - {p}', step)} + {step}, {p} + {size})"
        first_open = (
            f"CASE WHEN wm < {p} THEN {p} + {step} "
            f"ELSE least({p} + {_floor(f'wm - {p}', step)} + {step}, {p} + {size}) END"
        )
        pairs = (
            f"SELECT *, {p} AS ws, greatest({pe}, {first_open}) AS we, {p} + {size} AS wend "
            "FROM r WHERE t IS NOT NULL"
        )
    status = (
        f"SELECT *, CASE WHEN we > wm THEN 0 WHEN wend + {late} > wm THEN 1 ELSE 2 END AS st "
        f"FROM ({pairs}) WHERE t IS NOT NULL"
    )
    con.execute(f"CREATE TABLE pr AS {status}")
    rejected = [
        row[0]
        for row in con.execute(
            "SELECT seq FROM r WHERE t IS NULL UNION ALL "
            "SELECT seq FROM pr GROUP BY seq HAVING min(st) = 2 ORDER BY 1"
        ).fetchall()
    ]
    if kind == "accumulate":
        size = config.window_time * 60_000
        con.execute(
            "CREATE TABLE steps AS SELECT DISTINCT ws, least(ws + s, ws + "
            f"{size}) AS e FROM (SELECT DISTINCT ws FROM pr), "
            f"LATERAL (SELECT unnest(generate_series({step}, {size} + {step} - 1, {step})) AS s)"
        )
        first_sql = (
            f"SELECT s.ws, s.e AS we, k, {_AGG_SQL} FROM pr JOIN steps s ON pr.ws = s.ws "
            "AND pr.we <= s.e WHERE st = 0 GROUP BY ALL"
        )
        final_sql = (
            f"SELECT s.ws, s.e AS we, k, {_AGG_SQL} FROM pr JOIN steps s ON pr.ws = s.ws "
            f"AND ((st = 0 AND pr.we <= s.e) OR (st = 1 AND s.e = s.ws + {size})) "
            "WHERE st < 2 GROUP BY ALL"
        )
    else:
        first_sql = f"SELECT ws, we, k, {_AGG_SQL} FROM pr WHERE st = 0 GROUP BY ALL"
        final_sql = f"SELECT ws, we, k, {_AGG_SQL} FROM pr WHERE st < 2 GROUP BY ALL"
    first = _keyed(con.sql(first_sql).to_arrow_table())
    final = _keyed(con.sql(final_sql).to_arrow_table())
    con.close()
    return first, final, rejected


def _keyed(table: pa.Table) -> dict[Any, dict[str, Any]]:
    return {(r["ws"], r["we"], r["k"]): r for r in table.to_pylist()}


def expected_sessions(
    config: WindowConfig, batches: Sequence[Batch], partitions: Sequence[int] = (0,)
) -> tuple[dict[Any, dict[str, Any]], list[int]]:
    """(emissions, rejected seqs) for session windows without allowed lateness.

    Session membership depends on when sessions closed, so it is computed by a direct loop
    over the batches (merge spans per key, close at batch ends); the aggregates of each
    session are then computed by DuckDB over its records.
    """
    recs = record_marks(config, batches, partitions).to_pylist()
    if not recs:
        return {}, []
    gap = config.session_gap * 1000
    expiry = config.expired_time * 60_000
    wait = config.waiting_time * 1000
    open_: dict[str | None, list[list[Any]]] = {}
    closed: list[tuple[int, int, str | None, list[int]]] = []
    rejected: list[int] = []
    highs = dict.fromkeys(partitions, NEG)
    mark = NEG
    pos = 0
    for partition, records in batches:
        batch = recs[pos : pos + len(records)]
        pos += len(records)
        for rec in batch:
            if rec["t"] is None or rec["t"] + gap <= rec["wm"]:
                rejected.append(rec["seq"])
                continue
            spans = open_.setdefault(rec["k"], [])
            spans.append([rec["t"], rec["t"] + gap, [rec["seq"]]])
        for key, spans in open_.items():
            spans.sort(key=lambda s: (s[0], s[1]))
            merged: list[list[Any]] = []
            for span in spans:
                if merged and span[0] < merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], span[1])
                    merged[-1][2] += span[2]
                else:
                    merged.append([span[0], span[1], list(span[2])])
            open_[key] = merged
        times = [r["t"] for r in batch if r["t"] is not None]
        if times:
            highs[partition] = max(highs.get(partition, NEG), max(times))
        low = min(highs.values())
        if low > NEG:
            mark = max(mark, low - wait)
        for key, spans in open_.items():
            keep = []
            for ws, we, seqs in spans:
                if we <= mark or (expiry and ws + expiry <= mark):
                    closed.append((ws, we, key, seqs))
                else:
                    keep.append([ws, we, seqs])
            open_[key] = keep
    for key, spans in open_.items():
        closed.extend((ws, we, key, seqs) for ws, we, seqs in spans)
    member = {"seq": [], "sid": []}
    for sid, (_, _, _, seqs) in enumerate(closed):
        member["seq"] += seqs
        member["sid"] += [sid] * len(seqs)
    sessions = pa.table(
        {
            "sid": pa.array(range(len(closed)), pa.int64()),
            "ws": pa.array([c[0] for c in closed], pa.int64()),
            "we": pa.array([c[1] for c in closed], pa.int64()),
        }
    )
    con = duckdb.connect()
    con.register("r", pa.Table.from_pylist(recs))
    con.register(
        "m",
        pa.table(
            {"seq": pa.array(member["seq"], pa.int64()), "sid": pa.array(member["sid"], pa.int64())}
        ),
    )
    con.register("s", sessions)
    table = con.sql(
        f"SELECT s.ws, s.we, r.k, {_AGG_SQL} FROM r JOIN m USING (seq) JOIN s USING (sid) "
        "GROUP BY s.sid, s.ws, s.we, r.k"
    ).to_arrow_table()
    con.close()
    # _endTime_ is rendered to the second, as BKData does; compare at that precision.
    keyed = {(ws, we - we % 1000, k): row for (ws, we, k), row in _keyed(table).items()}
    return keyed, sorted(rejected)


def same_row(got: dict[str, Any], want: dict[str, Any]) -> bool:
    """Aggregates equal (avg within float tolerance); ``got`` may hold a subset of them."""
    for name in ("n_all", "n_v", "s", "lo", "hi", "fst", "lst", "nd"):
        if name in got and got[name] != want[name]:
            return False
    a, b = got["mean"], want["mean"]
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _sessionize(spans: list[list[Any]]) -> list[list[Any]]:
    """Merge [ws, we, seqs, dirty] spans of one key whose intervals overlap."""
    merged: list[list[Any]] = []
    for ws, we, seqs, dirty in sorted(spans, key=lambda s: (s[0], s[1])):
        if merged and ws < merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], we)
            last[2] = last[2] + seqs
            last[3] = last[3] or dirty
        else:
            merged.append([ws, we, list(seqs), dirty])
    return merged


def session_emissions(
    config: WindowConfig, batches: Sequence[Batch], partitions: Sequence[int] = (0,)
) -> tuple[list[tuple[int, str, int, int, str | None, list[int]]], list[int]]:
    """Every emission of a session operator: (call index, kind, ws, we, key, record seqs).

    The call index is the batch whose ``process`` emitted it (``len(batches)``: the flush).

    A direct model of the documented session rules, lateness included: on-time spans merge
    into open sessions at each batch; sessions fire at ``last + gap`` or ``first +
    expired_time``; late spans merge into retained fired sessions and mark them dirty; dirty
    sessions are re-emitted when the watermark crosses a ``lateness_count_freq`` tick and
    before they are dropped at ``end + lateness``.
    """
    recs = record_marks(config, batches, partitions).to_pylist()
    gap, expiry = config.session_gap * 1000, config.expired_time * 60_000
    wait = config.waiting_time * 1000
    late_ms = config.lateness_time * 3_600_000 if config.allowed_lateness else 0
    freq = config.lateness_count_freq * 1000
    open_: dict[str | None, list[list[Any]]] = {}
    closed: dict[str | None, list[list[Any]]] = {}
    emitted: list[tuple[int, str, int, int, str | None, list[int]]] = []
    rejected: list[int] = []
    highs = dict.fromkeys(partitions, NEG)
    mark, corrected = NEG, NEG

    def corrections(watermark: int, force: bool, call: int) -> None:
        nonlocal corrected
        if not any(closed.values()):
            return
        due = force or freq <= 0 or watermark // freq > corrected // freq
        if due:
            corrected = watermark
        for key, spans in closed.items():
            keep = []
            for span in spans:
                expiring = force or span[1] + late_ms <= watermark
                if span[3] and (due or expiring):
                    emitted.append((call, "fix", span[0], span[1], key, list(span[2])))
                    span[3] = False
                if not expiring:
                    keep.append(span)
            closed[key] = keep

    def fire(watermark: int, call: int) -> None:
        for key, spans in open_.items():
            keep = []
            for span in spans:
                if span[1] <= watermark or (expiry and span[0] + expiry <= watermark):
                    emitted.append((call, "row", span[0], span[1], key, list(span[2])))
                    if config.allowed_lateness:
                        closed.setdefault(key, []).append([span[0], span[1], span[2], False])
                else:
                    keep.append(span)
            open_[key] = keep

    pos = 0
    for call, (partition, records) in enumerate(batches):
        batch = recs[pos : pos + len(records)]
        pos += len(records)
        late: dict[str | None, list[list[Any]]] = {}
        for rec in batch:
            t, wm_i = rec["t"], rec["wm"]
            if t is None or t + gap + late_ms <= wm_i:
                rejected.append(rec["seq"])
            elif t + gap > wm_i:
                open_.setdefault(rec["k"], []).append([t, t + gap, [rec["seq"]], False])
            else:
                late.setdefault(rec["k"], []).append([t, t + gap, [rec["seq"]], True])
        open_ = {key: _sessionize(spans) for key, spans in open_.items()}
        times = [r["t"] for r in batch if r["t"] is not None]
        if times:
            highs[partition] = max(highs.get(partition, NEG), max(times))
        low = min(highs.values())
        if low > NEG:
            mark = max(mark, low - wait)
        fire(mark, call)
        for key, spans in late.items():
            closed[key] = _sessionize(closed.get(key, []) + spans)
        corrections(mark, False, call)
    fire(2**62, len(batches))
    corrections(2**62, True, len(batches))
    return emitted, sorted(rejected)


def aggregate_emissions(
    config: WindowConfig,
    batches: Sequence[Batch],
    emissions: Sequence[tuple[int, str, int, int, str | None, list[int]]],
    partitions: Sequence[int] = (0,),
) -> list[dict[str, Any]]:
    """DuckDB aggregates of each emission's records, in emission order."""
    recs = record_marks(config, batches, partitions)
    member: dict[str, list[int]] = {"seq": [], "eid": []}
    for eid, (*_, seqs) in enumerate(emissions):
        member["seq"] += seqs
        member["eid"] += [eid] * len(seqs)
    con = duckdb.connect()
    con.register("r", recs)
    con.register(
        "m",
        pa.table(
            {"seq": pa.array(member["seq"], pa.int64()), "eid": pa.array(member["eid"], pa.int64())}
        ),
    )
    rows = (
        con.sql(f"SELECT eid, {_AGG_SQL} FROM r JOIN m USING (seq) GROUP BY eid ORDER BY eid")
        .to_arrow_table()
        .to_pylist()
    )
    con.close()
    return rows
