"""End-to-end fixtures: :class:`sluice.testing.InProcessServer` over a temp data dir.

The app runs in-process (TestClient) on the real embedded bus, SQLite store and task
runners; micro-batch bounds are small so tests see output quickly.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from sluice.testing import FLOW, InProcessServer, fast_settings, wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

__all__ = ["FLOW", "Server", "fast_settings", "wait_until"]


class Server(InProcessServer):
    """The in-process server plus a reader of ``hdfs_storage`` output."""

    def hdfs_table(self, rt: str, cluster: str = "default") -> pa.Table:
        """Every Parquet row ``hdfs_storage`` wrote for ``rt`` (empty table when none)."""
        root = self.data_dir / "hdfs" / cluster / rt
        if not root.exists():
            return pa.table({})
        return ds.dataset(str(root), format="parquet").to_table()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "data")
    yield srv
    srv.close()
