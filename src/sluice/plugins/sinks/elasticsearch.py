"""``elastic_storage``: daily Elasticsearch indices written with the official client's bulk API.

- **Indices**: ``{rt_id}_{yyyymmdd}`` (lower case), the day of ``dtEventTimeStamp`` in UTC
  (the write time when it is null). Each index is created on first use with the mapping
  below, ``number_of_replicas`` 1 with ``has_replica`` else 0. A field the RT gains is added
  to existing indices with ``PUT {index}/_mapping``.
- **Mapping**: ``analyzed_fields`` ``text``; ``date_fields`` ``date`` (epoch millis, ISO 8601 or
  ``yyyy-MM-dd HH:mm:ss``); ``json_fields`` ``object`` (the string value is parsed and stored
  as an object); other strings ``keyword`` with ``doc_values`` only when in
  ``doc_values_fields``; int ``integer``, long ``long``, float ``float``, double ``double``,
  boolean ``boolean``, timestamp and ``dtEventTimeStamp`` ``date`` (epoch millis).
- **Ids**: with ``has_unique_key`` the document id is the ``storage_keys`` values joined by
  ``|``, so a retried batch overwrites itself; otherwise Elasticsearch assigns ids.
- **Writes**: the NDJSON body is built column-wise by DuckDB and sent with
  ``Elasticsearch.bulk`` (up to 10 MiB per request). The client retries whole requests on
  429/502/503/504 and timeouts; items refused with 429 or 5xx are resent (3 times, with
  backoff) and then the batch fails with :class:`~sluice.plugins.base.RetryableError`;
  items refused with another status (e.g. ``mapper_parsing_exception``) are rejected with
  Elasticsearch's reason, as are rows whose json field is not valid JSON or whose key is null.
- **Expiry**: :meth:`~ElasticSink.expire` deletes the RT's daily indices older than
  ``expires`` days.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime
from typing import Any, ClassVar

import elastic_transport
import elasticsearch
import pyarrow as pa
import pyarrow.compute as pc

from sluice.model.nodes.storages.elastic import ElasticStorageConfig
from sluice.plugins.base import (
    Rejected,
    RetryableError,
    Sink,
    SinkError,
    WriteResult,
)
from sluice.plugins.redis_resp import stringify
from sluice.plugins.sinks._arrow import (
    byte_chunks,
    conform_batch,
    require_fields,
    stored_fields,
    string_data,
)
from sluice.sql.sandbox import open_connection

__all__ = ["ElasticSink", "index_mapping"]

log = logging.getLogger(__name__)

_DATE_FORMAT = "epoch_millis||strict_date_optional_time||yyyy-MM-dd HH:mm:ss"
_NUMBERS = {"int": "integer", "long": "long", "float": "float", "double": "double"}
_ITEM_RETRIES = 3
_CONNECTION_ERRORS = (elastic_transport.TransportError, OSError)


def index_mapping(cfg: ElasticStorageConfig, fields: list[tuple[str, str]]) -> dict[str, Any]:
    """The ``mappings.properties`` of the RT's indices (see the module docstring)."""
    props: dict[str, Any] = {}
    for name, ftype in fields:
        if name in cfg.json_fields:
            props[name] = {"type": "object"}
        elif name in cfg.date_fields or ftype == "timestamp" or name == "dtEventTimeStamp":
            props[name] = {"type": "date", "format": _DATE_FORMAT}
        elif name in cfg.analyzed_fields:
            props[name] = {"type": "text"}
        elif ftype in ("string", "text"):
            props[name] = {"type": "keyword", "doc_values": name in cfg.doc_values_fields}
        elif ftype == "boolean":
            props[name] = {"type": "boolean"}
        else:
            props[name] = {"type": _NUMBERS[ftype]}
    return props


class ElasticSink(Sink):
    """Indexes a result table into daily Elasticsearch indices (see the module docstring)."""

    node_types: ClassVar[tuple[str, ...]] = ("elastic_storage",)
    config_model = ElasticStorageConfig
    max_request_bytes: ClassVar[int] = 10 * 1024 * 1024
    max_request_docs: ClassVar[int] = 10_000
    retry_backoff_s: ClassVar[float] = 0.5

    def __init__(self, config: Any, schema: Any, connection: Any) -> None:
        super().__init__(config, schema, connection)
        cfg: ElasticStorageConfig = self.config  # type: ignore[assignment]
        self.cfg = cfg
        self.fields = stored_fields(self.schema)
        for what in ("analyzed_fields", "date_fields", "doc_values_fields", "json_fields"):
            require_fields(self.fields, getattr(cfg, what), what.replace("_", " "))
        self.keys = list(cfg.storage_keys) if cfg.has_unique_key else []
        require_fields(self.fields, self.keys, "storage keys")
        self.prefix = self.rt_id.lower() + "_"
        self.mapping = index_mapping(cfg, self.fields)
        self._client: elasticsearch.Elasticsearch | None = None
        self._ready: set[str] = set()

    def open(self) -> None:
        """Create the client and check the cluster answers; existing indices get new fields."""
        c = self.connection
        auth = (c.user, c.password or "") if c.user else None
        self._client = elasticsearch.Elasticsearch(
            hosts=[c.http_base()],
            basic_auth=auth,
            request_timeout=60,
            max_retries=3,
            retry_on_status=(429, 502, 503, 504),
            retry_on_timeout=True,
        )
        try:
            existing = self._client.indices.get(index=self.prefix + "*", allow_no_indices=True)
            for name, body in existing.body.items():
                have = body.get("mappings", {}).get("properties", {})
                new = {k: v for k, v in self.mapping.items() if k not in have}
                if new:
                    log.info("Adding fields %s to index %s.", ", ".join(new), name)
                    self._client.indices.put_mapping(index=name, properties=new)
                self._ready.add(name)
        except _CONNECTION_ERRORS as exc:
            raise RetryableError(f"Elasticsearch at {c.masked_dsn} is unreachable: {exc}") from exc
        except elasticsearch.ApiError as exc:
            raise SinkError(f"Elasticsearch refused the indices of {self.rt_id}: {exc}") from exc

    def _ensure_index(self, name: str) -> None:
        if name in self._ready:
            return
        assert self._client is not None
        replicas = 1 if self.cfg.has_replica else 0
        try:
            self._client.indices.create(
                index=name,
                settings={"number_of_replicas": replicas},
                mappings={"properties": self.mapping},
            )
        except elasticsearch.BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise SinkError(f"Elasticsearch refused to create index {name}: {exc}") from exc
        except elasticsearch.ApiError as exc:
            raise RetryableError(f"Elasticsearch could not create index {name}: {exc}") from exc
        self._ready.add(name)

    def write(self, table: pa.Table) -> WriteResult:
        """Index the batch with bulk requests; refused documents are rejected with reasons."""
        if table.num_rows == 0:
            return WriteResult()
        if self._client is None:
            self.open()
        data = conform_batch(table, self.fields, f"index {self.rt_id}")
        rejected, keep = self._precheck(data)
        index = pa.array(range(table.num_rows), pa.int64())
        if keep is not None:
            data, index = data.filter(keep), index.filter(keep)
        if data.num_rows == 0:
            return WriteResult(written=0, rejected=rejected)
        days = self._index_names(data)
        try:
            for name in pc.unique(days).to_pylist():
                self._ensure_index(str(name))
            lines = self._ndjson(data, days)
            rejected.extend(self._bulk(lines, index))
        except _CONNECTION_ERRORS as exc:
            raise RetryableError(f"Lost Elasticsearch while indexing {self.rt_id}: {exc}") from exc
        rejected.sort(key=lambda r: r.index)
        if rejected:
            log.warning(
                "Elasticsearch refused %d of %d documents of %s; the first reason: %s",
                len(rejected),
                table.num_rows,
                self.rt_id,
                rejected[0].reason,
            )
        return WriteResult(written=table.num_rows - len(rejected), rejected=rejected)

    def _precheck(self, data: pa.Table) -> tuple[list[Rejected], pa.Array | None]:
        """Rows with a null key or a json field that is not JSON never reach the server."""
        bad = pa.repeat(pa.scalar(False), data.num_rows)
        reasons: list[tuple[pa.Array, str]] = []
        for key in self.keys:
            mask = pc.is_null(data.column(key))
            reasons.append((mask, f"the key field {key} is null"))
        if self.cfg.json_fields:
            con = open_connection()
            try:
                con.register("__docs", data.select(self.cfg.json_fields))
                checks = ", ".join(
                    f'coalesce(NOT json_valid("{f}"), false)' for f in self.cfg.json_fields
                )
                result = con.sql(f"SELECT {checks} FROM __docs").to_arrow_table()
            finally:
                con.close()
            for field, col in zip(self.cfg.json_fields, result.columns, strict=True):
                reasons.append((col.combine_chunks(), f"the json field {field} is not valid JSON"))
        rejected: list[Rejected] = []
        for mask, reason in reasons:
            if pc.any(mask).as_py():
                rejected.extend(
                    Rejected(int(i), reason) for i in pc.indices_nonzero(mask).to_pylist()
                )
                bad = pc.or_(bad, mask)
        if not rejected:
            return [], None
        first: dict[int, Rejected] = {}
        for r in rejected:
            first.setdefault(r.index, r)
        return list(first.values()), pc.invert(bad)

    def _index_names(self, data: pa.Table) -> pa.Array:
        now_ms = int(time.time() * 1000)
        ts = pc.fill_null(data.column("dtEventTimeStamp"), now_ms)
        day = pc.strftime(ts.cast(pa.timestamp("ms", tz="UTC")), format="%Y%m%d")
        out = pc.binary_join_element_wise(self.prefix, day, "")
        return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out

    def _ndjson(self, data: pa.Table, days: pa.Array) -> pa.Array:
        """One ``action\\ndocument\\n`` string per row, built in DuckDB."""
        cols = {n: data.column(n) for n, _ in self.fields}
        cols["__index"] = days
        if self.keys:
            parts: list[Any] = []
            for i, key in enumerate(self.keys):
                if i:
                    parts.append("|")
                parts.append(stringify(data.column(key)))
            cols["__id"] = pc.binary_join_element_wise(*parts, "") if len(parts) > 1 else parts[0]
        values = []
        for name, _ in self.fields:
            ref = '"' + name.replace('"', '""') + '"'
            value = f"json({ref})" if name in self.cfg.json_fields else ref
            values.append(f"{ref} := {value}")
        ident = ", '_id': __id" if self.keys else ""
        sql = (
            f"SELECT to_json({{'index': {{'_index': __index{ident}}}}})::VARCHAR || chr(10) || "
            f"to_json(struct_pack({', '.join(values)}))::VARCHAR || chr(10) FROM __docs"
        )
        con = open_connection()
        try:
            con.register("__docs", pa.table(cols))
            out = con.sql(sql).to_arrow_table().column(0).combine_chunks()
        finally:
            con.close()
        return out

    def _bulk(self, lines: pa.Array, index: pa.Array) -> list[Rejected]:
        """Send the lines in bulk requests; resend items refused with 429/5xx."""
        assert self._client is not None
        offsets, buf = string_data(lines)
        rejected: list[Rejected] = []
        for lo, hi in byte_chunks(offsets, self.max_request_bytes, self.max_request_docs):
            pending = list(range(lo, hi))
            attempt = 0
            while pending:
                body = b"".join(buf[offsets[i] : offsets[i + 1]].to_pybytes() for i in pending)
                if len(pending) == hi - lo:
                    body = buf[offsets[lo] : offsets[hi]].to_pybytes()
                try:
                    # the NDJSON serializer forwards a bytes body unchanged
                    resp = self._client.bulk(operations=body)  # type: ignore[arg-type]
                except elasticsearch.ApiError as exc:
                    if exc.status_code in (429, 502, 503, 504) or exc.status_code >= 500:
                        raise RetryableError(
                            f"Elasticsearch could not take a bulk request for {self.rt_id}: {exc}"
                        ) from exc
                    raise SinkError(
                        f"Elasticsearch refused a bulk request for {self.rt_id}: {exc}"
                    ) from exc
                if not resp.body.get("errors"):
                    break
                retry = []
                for pos, item in zip(pending, resp.body["items"], strict=True):
                    result = next(iter(item.values()))
                    status = int(result.get("status", 200))
                    if status < 300:
                        continue
                    if status == 429 or status >= 500:
                        retry.append(pos)
                    else:
                        rejected.append(Rejected(int(index[pos].as_py()), _reason(result)))
                pending = retry
                if pending:
                    attempt += 1
                    if attempt > _ITEM_RETRIES:
                        raise RetryableError(
                            f"Elasticsearch kept refusing {len(pending)} documents of "
                            f"{self.rt_id} with 429/5xx after {_ITEM_RETRIES} retries."
                        )
                    time.sleep(self.retry_backoff_s * 2 ** (attempt - 1))
        return rejected

    def expire(self, now_ms: int) -> int:
        """Delete the RT's daily indices older than ``expires`` days; returns how many."""
        cutoff = self.cutoff_ms(now_ms)
        if cutoff is None:
            return 0
        if self._client is None:
            self.open()
        assert self._client is not None
        oldest = datetime.fromtimestamp(cutoff / 1000, UTC).strftime("%Y%m%d")
        pattern = re.compile(re.escape(self.prefix) + r"(\d{8})")
        try:
            names = list(
                self._client.indices.get(index=self.prefix + "*", allow_no_indices=True).body
            )
            old = [n for n in names if (m := pattern.fullmatch(n)) and m.group(1) < oldest]
            for name in old:
                self._client.indices.delete(index=name)
                self._ready.discard(name)
                log.info("Deleted expired index %s.", name)
        except _CONNECTION_ERRORS as exc:
            raise RetryableError(f"Lost Elasticsearch while expiring {self.rt_id}: {exc}") from exc
        return len(old)

    def close(self) -> None:
        """Close the client."""
        client, self._client = self._client, None
        if client is not None:
            client.close()


def _reason(result: dict[str, Any]) -> str:
    error = result.get("error")
    if isinstance(error, dict):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict):
            text += f" ({cause.get('type', '')}: {cause.get('reason', '')})"
        return f"Elasticsearch status {result.get('status')}: {text}"
    return f"Elasticsearch status {result.get('status')}: {error}"
