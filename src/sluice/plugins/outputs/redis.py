"""The ``redis`` output: events pushed to a Redis list (``RPUSH``) or published on a channel
(``PUBLISH``), as Logstash's redis output does.

``key`` is sprintf (``logstash-%{type}``), rendered per event; a batch is grouped by
rendered key (one ``pc.unique`` pass) and sent in one pipelined round trip: for
``data_type => list`` one ``RPUSH key v1 v2 ...`` per key (at most ``batch_events`` values
each when ``batch => true``; otherwise up to 1000, since the runtime already batches), in
event order; for ``channel`` one ``PUBLISH`` per event. Values are the codec's encoding
(default ``json``: one compact JSON object per event; ``line`` and ``plain`` also work).
An event whose key does not render is rejected to the dead-letter topic. ``host`` is a
list of ``host[:port]``; ``open`` connects to the first that answers ``PING``; a Redis
error during a write fails the batch (the runtime retries it, reconnecting).
"""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import redis

from sluice.pipeline.errors import ConfigError
from sluice.pipeline.jsonl import encode_jsonl
from sluice.pipeline.sprintf import compile_sprintf
from sluice.plugins.codecs import make_codec, output_view
from sluice.plugins.outputs.base import Output, Rejected

__all__ = ["RedisOutput"]

log = logging.getLogger(__name__)
_PUSH_MAX = 1000


class RedisOutput(Output):
    """One Redis connection (the first host that answers)."""

    client: Any = None

    def open(self) -> None:
        s = self.settings
        self.codec = make_codec(s.codec, "json")
        if self.codec.name not in ("json", "json_lines", "line", "plain"):
            raise ConfigError(f"redis output: codec {self.codec.name} is not supported")
        if s.batch_events <= 0:
            raise ConfigError("redis output: batch_events must be positive")
        self.key = compile_sprintf(s.key)
        self.chunk = s.batch_events if s.batch else _PUSH_MAX
        self._connect()

    def _connect(self) -> None:
        s = self.settings
        errors: list[str] = []
        for entry in s.host:
            host, _, port = str(entry).partition(":")
            client = redis.Redis(
                host=host, port=int(port or s.port), db=s.db, password=s.password,
                socket_timeout=s.timeout, socket_connect_timeout=s.timeout,
            )  # fmt: skip
            try:
                client.ping()
            except redis.RedisError as exc:
                errors.append(f"{host}:{port or s.port}: {exc}")
                client.close()
                continue
            self.client = client
            return
        raise ConfigError(f"redis output: no Redis host answers ({'; '.join(errors)})")

    def _values(self, table: pa.Table) -> list[bytes]:
        """One encoded value per row."""
        if self.codec.name in ("json", "json_lines"):
            return encode_jsonl(output_view(table)).split(b"\n")[:-1]
        return [self.codec.encode(table.slice(i, 1)).rstrip(b"\n") for i in range(len(table))]

    def write(self, table: pa.Table) -> Rejected:
        if table.num_rows == 0:
            return []
        keys = self.key.render(output_view(table))
        bad = pc.fill_null(pc.is_null(keys), True)
        rejected: Rejected = [
            (int(i), f"redis key {self.settings.key!r} did not render")
            for i in pc.indices_nonzero(bad).to_pylist()
        ]
        if self.client is None:
            self._connect()
        values = self._values(table)
        pipe = self.client.pipeline(transaction=False)
        for key in pc.unique(pc.drop_null(keys)).to_pylist():
            rows = pc.indices_nonzero(pc.fill_null(pc.equal(keys, key), False)).to_pylist()
            part = [values[i] for i in rows]
            if self.settings.data_type == "list":
                for start in range(0, len(part), self.chunk):
                    pipe.rpush(key, *part[start : start + self.chunk])
            else:
                for value in part:
                    pipe.publish(key, value)
        try:
            pipe.execute()
        except redis.RedisError:
            self.close()  # reconnect on the retry
            raise
        return rejected

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
