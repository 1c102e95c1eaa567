"""The ``file`` output: events appended to files named by ``path`` (sprintf, e.g.
``/var/log/app-%{+yyyy.MM.dd}.log``), through the codec (default ``json_lines``).

A batch is split by rendered path (one ``pc.unique`` pass; none for a constant path), each
part encoded at once and written with one ``write`` (of the codec's buffer, not a copy);
``flush`` flushes and fsyncs every open file (the runtime commits its input offsets only
after that). A path that renders to nothing usable or contains
``..`` goes to ``filename_failure`` in the directory of the path's constant prefix, as
Logstash does. ``gzip`` is not supported (a config error).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc

from sluice.pipeline.errors import ConfigError
from sluice.pipeline.sprintf import compile_sprintf
from sluice.plugins.codecs import make_codec, output_view
from sluice.plugins.outputs.base import Output, Rejected

__all__ = ["FileOutput"]


class FileOutput(Output):
    """One open handle per distinct path."""

    def open(self) -> None:
        s = self.settings
        if s.gzip:
            raise ConfigError("file output: gzip is not supported")
        self.codec = make_codec(s.codec, "json_lines")
        self.path = compile_sprintf(s.path)
        self.handles: dict[str, IO[bytes]] = {}
        prefix = s.path.split("%{", 1)[0]
        self.failure_path = str(Path(prefix).parent / s.filename_failure)

    def _handle(self, path: str) -> IO[bytes]:
        if path not in self.handles:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            mode = "wb" if self.settings.write_behavior == "overwrite" else "ab"
            self.handles[path] = open(path, mode)  # noqa: SIM115 - kept open across batches
        return self.handles[path]

    def write(self, table: pa.Table) -> Rejected:
        if self.path.is_constant:
            path = self.path.template
            self._handle(self.failure_path if ".." in path else path).write(
                self.codec.encode_buffer(table)
            )
            return []
        paths = self.path.render(output_view(table))
        bad = pc.or_(pc.is_null(paths), pc.match_substring(paths, ".."))
        paths = pc.if_else(pc.fill_null(bad, True), self.failure_path, paths)
        distinct = pc.unique(paths).to_pylist()
        for path in distinct:
            rows = table if len(distinct) == 1 else table.filter(pc.equal(paths, path))
            self._handle(path).write(self.codec.encode_buffer(rows))
        return []

    def flush(self) -> None:
        for handle in self.handles.values():
            handle.flush()
            os.fsync(handle.fileno())

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()
        self.handles.clear()
