"""Named pipelines kept on disk and run in this process: what the REST API manages.

Who calls it: :mod:`sluice.api.routes.pipelines`. Each pipeline is a directory
``<root>/<name>/`` holding ``pipeline.conf`` (the config text) and its runtime state (file
input positions). :meth:`PipelineManager.start` builds a :class:`PipelineRunner` on the bus;
status is ``no-start``, ``running`` or ``failure`` (an input thread died), like flows.
Config errors surface as :class:`~sluice.pipeline.errors.ConfigError`; unknown names as
``KeyError``; a name in use as ``FileExistsError``.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

from sluice.bus import Bus
from sluice.pipeline.compiler import compile_pipeline
from sluice.pipeline.run.runner import PipelineRunner, check_name

__all__ = ["PipelineManager"]

CONFIG = "pipeline.conf"


class PipelineManager:
    """Pipelines under ``root`` on ``bus``; thread-safe."""

    def __init__(self, root: Path, bus: Bus) -> None:
        self.root = Path(root)
        self.bus = bus
        self._runners: dict[str, PipelineRunner] = {}
        self._lock = threading.RLock()

    def _dir(self, name: str) -> Path:
        return self.root / check_name(name)

    def names(self) -> list[str]:
        """Names of the stored pipelines, sorted."""
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / CONFIG).is_file())

    def config(self, name: str) -> str:
        """The config text of ``name`` (``KeyError`` if unknown)."""
        path = self._dir(name) / CONFIG
        if not path.is_file():
            raise KeyError(name)
        return path.read_text("utf-8")

    def save(self, name: str, config: str, create: bool) -> None:
        """Store a config after compiling it; ``create`` refuses an existing name, else the
        name must exist and the pipeline must not be running."""
        compile_pipeline(config)
        with self._lock:
            path = self._dir(name) / CONFIG
            if create and path.exists():
                raise FileExistsError(name)
            if not create and not path.exists():
                raise KeyError(name)
            if name in self._runners:
                raise RuntimeError(f"pipeline {name} is running; stop it first")
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(CONFIG + ".tmp")
            tmp.write_text(config, "utf-8")
            tmp.replace(path)

    def delete(self, name: str) -> None:
        """Stop and forget ``name`` (its bus topics stay)."""
        with self._lock:
            self.stop(name)
            directory = self._dir(name)
            if not (directory / CONFIG).exists():
                raise KeyError(name)
            shutil.rmtree(directory)

    def start(self, name: str) -> dict[str, Any]:
        """Start ``name`` (a no-op when running)."""
        with self._lock:
            if name not in self._runners:
                runner = PipelineRunner(name, self.config(name), self.bus, self._dir(name))
                runner.start()
                self._runners[name] = runner
            return self.status(name)

    def stop(self, name: str) -> None:
        """Stop ``name`` if it runs."""
        with self._lock:
            runner = self._runners.pop(name, None)
        if runner is not None:
            runner.stop()

    def stop_all(self) -> None:
        """Stop every running pipeline (server shutdown)."""
        for name in list(self._runners):
            self.stop(name)

    def status(self, name: str) -> dict[str, Any]:
        """``{name, status, ...counters}``."""
        self.config(name)
        runner = self._runners.get(name)
        if runner is None:
            return {"name": name, "status": "no-start"}
        info = runner.status()
        info["status"] = "failure" if info["input_errors"] else "running"
        return info
