"""Reference tool: the same hand-written Python loop as ``python_json``, with ``orjson``."""

from __future__ import annotations

import orjson

from bench.runners.python_json import run

__all__: list[str] = []

if __name__ == "__main__":
    run("python orjson", orjson.loads, orjson.dumps)
