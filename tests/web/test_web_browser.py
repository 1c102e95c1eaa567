"""The page in a real headless Chromium against a live server: flows and nodes render.

Skips when Debian's ``chromium`` is not installed (it is a test tool, not a service).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
)
def test_page_renders_a_flow_in_chromium(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sluice.cli.main",
            "server",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "d"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        api = f"{base}/v3/dataflow/flow"
        flow_id = httpx.post(
            f"{api}/flows/", json={"project_id": 1, "flow_name": "browser-flow"}
        ).json()["data"]["flow_id"]
        assert CHROMIUM is not None
        dom = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={tmp_path / 'chromium'}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                f"{base}/ui/#flow={flow_id}",
            ],
            capture_output=True,
            text=True,
            timeout=90,
        ).stdout
        assert "browser-flow" in dom
        assert f"browser-flow (#{flow_id}) — no-start" in dom
    finally:
        server.terminate()
        server.wait(timeout=20)
