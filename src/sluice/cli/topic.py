"""``sluice topic ...`` and ``sluice group ...``: the bus from the command line.

Every command works on the embedded log under ``--data-dir`` (env ``SLUICE_DATA_DIR``,
default ``./.sluice``; topics under ``<data-dir>/topics/``) or, with ``--bootstrap HOST:PORT``,
on a Kafka cluster. Reading commands open the embedded log read-only when a running server
holds its writer lock. Records are JSON lines: ``produce`` reads them from stdin, ``consume``
writes them to stdout; messages and progress bars (only on a terminal) go to stderr.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from sluice.bus import Bus, BusError, Records, TopicPartition, WriterLockedError, open_bus

__all__ = ["group_app", "topic_app"]

topic_app = typer.Typer(help="Create, inspect, produce to and consume from topics.")
group_app = typer.Typer(help="Inspect consumer groups and reset their offsets.")

_err = Console(stderr=True)

DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        envvar="SLUICE_DATA_DIR",
        help="Data directory of the embedded log (topics under <data-dir>/topics/).",
    ),
]
Bootstrap = Annotated[
    str | None,
    typer.Option("--bootstrap", help="HOST:PORT of a Kafka cluster to use instead."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
DEFAULT_DIR = Path(".sluice")


def _fail(message: str) -> typer.Exit:
    _err.print(f"[red]Error:[/red] {message}", highlight=False)
    return typer.Exit(1)


@contextlib.contextmanager
def _bus(data_dir: Path, bootstrap: str | None, write: bool) -> Iterator[Bus]:
    """Open the bus; reads fall back to read-only when a server holds the writer lock."""
    try:
        try:
            bus = open_bus(data_dir, bootstrap)
        except WriterLockedError:
            if write:
                raise
            bus = open_bus(data_dir, bootstrap, read_only=True)
    except (BusError, OSError) as exc:
        raise _fail(str(exc)) from exc
    try:
        yield bus
    except (BusError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    finally:
        bus.close()


def _progress(total: int | None, what: str) -> Progress:
    """A rich progress bar on stderr, shown only when stderr is a terminal."""
    columns: list[Any] = [SpinnerColumn(), TextColumn(what)]
    columns += [BarColumn(), MofNCompleteColumn()] if total else [TextColumn("{task.completed:,}")]
    return Progress(*columns, console=_err, disable=not _err.is_terminal, transient=True)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


# -- topics ---------------------------------------------------------------------------------


@topic_app.command("create")
def create_command(
    name: Annotated[str, typer.Argument(help="Topic name ([a-zA-Z0-9._-], up to 249).")],
    partitions: Annotated[int, typer.Option(min=1, help="Number of partitions.")] = 1,
    retention_days: Annotated[
        float, typer.Option(help="Delete data older than this many days; -1 keeps it forever.")
    ] = -1,
    data_dir: DataDir = DEFAULT_DIR,
    bootstrap: Bootstrap = None,
) -> None:
    """Create a topic."""
    retention_ms = -1 if retention_days < 0 else int(retention_days * 86_400_000)
    with _bus(data_dir, bootstrap, write=True) as bus:
        info = bus.create_topic(name, partitions, retention_ms=retention_ms)
    _err.print(f"Created topic {info.name} with {info.partition_count} partition(s).")


@topic_app.command("list")
def list_command(
    data_dir: DataDir = DEFAULT_DIR, bootstrap: Bootstrap = None, as_json: AsJson = False
) -> None:
    """List topics with their partitions, records and size."""
    with _bus(data_dir, bootstrap, write=False) as bus:
        infos = [bus.describe_topic(name) for name in bus.list_topics()]
    if as_json:
        _print_json([i.to_dict() for i in infos])
        return
    table = Table("topic", "partitions", "records", "bytes", "retention")
    for info in infos:
        d = info.to_dict()
        table.add_row(
            info.name,
            str(info.partition_count),
            f"{d['records']:,}",
            "-" if info.size_bytes is None else f"{info.size_bytes:,}",
            _retention(info.retention_ms),
        )
    Console().print(table)


def _retention(ms: int) -> str:
    return "forever" if ms < 0 else f"{ms / 86_400_000:g} days"


@topic_app.command("describe")
def describe_command(
    name: Annotated[str, typer.Argument(help="Topic name.")],
    data_dir: DataDir = DEFAULT_DIR,
    bootstrap: Bootstrap = None,
    as_json: AsJson = False,
) -> None:
    """Show a topic's partitions (offsets, records, size, segments) and retention."""
    with _bus(data_dir, bootstrap, write=False) as bus:
        info = bus.describe_topic(name)
    if as_json:
        _print_json(info.to_dict())
        return
    table = Table("partition", "earliest", "latest", "records", "bytes", "segments")
    for p in info.partitions:
        table.add_row(
            str(p.partition),
            str(p.earliest),
            str(p.latest),
            f"{p.records:,}",
            "-" if p.size_bytes is None else f"{p.size_bytes:,}",
            "-" if p.segments is None else str(p.segments),
        )
    console = Console()
    console.print(f"[bold]{info.name}[/bold]  retention: {_retention(info.retention_ms)}")
    console.print(table)


@topic_app.command("delete")
def delete_command(
    name: Annotated[str, typer.Argument(help="Topic name.")],
    data_dir: DataDir = DEFAULT_DIR,
    bootstrap: Bootstrap = None,
) -> None:
    """Delete a topic and all its data."""
    with _bus(data_dir, bootstrap, write=True) as bus:
        bus.delete_topic(name)
    _err.print(f"Deleted topic {name}.")


def _read_chunks(stream: Any, size: int) -> Iterator[list[bytes]]:
    chunk: list[bytes] = []
    for line in stream:
        line = line.rstrip(b"\r\n")
        if line.strip():
            chunk.append(line)
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _key(record: Any, field: str, line_no: int) -> bytes | None:
    if not isinstance(record, dict):
        raise ValueError(f"Line {line_no} is not a JSON object, so --key-field cannot apply.")
    value = record.get(field)
    if value is None:
        return None
    return value.encode() if isinstance(value, str) else orjson.dumps(value)


@topic_app.command("produce")
def produce_command(
    name: Annotated[str, typer.Argument(help="Topic name.")],
    key_field: Annotated[
        str | None, typer.Option(help="Use this JSON field as the record key (murmur2 partition).")
    ] = None,
    partition: Annotated[
        int | None, typer.Option(help="Write every record to this partition.")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Records per produce call.")] = 10_000,
    data_dir: DataDir = DEFAULT_DIR,
    bootstrap: Bootstrap = None,
) -> None:
    """Produce JSON lines from stdin, one record per line (blank lines are skipped)."""
    total = 0
    with _bus(data_dir, bootstrap, write=True) as bus, _progress(None, "producing") as bar:
        task = bar.add_task("produce", total=None)
        for chunk in _read_chunks(sys.stdin.buffer, batch_size):
            keys: list[bytes | None] | None = None
            parsed = []
            for i, line in enumerate(chunk):
                try:
                    parsed.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    raise _fail(f"Line {total + i + 1} is not valid JSON: {exc}.") from exc
            if key_field is not None:
                keys = [_key(r, key_field, total + i + 1) for i, r in enumerate(parsed)]
            bus.produce(name, partition, Records(chunk, keys=keys))
            total += len(chunk)
            bar.update(task, completed=total)
    _err.print(f"Produced {total:,} records to {name}.")


@topic_app.command("consume")
def consume_command(
    name: Annotated[str, typer.Argument(help="Topic name.")],
    from_beginning: Annotated[
        bool, typer.Option(help="Start at the earliest offset (default: only new records).")
    ] = False,
    max_records: Annotated[
        int | None, typer.Option("--max", min=1, help="Stop after this many records.")
    ] = None,
    group: Annotated[
        str | None,
        typer.Option(help="Start at this group's committed offsets and commit what was read."),
    ] = None,
    follow: Annotated[
        bool, typer.Option(help="Keep waiting for new records (until --max or Ctrl-C).")
    ] = False,
    data_dir: DataDir = DEFAULT_DIR,
    bootstrap: Bootstrap = None,
) -> None:
    """Print the topic's records as lines on stdout, partition by partition."""
    out = sys.stdout.buffer
    with _bus(data_dir, bootstrap, write=group is not None) as bus:
        info = bus.describe_topic(name)
        start: dict[int, int] = {}
        for part in info.partitions:
            committed = (
                None
                if group is None
                else bus.committed(group, TopicPartition(name, part.partition))
            )
            if committed is not None:
                start[part.partition] = max(committed, part.earliest)
            else:
                start[part.partition] = part.earliest if from_beginning else part.latest
        ends = {p.partition: p.latest for p in info.partitions}
        todo = sum(max(ends[p] - start[p], 0) for p in ends)
        limit = max_records if max_records is not None else (None if follow else todo)
        done = 0
        with _progress(limit, "consuming") as bar:
            task = bar.add_task("consume", total=limit)
            position = dict(start)
            try:
                while limit is None or done < limit:
                    progressed = False
                    for p in sorted(position):
                        if not follow and position[p] >= ends[p]:
                            continue
                        want = 100_000 if limit is None else min(100_000, limit - done)
                        result = bus.fetch(
                            name, p, position[p], max_records=want, wait_ms=200 if follow else 0
                        )
                        values = result.values()
                        if values:
                            out.write(b"\n".join(values) + b"\n")
                            done += len(values)
                            progressed = True
                            bar.update(task, completed=done)
                        position[p] = result.next_offset
                        if limit is not None and done >= limit:
                            break
                    if not progressed and not follow:
                        break
            except KeyboardInterrupt:
                pass
            finally:
                out.flush()
                if group is not None:
                    moved = {
                        TopicPartition(name, p): o for p, o in position.items() if o != start[p]
                    }
                    if moved:
                        bus.commit(group, moved)
    _err.print(f"Consumed {done:,} records from {name}.")


# -- groups ---------------------------------------------------------------------------------


@group_app.command("list")
def group_list_command(data_dir: DataDir = DEFAULT_DIR, bootstrap: Bootstrap = None) -> None:
    """List consumer groups, one per line."""
    with _bus(data_dir, bootstrap, write=False) as bus:
        for name in bus.list_groups():
            sys.stdout.write(name + "\n")


@group_app.command("describe")
def group_describe_command(
    group: Annotated[str, typer.Argument(help="Group name.")],
    data_dir: DataDir = DEFAULT_DIR,
    bootstrap: Bootstrap = None,
    as_json: AsJson = False,
) -> None:
    """Show a group's state, members and committed offsets with lag."""
    with _bus(data_dir, bootstrap, write=False) as bus:
        info = bus.describe_group(group)
    if as_json:
        _print_json(info.to_dict())
        return
    console = Console()
    console.print(f"[bold]{info.group}[/bold]  state: {info.state}  members: {len(info.members)}")
    table = Table("topic", "partition", "committed", "lag")
    for tp, offset in sorted(info.offsets.items()):
        lag = info.lag.get(tp)
        table.add_row(tp.topic, str(tp.partition), str(offset), "-" if lag is None else str(lag))
    console.print(table)


def _timestamp_ms(text: str) -> int:
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        return int(datetime.fromisoformat(text).timestamp() * 1000)
    except ValueError:
        raise ValueError(
            f"--to must be earliest, latest, a timestamp in ms or an ISO-8601 time, not {text!r}."
        ) from None


@group_app.command("reset")
def group_reset_command(
    group: Annotated[str, typer.Argument(help="Group name.")],
    topic: Annotated[str, typer.Option(help="Topic whose offsets to reset.")],
    to: Annotated[
        str, typer.Option(help="earliest, latest, or a time (ms since the epoch or ISO-8601).")
    ],
    data_dir: DataDir = DEFAULT_DIR,
    bootstrap: Bootstrap = None,
) -> None:
    """Set the group's committed offsets on every partition of a topic."""
    with _bus(data_dir, bootstrap, write=True) as bus:
        info = bus.describe_topic(topic)
        when = None if to in ("earliest", "latest") else _timestamp_ms(to)
        offsets: dict[TopicPartition, int] = {}
        for p in info.partitions:
            if to == "earliest":
                offset = p.earliest
            elif to == "latest" or when is None:
                offset = p.latest
            else:
                found = bus.offset_for_timestamp(topic, p.partition, when)
                offset = p.latest if found is None else found
            offsets[TopicPartition(topic, p.partition)] = offset
        bus.commit(group, offsets)
    for tp, offset in sorted(offsets.items()):
        _err.print(f"{group}: {tp} -> {offset}")
