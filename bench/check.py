"""Reference answers of the workloads and the checks that every tool's output matches them.

Who calls it: :mod:`bench.suite` after each run (``check_output``), and the unit tests.
The reference answer of each workload is defined here, in plain Python over the generated
input, independently of every tool. Outputs are compared as canonical JSON lines (keys
sorted, integers as integers, floats rounded to 3 decimals) regardless of order, through an
order-independent multiset digest; when a digest differs, the check recomputes both sides
and names a few missing and unexpected lines, so a failure says what is wrong. W3 windows
are compared by key (window start, service, level) with a float tolerance. W4 is checked
against the generator's ground truth: the mined clusters must be exactly the templates.

Workload definitions (the contract every runner implements):
- W0: output lines == input lines.
- W1: keep ``level in (WARN, ERROR) or status >= 500``; output ``ts, host, service, level,
  status, latency_us`` with ``latency_us = latency_ms * 1000``.
- W2: nginx combined line -> ``clientip, ident, auth, timestamp, verb, request,
  httpversion, response (int), bytes (int), referrer, agent``.
- W3: rows ``window_start`` (ms, ``ts_ms // 60000 * 60000``), ``service``, ``level``,
  ``count``, ``avg_latency_ms``, ``max_latency_ms`` over all input events.
- W4: one cluster id per input line, in input order.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "COMBINED_RE",
    "W2_FIELDS",
    "CheckResult",
    "Digest",
    "canonical_w1",
    "canonical_w2",
    "check_output",
    "reference_answer",
    "reference_lines",
    "w3_rows",
]

W1_FIELDS = ("ts", "host", "service", "level", "status", "latency_us")
W2_FIELDS = (
    "clientip",
    "ident",
    "auth",
    "timestamp",
    "verb",
    "request",
    "httpversion",
    "response",
    "bytes",
    "referrer",
    "agent",
)
W2_INTS = frozenset({"response", "bytes"})
W3_FIELDS = ("window_start", "service", "level", "count", "avg_latency_ms", "max_latency_ms")
COMBINED_RE = re.compile(
    r"^(?P<clientip>\S+) (?P<ident>\S+) (?P<auth>\S+) \[(?P<timestamp>[^\]]+)\] "
    r'"(?P<verb>\S+) (?P<request>\S+) HTTP/(?P<httpversion>[^"]+)" (?P<response>\d+) '
    r'(?P<bytes>\d+) "(?P<referrer>[^"]*)" "(?P<agent>[^"]*)"$'
)


class CanonicalError(ValueError):
    """An output line is not a valid row of its workload."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Outcome of one check: ``ok`` and a one-sentence ``detail``."""

    ok: bool
    detail: str


@dataclass(slots=True)
class Digest:
    """Order-independent digest of a multiset of lines: count and sum of 64-bit hashes."""

    count: int = 0
    total: int = 0

    def add(self, line: str) -> None:
        h = hashlib.blake2b(line.encode("utf-8"), digest_size=8).digest()
        self.total = (self.total + int.from_bytes(h, "little")) & 0xFFFFFFFFFFFFFFFF
        self.count += 1

    def as_dict(self) -> dict[str, int]:
        return {"count": self.count, "total": self.total}


def _num(value: Any, name: str, *, integer: bool) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CanonicalError(f"field {name!r} must be a JSON number, got {value!r}")
    if integer:
        if float(value) != int(value):
            raise CanonicalError(f"field {name!r} must be an integer, got {value!r}")
        return int(value)
    return round(float(value), 3) + 0.0


def _obj(line: str, fields: tuple[str, ...]) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise CanonicalError(f"not JSON ({exc}): {line[:120]!r}") from None
    if not isinstance(obj, dict) or set(obj) != set(fields):
        got = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise CanonicalError(f"expected fields {sorted(fields)}, got {got}")
    return obj


def canonical_w1(line: str) -> str:
    """Canonical form of one W1 output line (raises :class:`CanonicalError`)."""
    obj = _obj(line, W1_FIELDS)
    for key in ("ts", "host", "service", "level"):
        if not isinstance(obj[key], str):
            raise CanonicalError(f"field {key!r} must be a string, got {obj[key]!r}")
    obj["status"] = _num(obj["status"], "status", integer=True)
    obj["latency_us"] = _num(obj["latency_us"], "latency_us", integer=False)
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def canonical_w2(line: str) -> str:
    """Canonical form of one W2 output line (raises :class:`CanonicalError`)."""
    obj = _obj(line, W2_FIELDS)
    for key in W2_FIELDS:
        if key in W2_INTS:
            obj[key] = _num(obj[key], key, integer=True)
        elif not isinstance(obj[key], str):
            raise CanonicalError(f"field {key!r} must be a string, got {obj[key]!r}")
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def _read_lines(path: Path) -> Iterator[str]:
    with path.open("r", encoding="utf-8", errors="replace", newline="\n") as fh:
        for raw in fh:
            line = raw.rstrip("\r\n")
            if line:
                yield line


def reference_lines(workload: str, input_path: Path) -> Iterator[str]:
    """The canonical lines of the reference answer of W0, W1 or W2 for ``input_path``."""
    if workload == "w0":
        yield from _read_lines(input_path)
    elif workload == "w1":
        for line in _read_lines(input_path):
            ev = json.loads(line)
            if ev["level"] in ("WARN", "ERROR") or ev["status"] >= 500:
                kept = {k: ev[k] for k in W1_FIELDS[:5]}
                kept["latency_us"] = ev["latency_ms"] * 1000
                yield canonical_w1(json.dumps(kept))
    elif workload == "w2":
        for line in _read_lines(input_path):
            m = COMBINED_RE.match(line)
            if m is None:
                raise ValueError(f"the reference grok pattern does not match {line!r}")
            row: dict[str, Any] = m.groupdict()
            for key in W2_INTS:
                row[key] = int(row[key])
            yield canonical_w2(json.dumps(row))
    else:
        raise ValueError(f"workload {workload!r} has no line reference")


def w3_rows(input_path: Path) -> dict[tuple[int, str, str], tuple[int, float, float]]:
    """Reference W3 answer: key -> (count, avg latency, max latency)."""
    acc: dict[tuple[int, str, str], list[float]] = {}
    for line in _read_lines(input_path):
        ev = json.loads(line)
        key = (ev["ts_ms"] // 60000 * 60000, ev["service"], ev["level"])
        lat = float(ev["latency_ms"])
        slot = acc.get(key)
        if slot is None:
            acc[key] = [1, lat, lat]
        else:
            slot[0] += 1
            slot[1] += lat
            slot[2] = max(slot[2], lat)
    return {k: (int(c), s / c, m) for k, (c, s, m) in acc.items()}


def reference_answer(workload: str, input_path: Path, cache: Path) -> dict[str, Any]:
    """The reference answer summary (cached as JSON next to the data)."""
    ref_path = cache / f"ref-{workload}-{input_path.stem}.json"
    if ref_path.exists():
        cached: dict[str, Any] = json.loads(ref_path.read_text())
        return cached
    answer: dict[str, Any]
    if workload in ("w0", "w1", "w2"):
        digest = Digest()
        for line in reference_lines(workload, input_path):
            digest.add(line)
        answer = digest.as_dict()
    elif workload == "w3":
        rows = w3_rows(input_path)
        answer = {"count": len(rows), "rows": [[*k, *v] for k, v in sorted(rows.items())]}
    elif workload == "w4":
        answer = {"count": sum(1 for _ in _read_lines(input_path))}
    else:
        raise ValueError(f"unknown workload {workload!r}")
    cache.mkdir(parents=True, exist_ok=True)
    ref_path.write_text(json.dumps(answer))
    return answer


def _canon_for(workload: str) -> Callable[[str], str]:
    return {"w0": lambda s: s, "w1": canonical_w1, "w2": canonical_w2}[workload]


def _diff_examples(expected: Iterable[str], actual: Iterable[str], limit: int = 2) -> str:
    want, got = Counter(expected), Counter(actual)
    missing = list((want - got).elements())
    extra = list((got - want).elements())
    parts = [f"{len(missing)} expected lines missing, {len(extra)} unexpected lines"]
    parts += [f"missing: {m[:160]}" for m in missing[:limit]]
    parts += [f"unexpected: {x[:160]}" for x in extra[:limit]]
    return "; ".join(parts)


def _check_lines(workload: str, output: Path, input_path: Path, ref: dict[str, Any]) -> CheckResult:
    canon = _canon_for(workload)
    digest = Digest()
    try:
        for line in _read_lines(output):
            digest.add(canon(line))
    except CanonicalError as exc:
        return CheckResult(False, f"line {digest.count + 1} of the output is invalid: {exc}")
    if digest.as_dict() == {"count": ref["count"], "total": ref["total"]}:
        return CheckResult(True, f"{digest.count} lines identical to the reference answer")
    detail = _diff_examples(
        reference_lines(workload, input_path), (canon(ln) for ln in _read_lines(output))
    )
    return CheckResult(False, f"{digest.count} lines (expected {ref['count']}): {detail}")


def _check_w3(output: Path, ref: dict[str, Any]) -> CheckResult:
    want = {(r[0], r[1], r[2]): (r[3], r[4], r[5]) for r in ref["rows"]}
    got: dict[tuple[int, str, str], tuple[int, float, float]] = {}
    for n, line in enumerate(_read_lines(output), 1):
        try:
            obj = _obj(line, W3_FIELDS)
            key = (
                int(_num(obj["window_start"], "window_start", integer=True)),
                str(obj["service"]),
                str(obj["level"]),
            )
            val = (
                int(_num(obj["count"], "count", integer=True)),
                float(obj["avg_latency_ms"]),
                float(obj["max_latency_ms"]),
            )
        except (CanonicalError, TypeError, ValueError) as exc:
            return CheckResult(False, f"line {n} of the output is invalid: {exc}")
        if key in got:
            return CheckResult(False, f"window {key} appears twice in the output")
        got[key] = val
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    if missing or extra:
        return CheckResult(
            False,
            f"{len(missing)} windows missing (e.g. {missing[:2]}), "
            f"{len(extra)} unexpected (e.g. {extra[:2]})",
        )
    for key, (count, avg, mx) in want.items():
        g = got[key]
        if (
            g[0] != count
            or not math.isclose(g[1], avg, rel_tol=1e-9, abs_tol=1e-6)
            or (not math.isclose(g[2], mx, rel_tol=0, abs_tol=1e-6))
        ):
            return CheckResult(False, f"window {key}: got {g}, expected {(count, avg, mx)}")
    return CheckResult(True, f"{len(want)} windows identical to the reference answer")


def _check_w4(output: Path, templates: Path, result: dict[str, Any]) -> CheckResult:
    truth = templates.read_bytes()
    ids = list(_read_lines(output))
    if len(ids) != len(truth):
        return CheckResult(False, f"{len(ids)} cluster ids for {len(truth)} input lines")
    by_cluster: dict[str, set[int]] = {}
    by_template: dict[int, set[str]] = {}
    for cid, tpl in zip(ids, truth, strict=True):
        by_cluster.setdefault(cid, set()).add(tpl)
        by_template.setdefault(tpl, set()).add(cid)
    merged = sum(1 for s in by_cluster.values() if len(s) > 1)
    split = sum(1 for s in by_template.values() if len(s) > 1)
    reported = result.get("templates")
    if merged or split or reported not in (None, len(by_cluster)):
        return CheckResult(
            False,
            f"{len(by_cluster)} clusters for {len(by_template)} true "
            f"templates: {merged} clusters mix templates, {split} "
            f"templates are split; the tool reported {reported}",
        )
    return CheckResult(
        True, f"{len(by_cluster)} clusters, exactly the {len(by_template)} generated templates"
    )


def check_output(
    workload: str,
    output: Path,
    input_path: Path,
    ref: dict[str, Any],
    *,
    templates: Path | None = None,
    result: dict[str, Any] | None = None,
) -> CheckResult:
    """Check one tool's ``output`` against the reference answer ``ref`` of ``workload``."""
    if not output.exists():
        return CheckResult(False, f"the tool wrote no output file at {output}")
    if workload in ("w0", "w1", "w2"):
        return _check_lines(workload, output, input_path, ref)
    if workload == "w3":
        return _check_w3(output, ref)
    if workload == "w4":
        if templates is None:
            raise ValueError("the W4 check needs the templates ground-truth file")
        return _check_w4(output, templates, result or {})
    raise ValueError(f"workload {workload!r} has no output check")
