"""Seeded, deterministic benchmark data: web/app events as JSON lines and nginx combined lines.

Who calls it: the suite (``bench.suite``) through :func:`ensure_dataset` before a workload
runs, and the unit tests. The same ``n`` and ``seed`` always give the same bytes (the
generator uses only :class:`random.Random` methods whose output is fixed for a given seed,
and ``json.dumps`` with fixed separators). Events are produced as one stream, so the first
``k`` events of a run with ``n >= k`` are the same ``k`` events.

Files are written into the cache directory (``.bench-cache/data`` by default) on first use
and never committed: ``events-{n}-{seed}.jsonl``, ``combined-{n}-{seed}.log`` and
``templates-{n}-{seed}.bin`` (one byte per event: the index of the message template the
event's ``message`` came from, the ground truth of workload W4).
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "BASE_TS_MS",
    "KINDS",
    "LEVELS",
    "SERVICES",
    "TEMPLATES",
    "Event",
    "combined_line",
    "dataset_path",
    "ensure_dataset",
    "events",
    "json_line",
]

BASE_TS_MS = 1_793_491_200_000
"""2026-11-01T00:00:00Z: the event time of the first event before jitter."""

SERVICES: tuple[str, ...] = (
    "api-gateway",
    "checkout",
    "catalog",
    "auth",
    "search",
    "payments",
    "inventory",
    "notifications",
)
_SERVICE_WEIGHTS = (34, 20, 14, 10, 9, 6, 4, 3)
LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARN", "ERROR")
_LEVEL_WEIGHTS = (8, 80, 8, 4)
_STATUS_BY_LEVEL: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "DEBUG": ((200, 204, 304), (90, 5, 5)),
    "INFO": ((200, 201, 204, 301, 304, 404, 500, 503), (842, 30, 20, 20, 40, 38, 5, 5)),
    "WARN": ((400, 401, 403, 404, 408, 429, 200), (25, 15, 10, 25, 5, 10, 10)),
    "ERROR": ((500, 502, 503, 504, 200), (45, 20, 20, 10, 5)),
}
_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
_METHOD_WEIGHTS = (70, 20, 5, 3, 2)
_PATHS = (
    "/api/v1/users/{id}",
    "/api/v1/users/{id}/orders",
    "/api/v1/orders/{id}",
    "/api/v1/orders/{id}/items/{id2}",
    "/api/v1/products/{id}",
    "/api/v1/products/{id}/reviews",
    "/api/v2/search?q=item{id}&page={small}",
    "/api/v2/cart/{id}",
    "/api/v2/payments/{hex}",
    "/static/js/app.{hex}.js",
    "/static/css/site.{hex}.css",
    "/health",
    "/login",
    "/",
)
_UAS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Go-http-client/1.1",
    "okhttp/4.12.0",
    "kube-probe/1.31",
)
_REFERRERS = ("-", "-", "-", "https://shop.example.com/", "https://www.google.com/")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Message shapes: each is used with 5 component prefixes, giving 100 templates. Variable
# tokens: {ip} IPv4, {port}, {n} integer, {ms} duration with unit, {hex} hex id, {id} id.
_SHAPES = (
    "connection to {ip}:{port} established in {ms}",
    "connection to {ip}:{port} refused after {n} retries",
    "request {hex} completed with status {n} in {ms}",
    "request {hex} timed out after {ms} waiting for upstream",
    "user {id} logged in from {ip}",
    "user {id} failed password check from {ip} attempt {n}",
    "cache miss for key item:{id} took {ms}",
    "cache eviction freed {n} entries of size {n} bytes",
    "worker {n} picked job {hex} from queue",
    "job {hex} finished successfully processed {n} records",
    "slow query on table orders rows {n} duration {ms}",
    "database pool exhausted active {n} idle {n} waiting {n}",
    "payment {hex} authorised amount {n} cents for order {id}",
    "order {id} shipped to warehouse {n} tracking {hex}",
    "rate limit exceeded for client {ip} bucket {n}",
    "health check passed latency {ms} checks {n}",
    "config reloaded version {n} checksum {hex}",
    "disk usage at {n} percent on volume {n}",
    "gc pause {ms} heap {n} MiB after collection",
    "retrying upstream call {hex} attempt {n} of {n}",
)
_COMPONENTS = ("core:", "http:", "db:", "queue:", "sched:")
TEMPLATES: tuple[str, ...] = tuple(f"{c} {s}" for c in _COMPONENTS for s in _SHAPES)
"""The 100 message templates; an event's template index points into this tuple."""

KINDS = ("events", "combined", "templates")
"""Dataset kinds written by :func:`ensure_dataset`."""


@dataclass(frozen=True, slots=True)
class Event:
    """One generated event: the JSON record plus its message template index."""

    record: dict[str, object]
    template: int


def _cum(weights: Sequence[int]) -> list[float]:
    total = float(sum(weights))
    return [float(x) / total for x in itertools.accumulate(weights)]


def _pick(rng: random.Random, values: Sequence[str], cum: list[float]) -> str:
    return values[min(bisect.bisect_right(cum, rng.random()), len(values) - 1)]


def _iso(ts_ms: int) -> str:
    dt = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_ms % 1000:03d}Z"


def _fill(template: str, rng: random.Random) -> str:
    out: list[str] = []
    for i, part in enumerate(template.split("{")):
        if i == 0:
            out.append(part)
            continue
        name, _, rest = part.partition("}")
        if name == "ip":
            out.append(f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}")
        elif name == "port":
            out.append(str(rng.choice((80, 443, 5432, 6379, 8080, 9092))))
        elif name == "n":
            out.append(str(rng.randrange(1, 5000)))
        elif name == "ms":
            out.append(f"{rng.randrange(1, 3000)}ms")
        elif name == "hex":
            out.append(f"{rng.getrandbits(48):012x}")
        elif name == "id":
            out.append(str(rng.randrange(1, 1_000_000)))
        elif name == "id2":
            out.append(str(rng.randrange(1, 100)))
        elif name == "small":
            out.append(str(rng.randrange(1, 20)))
        else:  # pragma: no cover - the tables above are fixed
            raise ValueError(f"unknown placeholder {{{name}}} in template {template!r}")
        out.append(rest)
    return "".join(out)


def events(n: int, seed: int = 42) -> Iterator[Event]:
    """Yield ``n`` events in file order (event time roughly increasing, 0-2 s of jitter).

    Raises:
        ValueError: when ``n`` is negative.
    """
    if n < 0:
        raise ValueError(f"the number of events must be >= 0, got {n}")
    rng = random.Random(seed)
    svc_cum = _cum(_SERVICE_WEIGHTS)
    lvl_cum = _cum(_LEVEL_WEIGHTS)
    mth_cum = _cum(_METHOD_WEIGHTS)
    status_tables = {lvl: (vals, _cum(w)) for lvl, (vals, w) in _STATUS_BY_LEVEL.items()}
    hosts = {s: [f"{s}-{i:02d}" for i in range(1, 5)] for s in SERVICES}
    tpl_cum = _cum([max(1, 100 - i) for i in range(len(TEMPLATES))])
    clock = float(BASE_TS_MS)
    for _ in range(n):
        clock += rng.expovariate(0.5)  # mean 2 ms between events: 500 events/s
        ts_ms = int(clock) - rng.randrange(2000)
        service = _pick(rng, SERVICES, svc_cum)
        level = _pick(rng, LEVELS, lvl_cum)
        vals, cum = status_tables[level]
        status = vals[min(bisect.bisect_right(cum, rng.random()), len(vals) - 1)]
        path = _fill(rng.choice(_PATHS), rng)
        latency = max(0.1, round(rng.lognormvariate(3.0, 1.0), 3))
        if status >= 500:
            latency = round(latency * 4 + 100.0, 3)
        tpl = min(bisect.bisect_right(tpl_cum, rng.random()), len(TEMPLATES) - 1)
        record: dict[str, object] = {
            "ts": _iso(ts_ms),
            "ts_ms": ts_ms,
            "host": rng.choice(hosts[service]),
            "service": service,
            "level": level,
            "status": status,
            "method": _pick(rng, _METHODS, mth_cum),
            "path": path,
            "latency_ms": latency,
            "bytes": rng.randrange(120, 250_000) if status < 400 else rng.randrange(0, 600),
            "user_id": f"u{rng.randrange(1, 200_000)}",
            "client_ip": f"{rng.choice((10, 172, 192))}.{rng.randrange(256)}."
            f"{rng.randrange(256)}.{rng.randrange(1, 255)}",
            "ua": rng.choice(_UAS),
            "trace_id": f"{rng.getrandbits(128):032x}",
            "message": _fill(TEMPLATES[tpl], rng),
        }
        yield Event(record, tpl)


def json_line(record: dict[str, object]) -> str:
    """The event as one JSON line (compact separators, key order as generated)."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"


def combined_line(record: dict[str, object], referrer: str = "-") -> str:
    """The event as one nginx ``combined`` access-log line."""
    ts_ms = int(str(record["ts_ms"]))
    dt = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    when = f"{dt.day:02d}/{_MONTHS[dt.month - 1]}/{dt.year}:{dt:%H:%M:%S} +0000"
    user = record["user_id"] if str(record["status"]) == "401" else "-"
    return (
        f'{record["client_ip"]} - {user} [{when}] "{record["method"]} {record["path"]} '
        f'HTTP/1.1" {record["status"]} {record["bytes"]} "{referrer}" "{record["ua"]}"\n'
    )


def dataset_path(cache: Path, kind: str, n: int, seed: int) -> Path:
    """Where :func:`ensure_dataset` keeps a dataset (it may not exist yet)."""
    if kind not in KINDS:
        raise ValueError(f"unknown dataset kind {kind!r}; known: {', '.join(KINDS)}")
    ext = {"events": "jsonl", "combined": "log", "templates": "bin"}[kind]
    return cache / f"{kind}-{n}-{seed}.{ext}"


def ensure_dataset(cache: Path, kind: str, n: int, seed: int = 42) -> Path:
    """Return the path of the dataset, generating it (atomically) when it is missing."""
    path = dataset_path(cache, kind, n, seed)
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    ref_rng = random.Random(seed ^ 0x5EED)
    if kind == "templates":
        tmp.write_bytes(bytes(ev.template for ev in events(n, seed)))
    else:
        with tmp.open("w", encoding="utf-8", buffering=1 << 20) as fh:
            for ev in events(n, seed):
                if kind == "events":
                    fh.write(json_line(ev.record))
                else:
                    fh.write(combined_line(ev.record, ref_rng.choice(_REFERRERS)))
    tmp.replace(path)
    return path
