"""``sluice flow``: render templates, and manage flows through a running server's REST API."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from sluice.model.errors import FlowError
from sluice.model.templates import render_template

__all__ = ["flow_app"]

flow_app = typer.Typer(
    help="Render flow templates and manage flows on a server.", no_args_is_help=True
)

ServerOption = Annotated[
    str, typer.Option("--server", envvar="SLUICE_SERVER", help="Base URL of the Sluice server.")
]
_PREFIX = "/v3/dataflow/flow"


def _call(server: str, method: str, path: str, body: Any = None) -> Any:
    try:
        response = httpx.request(
            method, f"{server.rstrip('/')}{_PREFIX}/{path}", json=body, timeout=60
        )
        envelope = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        typer.echo(f"error: cannot reach the Sluice server at {server}: {exc}", err=True)
        raise typer.Exit(2) from None
    if not envelope.get("result"):
        typer.echo(f"error {envelope.get('code')}: {envelope.get('message')}", err=True)
        raise typer.Exit(1)
    return envelope.get("data")


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@flow_app.command("render")
def render(
    template: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="A Jinja2 template of a flow (JSON once rendered)."
        ),
    ],
    params: Annotated[
        Path,
        typer.Option(
            "--params", exists=True, dir_okay=False, help="JSON file with the render parameters."
        ),
    ],
) -> None:
    """Render a bk-log style flow template in the sandbox and print the JSON."""
    try:
        values = json.loads(params.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        typer.echo(f"error: {params} is not valid JSON: {exc}", err=True)
        raise typer.Exit(1) from None
    if not isinstance(values, dict):
        typer.echo(f"error: {params} must hold a JSON object", err=True)
        raise typer.Exit(1)
    try:
        _print(render_template(template.read_text(encoding="utf-8"), values))
    except FlowError as exc:
        typer.echo(f"error: {exc.message('en')}", err=True)
        raise typer.Exit(1) from None


@flow_app.command("list")
def list_flows(server: ServerOption = "http://127.0.0.1:8000") -> None:
    """List flows: id, status, name."""
    for flow in _call(server, "GET", "flows/"):
        typer.echo(f"{flow['flow_id']:>6}  {flow['status']:<9}  {flow['flow_name']}")


@flow_app.command("create")
def create(
    nodes_file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, help="JSON list of nodes in create format."),
    ],
    name: Annotated[str, typer.Option(help="Flow name.")],
    project_id: Annotated[int, typer.Option(help="Project id.")] = 1,
    server: ServerOption = "http://127.0.0.1:8000",
) -> None:
    """Create a flow with its nodes from a JSON file (e.g. the output of ``render``)."""
    nodes = json.loads(nodes_file.read_text(encoding="utf-8"))
    _print(
        _call(
            server,
            "POST",
            "flows/create/",
            {"project_id": project_id, "flow_name": name, "nodes": nodes},
        )
    )


@flow_app.command("export")
def export(flow_id: int, server: ServerOption = "http://127.0.0.1:8000") -> None:
    """Print a flow in create format."""
    _print(_call(server, "GET", f"flows/{flow_id}/export/"))


@flow_app.command("start")
def start(
    flow_id: int,
    consuming_mode: Annotated[
        str, typer.Option(help="continue, from_head or from_tail.")
    ] = "continue",
    server: ServerOption = "http://127.0.0.1:8000",
) -> None:
    """Start a flow; prints the deploy task id."""
    _print(_call(server, "POST", f"flows/{flow_id}/start/", {"consuming_mode": consuming_mode}))


@flow_app.command("stop")
def stop(flow_id: int, server: ServerOption = "http://127.0.0.1:8000") -> None:
    """Stop a flow; prints the deploy task id."""
    _print(_call(server, "POST", f"flows/{flow_id}/stop/"))


@flow_app.command("status")
def status(flow_id: int, server: ServerOption = "http://127.0.0.1:8000") -> None:
    """Print the latest deploy record's status, progress and log."""
    record = _call(server, "GET", f"flows/{flow_id}/latest_deploy_data/")
    if record is None:
        typer.echo("no deploy yet")
        return
    typer.echo(f"{record['action']} {record['status']} {record['progress']}%")
    for line in record["logs"]:
        typer.echo(f"  {line['time']} {line['level']:<7} {line['message']}")
    sys.stdout.flush()
