"""Build every component from settings and serve the API with uvicorn until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from types import FrameType

import uvicorn

from sluice.api.app import create_app
from sluice.runtime.build import build_components

__all__ = ["serve"]

log = logging.getLogger(__name__)


class _GracefulServer(uvicorn.Server):
    """Uvicorn, but a SIGTERM/SIGINT shutdown that completed is a clean exit (status 0):
    the signal is not re-raised after the graceful shutdown. A second SIGINT forces exit."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True
        log.info("Signal %s received; shutting down gracefully.", signal.Signals(sig).name)


def serve(
    *, host: str, port: int, data_dir: Path | None, database_url: str | None, demo: bool
) -> None:
    """Run the server in the foreground; uvicorn handles SIGTERM and SIGINT gracefully."""
    logging.basicConfig(
        level=os.environ.get("SLUICE_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    root = data_dir or Path(os.environ.get("SLUICE_DATA_DIR", ".sluice"))
    components = build_components(root, database_url, demo=demo)
    app = create_app(components.store, components.manager, bus=components.bus)
    app.state.pipeline_dir = root / "pipelines"
    base = f"http://{host}:{port}"
    print(f"Sluice is serving on {base}")
    print(f"  API:  {base}/v3/dataflow/flow/")
    print(f"  Docs: {base}/docs")
    print(f"  Metrics: {base}/metrics")
    print(f"  UI:   {base}/ui/")
    if components.demo is not None and components.demo.flow_id is not None:
        print(
            f"  Demo: flow {components.demo.flow_id} runs; watch it with "
            f"{base}/v3/sluice/result_tables/100_demo_weblog_clean/tail/?n=5"
        )
    server = _GracefulServer(
        uvicorn.Config(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=10)
    )
    try:
        server.run()
    finally:
        pipelines = getattr(app.state, "pipeline_manager", None)
        try:
            if pipelines is not None:
                pipelines.stop_all()
        finally:
            components.close()
