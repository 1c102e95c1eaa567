"""Run one tool as a subprocess and measure it: wall time, peak RSS, its JSON result line.

Who calls it: :mod:`bench.suite`, once per (workload, tool, run). Every tool runs in its own
process so that its peak RSS is its own: the figure comes from ``os.wait4``, whose rusage
covers the child and every descendant it waited for, so it is the largest resident set of
any single process of the tool's process tree (Linux ``ru_maxrss``, KiB).

Two shapes of run:
- :func:`run_command`: a command that exits by itself and prints one JSON object as its last
  stdout line (the runner modules under ``bench/runners``).
- :func:`run_daemon`: a daemon (rsyslog, syslog-ng) that never exits by itself; it is
  stopped with SIGTERM once its output file holds the expected number of lines, or when the
  output stops growing for ``idle_timeout`` seconds, or at ``timeout``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Measured", "count_lines", "run_command", "run_daemon"]


@dataclass(slots=True)
class Measured:
    """What one measured run produced. ``error`` is set when the run did not succeed."""

    wall_seconds: float
    max_rss_kib: int
    returncode: int | None
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    stderr_tail: str = ""


def _wait(proc: subprocess.Popen[bytes]) -> tuple[int, int]:
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    return code, int(usage.ru_maxrss)


def _tail(path: Path, limit: int = 1500) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-limit:].decode("utf-8", "replace").strip()


def run_command(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None,
    timeout: float,
    logdir: Path,
) -> Measured:
    """Run ``argv`` to completion and parse the JSON object on its last stdout line.

    A non-zero exit, a timeout or a missing/invalid JSON line sets ``error``; a JSON object
    with a ``skipped`` key is returned as is (the suite reports the row as skipped).
    """
    logdir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = logdir / "stdout.txt", logdir / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env) if env else None, stdout=out, stderr=err
        )
        deadline = start + timeout
        timed_out = False
        while _alive(proc.pid):
            if time.perf_counter() > deadline:
                timed_out = True
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.02)
        code, rss = _wait(proc)
        wall = time.perf_counter() - start
    measured = Measured(wall, rss, code, stderr_tail=_tail(err_path))
    if timed_out:
        measured.error = f"timed out after {timeout:.0f} s and was killed"
        return measured
    lines = [ln for ln in out_path.read_text("utf-8", "replace").splitlines() if ln.strip()]
    if lines:
        try:
            parsed = json.loads(lines[-1])
            if isinstance(parsed, dict):
                measured.result = parsed
        except ValueError:
            pass
    if code != 0 and "skipped" not in measured.result:
        measured.error = f"exited with code {code}: {measured.stderr_tail[-400:]}"
    elif not measured.result:
        measured.error = "printed no JSON result object on its last stdout line"
    return measured


def _alive(pid: int) -> bool:
    """True while the child has not exited (it stays a zombie until :func:`_wait`)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def count_lines(path: Path, state: list[int]) -> int:
    """Incrementally count newlines in a growing file; ``state`` is ``[offset, count]``."""
    try:
        with path.open("rb") as fh:
            fh.seek(state[0])
            while chunk := fh.read(1 << 22):
                state[0] += len(chunk)
                state[1] += chunk.count(b"\n")
    except FileNotFoundError:
        pass
    return state[1]


def run_daemon(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None,
    output: Path,
    expected_lines: int,
    timeout: float,
    logdir: Path,
    idle_timeout: float = 10.0,
) -> Measured:
    """Start a daemon, wait until ``output`` has ``expected_lines`` lines, stop it, measure.

    The measured time runs from process start to the moment the last expected line was
    seen (polled every 10 ms), so it includes the daemon's start-up, as a user would see it.
    """
    logdir.mkdir(parents=True, exist_ok=True)
    err_path = logdir / "stderr.txt"
    state = [0, 0]
    with err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env) if env else None,
            stdout=err,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        last_growth, last_count = start, 0
        error: str | None = None
        end = start
        while True:
            now = time.perf_counter()
            count = count_lines(output, state)
            if count != last_count:
                last_growth, last_count, end = now, count, now
            if count >= expected_lines:
                break
            if not _alive(proc.pid):
                error = f"exited early after writing {count} of {expected_lines} lines"
                break
            if now - last_growth > idle_timeout:
                error = (
                    f"output stopped growing at {count} of {expected_lines} lines "
                    f"for {idle_timeout:.0f} s"
                )
                break
            if now - start > timeout:
                error = f"timed out after {timeout:.0f} s with {count} of {expected_lines} lines"
                break
            time.sleep(0.01)
        if _alive(proc.pid):
            os.kill(proc.pid, signal.SIGTERM)
            stop_deadline = time.perf_counter() + 15
            while _alive(proc.pid) and time.perf_counter() < stop_deadline:
                time.sleep(0.02)
            if _alive(proc.pid):
                os.kill(proc.pid, signal.SIGKILL)
        code, rss = _wait(proc)
    count = count_lines(output, state)
    measured = Measured(end - start, rss, code, stderr_tail=_tail(err_path))
    measured.result = {"events": count, "seconds": end - start}
    if error is None and count != expected_lines:
        error = f"wrote {count} lines, expected {expected_lines}"
    measured.error = error
    return measured
