"""A real ``sluice server`` process for the Sluice rows, and a small client for its API.

Who calls it: ``sluice_flow`` and ``sluice_pipeline``. :class:`SluiceServer` starts
``sluice server --host 127.0.0.1 --port <free port> --data-dir <workdir>`` as a child
process, waits until it answers HTTP, and stops it (SIGTERM, then SIGKILL) when the
``with`` block ends, so the suite's ``wait4`` accounts for its peak RSS. Every API call
goes through :meth:`SluiceServer.call`, which unwraps the ``{result, code, message, data}``
envelope and raises :class:`Unavailable` with a precise sentence when the server or the
endpoint is not there (connection refused, 404, 405, 501): the runner then reports the row
as skipped with that sentence instead of failing.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from bench.runners._common import emit, skip

__all__ = ["ApiError", "SluiceServer", "Unavailable", "server_main", "settled"]


class Unavailable(Exception):
    """The server, or one endpoint the runner needs, does not exist (yet)."""


class ApiError(Exception):
    """The endpoint exists and answered with an error envelope or an HTTP error."""


_BOX = str.maketrans(dict.fromkeys("╭╮╰╯│─", " "))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SluiceServer:
    """``sluice server`` in a child process; use as a context manager."""

    def __init__(self, workdir: Path, start_timeout: float = 60.0) -> None:
        self.workdir = workdir
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = workdir / "server.log"
        self.client = httpx.Client(base_url=self.base, timeout=120.0)

    def __enter__(self) -> SluiceServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        script = Path(sys.executable).with_name("sluice")
        argv = [str(script)] if script.exists() else [
            sys.executable, "-c", "from sluice.cli.main import main; main()",
        ]  # fmt: skip
        argv += ["server", "--host", "127.0.0.1", "--port", str(self.port),
                 "--data-dir", str(self.workdir / "data")]  # fmt: skip
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self._start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                text = self._log.read_text("utf-8", "replace")
                tail = " ".join(text.translate(_BOX).split())[-300:]
                raise Unavailable(
                    f"`sluice server` exited with code {self._proc.returncode} at start: {tail}"
                )
            try:
                self.client.get("/openapi.json", timeout=2.0)
                return self
            except httpx.TransportError:
                time.sleep(0.2)
        raise Unavailable(f"`sluice server` did not answer on {self.base} within "
                          f"{self._start_timeout:.0f} s")  # fmt: skip

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.client.close()
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call one endpoint and return the envelope's ``data``.

        Raises:
            Unavailable: connection refused, or the endpoint answers 404/405/501.
            ApiError: any other HTTP error, or an envelope with ``result`` false.
        """
        try:
            resp = self.client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise Unavailable(f"{method} {path}: the server is unreachable ({exc})") from None
        if resp.status_code in (404, 405, 501):
            raise Unavailable(
                f"{method} {path} answered HTTP {resp.status_code}: the endpoint is not "
                "implemented by this Sluice build"
            )
        try:
            body = resp.json()
        except ValueError:
            raise ApiError(f"{method} {path} answered HTTP {resp.status_code} with a non-JSON "
                           f"body: {resp.text[:200]!r}") from None  # fmt: skip
        if resp.status_code >= 400 or (isinstance(body, dict) and body.get("result") is False):
            message = body.get("message") if isinstance(body, dict) else body
            code = body.get("code") if isinstance(body, dict) else ""
            raise ApiError(f"{method} {path} failed: HTTP {resp.status_code} code {code}: "
                           f"{message}")  # fmt: skip
        return body.get("data") if isinstance(body, dict) and "data" in body else body


def server_main(
    description: str,
    workloads: tuple[str, ...],
    run: Callable[[SluiceServer, argparse.Namespace], dict[str, Any]],
    what: str,
) -> None:
    """The command line of a runner that measures through a ``sluice server`` child.

    Parses ``--workload`` (one of ``workloads``), ``--input``, ``--output``, ``--workdir``
    (created; a temporary dir by default) and ``--settle``; starts the server under the work
    dir, calls ``run(server, args)`` and prints its result as the last stdout line. A server
    or endpoint that is not there makes the row ``skipped``; an API error exits 1 naming
    ``what`` failed.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--workload", required=True, choices=workloads)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--settle", type=float, default=3.0,
                        help="seconds without output growth that mean the run is done")  # fmt: skip
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="sluice-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    args.workdir = str(workdir)
    try:
        with SluiceServer(workdir / "server") as srv:
            result = run(srv, args)
    except Unavailable as exc:
        skip(str(exc))
    except ApiError as exc:
        sys.stderr.write(f"The {what} failed: {exc}\n")
        raise SystemExit(1) from None
    emit(result)


def settled(
    count: Callable[[], int], settle: float, first_wait: float = 120.0
) -> tuple[int, float]:
    """Poll ``count()`` every 50 ms until it has not changed for ``settle`` seconds, but
    while it is still 0 wait up to ``first_wait`` seconds for the first output (a slow
    start is not the end); returns the last count and the ``perf_counter`` time it last
    changed."""
    started = time.perf_counter()
    last, last_change = -1, started
    while True:
        now = time.perf_counter()
        quiet = now - last_change >= settle
        if quiet and (last > 0 or now - started >= first_wait):
            return last, last_change
        value = count()
        if value != last:
            last, last_change = value, time.perf_counter()
        time.sleep(0.05)
