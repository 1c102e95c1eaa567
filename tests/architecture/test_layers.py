"""DESIGN.md's layer rule as a test: imports point downwards only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "sluice"

# layer -> the Sluice layers it must never import
FORBIDDEN: dict[str, set[str]] = {
    "model": {"store", "bus", "sql", "plugins", "pipeline", "runtime", "api", "cli", "web"},
    "bus": {
        "model",
        "windows",
        "store",
        "sql",
        "plugins",
        "pipeline",
        "runtime",
        "api",
        "cli",
        "web",
    },
    "store": {"bus", "sql", "plugins", "pipeline", "runtime", "api", "cli", "web"},
    "sql": {"store", "plugins", "pipeline", "runtime", "api", "cli", "web"},
    # filter plugins use the pipeline package's batch kernels (fields, conditions, grok)
    "plugins": {"store", "runtime", "api", "cli", "web"},
    "pipeline": {"store", "runtime", "api", "cli", "web"},
    "runtime": {"api", "cli", "web"},
    # the event-time window engine: Arrow and DuckDB only, under plugins, pipeline and runtime
    "windows": {
        "model",
        "store",
        "bus",
        "sql",
        "plugins",
        "pipeline",
        "runtime",
        "api",
        "cli",
        "web",
    },
}
# entry points reach runtime only through FlowManager, the engine types it takes, and the
# composition root that builds them
ENTRY_RUNTIME_ALLOWED = {"sluice.runtime.manager", "sluice.runtime.engine", "sluice.runtime.build"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return [n for n in names if n.startswith("sluice.")]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_downwards(layer: str) -> None:
    bad = []
    for path in sorted((SRC / layer).rglob("*.py")):
        for name in _imports(path):
            target = name.split(".")[1]
            if target in FORBIDDEN[layer]:
                bad.append(f"{path.relative_to(SRC)} imports {name}")
    assert not bad, bad


@pytest.mark.parametrize("layer", ["api", "cli", "web"])
def test_entry_points_reach_runtime_only_through_the_manager(layer: str) -> None:
    bad = []
    for path in sorted((SRC / layer).rglob("*.py")):
        for name in _imports(path):
            if name.startswith("sluice.runtime") and name not in ENTRY_RUNTIME_ALLOWED:
                bad.append(f"{path.relative_to(SRC)} imports {name}")
    assert not bad, bad


def test_nothing_in_the_package_imports_the_test_doubles() -> None:
    bad = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in sorted(SRC.rglob("*.py"))
        if path.parent.name != "testing"
        for name in _imports(path)
        if name.startswith("sluice.testing")
    ]
    assert not bad, bad
