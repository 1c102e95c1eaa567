"""``hdfs_storage`` nodes: Parquet files partitioned by day and hour.

Where: ``cluster`` names a directory ``<data_dir>/hdfs/<cluster>`` on the local disk, or is a
URI (``hdfs://namenode:8020/path``, ``s3://bucket/prefix``, ``file:///path``) opened through
pyarrow's filesystem layer. Files land in
``<root>/<rt_id>/<yyyy>/<MM>/<dd>/<HH>/part-<flow>-<node>-<ms>-<seq>.parquet`` by the hour of
``dtEventTimeStamp`` in the runtime's time zone (BKData's HDFS layout).

Safe to read while written: a file is written under a dot-prefixed temporary name (readers
such as ``pyarrow.dataset`` skip those) and renamed when complete (atomic on local disks and
HDFS). ``expires`` days (``-1`` forever) deletes whole day directories older than that, at
start and then hourly. One file per hour touched per micro-batch; file storages use the
larger ``storage_batch_*`` bounds so files are few and big.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from sluice.model.errors import Message
from sluice.runtime.engine import FlowTaskError, NodeTask
from sluice.runtime.tasks.batch import BatchResult, MicroBatch
from sluice.runtime.tasks.codec import decode_input
from sluice.runtime.tasks.context import TaskContext
from sluice.runtime.tasks.topics import dlq_rt

__all__ = ["HdfsStorageProcessor", "resolve_root"]

log = logging.getLogger(__name__)

_CLUSTER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_CLEANUP_EVERY_S = 3600.0


def resolve_root(cluster: str, data_dir: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem and root path a cluster name or URI designates.

    Raises:
        FlowTaskError: a name that is neither a plain cluster name nor a URI.
    """
    if "://" in cluster:
        try:
            fs, path = pafs.FileSystem.from_uri(cluster)
        except (pa.ArrowInvalid, OSError) as exc:
            raise FlowTaskError(
                f"The HDFS cluster URI {cluster!r} cannot be opened: {exc}"
            ) from exc
        return fs, path.rstrip("/")
    if not _CLUSTER.fullmatch(cluster):
        raise FlowTaskError(
            Message(
                f"HDFS集群名({cluster})不合法：应为字母、数字、点、下划线或连字符，或一个URI",
                f"Invalid HDFS cluster {cluster!r}: use letters, digits, '.', '_', '-', or a URI",
            )
        )
    return pafs.LocalFileSystem(), f"{data_dir}/hdfs/{cluster}"


class HdfsStorageProcessor:
    """Writes each micro-batch of the stored RT as Parquet, one file per hour touched."""

    follows_consuming_mode = False
    file_storage = True

    def __init__(self, ctx: TaskContext, task: NodeTask) -> None:
        rt = str(task.config.get("result_table_id") or (task.inputs or [""])[0])
        if not rt:
            raise FlowTaskError(f"HDFS storage node {task.name} has no result table.")
        self.ctx = ctx
        self.rt = rt
        self.inputs = [rt]
        self.dead_letter_rt = dlq_rt(rt)
        self.schema = ctx.schema(rt)
        self.expires = int(task.config.get("expires", -1))
        self.fs, root = resolve_root(
            str(task.config.get("cluster") or "default"), str(ctx.settings.data_dir)
        )
        self.base = f"{root}/{rt}"
        self.prefix = f"part-{task.flow_id}-{task.node_id}"
        self._seq = itertools.count()
        self._next_cleanup = 0.0

    def process(self, batch: MicroBatch) -> BatchResult:
        """Decode, write one Parquet file per event hour, rename each into place."""
        source = batch.inputs.get(self.rt)
        if source is None:
            return BatchResult()
        table, dead, _ = decode_input(source, self.schema, self.ctx.settings.timezone)
        if table.num_rows:
            self._write(table)
        self._cleanup()
        return BatchResult(records_out=table.num_rows, dead=dead)

    def _write(self, table: pa.Table) -> None:
        zone = self.ctx.settings.timezone
        stamps = pc.cast(table.column("dtEventTimeStamp"), pa.timestamp("ms", tz=zone))
        hours = pc.strftime(stamps, format="%Y/%m/%d/%H")
        now_ms = int(time.time() * 1000)
        for hour in pc.unique(hours).to_pylist():
            part = table.filter(pc.equal(hours, hour))
            directory = f"{self.base}/{hour}"
            name = f"{self.prefix}-{now_ms}-{next(self._seq):06d}.parquet"
            self.fs.create_dir(directory, recursive=True)
            temporary = f"{directory}/.{name}.tmp"
            pq.write_table(part, temporary, filesystem=self.fs, compression="zstd")
            self.fs.move(temporary, f"{directory}/{name}")

    def _cleanup(self) -> None:
        now = time.monotonic()
        if self.expires < 0 or now < self._next_cleanup:
            return
        self._next_cleanup = now + _CLEANUP_EVERY_S
        cutoff = (datetime.now(UTC) - timedelta(days=self.expires)).strftime("%Y%m%d")
        for day in self._days():
            if day.replace("/", "") < cutoff:
                self.fs.delete_dir(f"{self.base}/{day}")
                log.info(
                    "HDFS storage of %s: deleted %s (older than %s days).",
                    self.rt,
                    day,
                    self.expires,
                )

    def _days(self) -> list[str]:
        found = [""]
        for _ in range(3):
            deeper = []
            for prefix in found:
                path = f"{self.base}/{prefix}".rstrip("/")
                try:
                    infos = self.fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
                except (FileNotFoundError, NotADirectoryError):
                    continue
                deeper += [
                    f"{prefix}{info.base_name}/"
                    for info in infos
                    if info.type == pafs.FileType.Directory and info.base_name.isdigit()
                ]
            found = deeper
        return [d.rstrip("/") for d in found]

    def close(self) -> None:
        """Nothing to release (files are closed when written)."""
