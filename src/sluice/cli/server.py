"""``sluice server``: serve the REST API (and later the runtime) with uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["server_command"]


def server_command(
    host: Annotated[
        str, typer.Option(help="Address to bind; loopback unless told otherwise.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port of the API.")] = 8000,
    data_dir: Annotated[
        Path | None,
        typer.Option(envvar="SLUICE_DATA_DIR", help="Directory for the log, store and outputs."),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(envvar="SLUICE_DATABASE_URL", help="SQLAlchemy URL of the metadata store."),
    ] = None,
    demo: Annotated[bool, typer.Option(help="Create and start the demo flow on start.")] = False,
) -> None:
    """Run the Sluice server in the foreground until SIGTERM or SIGINT."""
    from sluice.api.serve import serve

    serve(host=host, port=port, data_dir=data_dir, database_url=database_url, demo=demo)
