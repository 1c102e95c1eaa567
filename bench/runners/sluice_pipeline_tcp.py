"""Sluice row: W1 as a Logstash-style pipeline with a ``tcp`` ``json_lines`` input, run by
the real server (issue #8's "tcp ``json_lines`` in, file out" target).

``python -m bench.runners.sluice_pipeline_tcp --workload w1 --input IN --output OUT
--workdir DIR``. Over HTTP against a ``sluice server`` child process
(:class:`~bench.runners._server.SluiceServer`):

1. A free 127.0.0.1 port is picked; ``POST /v3/sluice/pipelines/`` with the W1 pipeline
   of :mod:`bench.runners.sluice_pipeline` whose ``file`` input is replaced by
   ``tcp { host => "127.0.0.1" port => N codec => json_lines }`` (same filters, same
   ``file`` output).
2. ``POST /v3/sluice/pipelines/{id}/start/``, then a client connects like ``nc`` does
   (retrying until the input listens) and the clock starts.
3. The whole input file is streamed over the socket (``socket.sendfile``: the kernel copies
   it, as ``nc < file`` would), then the write side is shut down.
4. The output file is polled (every 50 ms, reading only what was appended) until it stops
   growing for ``--settle`` seconds; the clock stops at the last growth.
   ``POST /v3/sluice/pipelines/{id}/stop/``.

The last stdout line is ``{"events", "seconds", "output_records", "send_seconds"}``. A
missing server or endpoint makes the row ``skipped`` with the exact reason.
"""

from __future__ import annotations

import argparse
import socket
import time
from pathlib import Path
from typing import Any

from bench.runners._server import SluiceServer, Unavailable, _free_port, server_main, settled
from bench.runners.sluice_pipeline import _LineCounter, count_lines, pipeline_config

__all__ = ["tcp_config"]

_CONNECT_TIMEOUT = 60.0


def tcp_config(workload: str, port: int, output: str) -> str:
    """The pipeline text of ``workload`` with a ``tcp`` ``json_lines`` input on ``port``
    instead of the ``file`` input (filters and output as in :func:`pipeline_config`)."""
    file_config = pipeline_config(workload, "unused", output)
    first, rest = file_config.split("\n", 1)
    if not first.startswith("input {"):
        raise ValueError(f"the {workload} pipeline does not start with its input section")
    line = f'input {{ tcp {{ host => "127.0.0.1" port => {port} codec => json_lines }} }}\n'
    return line + rest


def _connect(port: int, timeout: float) -> socket.socket:
    """A connection to the pipeline's tcp input, retried until it listens."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=timeout)
        except OSError:
            if time.monotonic() > deadline:
                raise Unavailable(
                    f"the pipeline's tcp input did not listen on 127.0.0.1:{port} within "
                    f"{timeout:.0f} s"
                ) from None
            time.sleep(0.05)


def run(srv: SluiceServer, args: argparse.Namespace) -> dict[str, Any]:
    """Steps 1-4 of the module docstring; returns the result object."""
    pid = f"bench_{args.workload}_tcp"
    out = Path(args.output)
    port = _free_port()
    config = tcp_config(args.workload, port, str(out.resolve()))
    srv.call("POST", "/v3/sluice/pipelines/", json={"name": pid, "config": config})
    srv.call("POST", f"/v3/sluice/pipelines/{pid}/start/", json={})
    lines = _LineCounter(out)
    with _connect(port, _CONNECT_TIMEOUT) as sock, open(args.input, "rb") as fh:
        sock.settimeout(None)
        start = time.perf_counter()
        sock.sendfile(fh)
        sock.shutdown(socket.SHUT_WR)
        sent = time.perf_counter() - start
    last, last_change = settled(lines, args.settle)
    seconds = last_change - start
    srv.call("POST", f"/v3/sluice/pipelines/{pid}/stop/", json={})
    events = count_lines(args.input)
    return {"events": events, "seconds": seconds, "output_records": last, "send_seconds": sent}


def main() -> None:
    server_main(
        "Sluice pipeline runner with a tcp json_lines input (through the server)",
        ("w1",),
        run,
        "Sluice tcp pipeline run",
    )


if __name__ == "__main__":
    main()
