"""Sluice's benchmark suite: seeded data, workloads W0-W4, bus and flow rows, reference tools.

Run it with ``python -m bench run [--quick] [--workload all|w0|w1|w2|w3|w4|bus|flow]``
(``make bench``, ``make bench-quick``, ``make bench W=w1``). See ``docs/benchmarks.md``.
"""

__all__: list[str] = []
