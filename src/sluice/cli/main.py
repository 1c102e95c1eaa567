"""The ``sluice`` command line: one typer app, one sub-app per resource.

Sub-apps live in their own modules (``cli/topic.py``, ``cli/flow.py``, ...) and are added
here, so this file is the one place that lists every command group.
"""

from __future__ import annotations

import typer

from sluice.cli.flow import flow_app
from sluice.cli.pipeline import pipeline_app
from sluice.cli.server import server_command
from sluice.cli.topic import group_app, topic_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="sluice",
    help="Sluice: flows over a Kafka-style log, managed by a BKData-compatible API.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("server")(server_command)
app.add_typer(flow_app, name="flow")
app.add_typer(topic_app, name="topic")
app.add_typer(group_app, name="group")
app.add_typer(pipeline_app, name="pipeline")


@app.callback()
def _root() -> None:
    """Sluice: flows over a Kafka-style log, managed by a BKData-compatible API."""


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
