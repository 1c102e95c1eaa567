"""Whole-line blocks of a file, transformed on a thread pool and written in input order.

Who uses it: the in-process W2 runners (``sluice_grok_w2``, ``sluice_filters_w2``), whose
Arrow and RE2 kernels release the GIL, so blocks overlap on the machine's cores.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

__all__ = ["BLOCK_BYTES", "blocks", "write_in_order"]

BLOCK_BYTES = 4 << 20


def blocks(path: Path, size: int = BLOCK_BYTES) -> Iterator[bytes]:
    """Whole-line blocks of about ``size`` bytes (the last line may lack a newline)."""
    with path.open("rb") as fh:
        carry = b""
        while chunk := fh.read(size):
            chunk = carry + chunk
            cut = chunk.rfind(b"\n")
            if cut < 0:
                carry = chunk
                continue
            carry = chunk[cut + 1 :]
            yield chunk[: cut + 1]
        if carry:
            yield carry


def write_in_order(
    input_path: Path,
    output_path: Path,
    work: Callable[[bytes], tuple[bytes, int]],
    workers: int,
) -> int:
    """Run ``work`` (block -> (output bytes, events)) over the blocks of ``input_path`` on
    ``workers`` threads, at most ``2 * workers`` blocks ahead; write the outputs in input
    order to ``output_path``. Returns the events counted. ``work``'s errors propagate."""
    events = 0
    pending: deque[Future[tuple[bytes, int]]] = deque()
    with ThreadPoolExecutor(workers) as pool, output_path.open("wb") as out:
        for block in blocks(input_path):
            pending.append(pool.submit(work, block))
            while len(pending) > workers * 2:
                data, count = pending.popleft().result()
                out.write(data)
                events += count
        while pending:
            data, count = pending.popleft().result()
            out.write(data)
            events += count
    return events
