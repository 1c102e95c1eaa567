"""The real server process: health, docs listing every endpoint, graceful SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import _free_port


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serves_and_shuts_down_gracefully(tmp_path: Path, sig: signal.Signals) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sluice.cli.main",
            "server",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{base}/v3/dataflow/flow/healthz/", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.1)
        assert health.json()["data"]["store"]["status"] is True
        assert (tmp_path / "sluice.db").exists()
        paths = httpx.get(f"{base}/openapi.json", timeout=5).json()["paths"]
        for path in (
            "/v3/dataflow/flow/flows/create/",
            "/v3/dataflow/flow/flows/{flow_id}/graph/",
            "/v3/dataflow/flow/flows/{flow_id}/nodes/{node_id}/",
            "/v3/sluice/result_tables/",
        ):
            assert path in paths
        assert "swagger" in httpx.get(f"{base}/docs", timeout=5).text.lower()
    finally:
        proc.send_signal(sig)
        output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, output
    assert "Sluice is serving on" in output and "Docs:" in output
