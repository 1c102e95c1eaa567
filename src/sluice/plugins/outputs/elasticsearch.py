"""The ``elasticsearch`` output: bulk index events with the official client.

``hosts`` (``http://host:9200`` or ``host:9200``), ``index`` (sprintf, default
``logstash-%{+yyyy.MM.dd}`` from ``@timestamp``), ``document_id`` and ``routing`` (sprintf),
``action`` (``index``, ``create``, ``update`` with ``doc_as_upsert``, ``delete``),
``pipeline``, ``user``/``password`` or ``api_key``. One bulk request per batch (NDJSON
built from :func:`encode_jsonl`); items refused with 429 or 5xx are resent (up to 5 times,
backing off), other refused items are returned as rejected rows (to the dead-letter topic
with Elasticsearch's reason); a request that fails as a whole raises, so the runtime retries
the batch. ``manage_template``/``data_stream`` are accepted and not acted on.
"""

from __future__ import annotations

import time
from typing import Any

import elasticsearch
import orjson
import pyarrow as pa

from sluice.pipeline.errors import ConfigError
from sluice.pipeline.jsonl import encode_jsonl
from sluice.pipeline.sprintf import compile_sprintf
from sluice.plugins.codecs import output_view
from sluice.plugins.outputs.base import Output, Rejected

__all__ = ["ElasticsearchOutput"]

RETRIES = 5


def _host(text: str) -> str:
    return text if "://" in text else f"http://{text}"


class ElasticsearchOutput(Output):
    """``elasticsearch { hosts => [...] index => "..." }``."""

    def open(self) -> None:
        s = self.settings
        if s.action not in ("index", "create", "update", "delete"):
            raise ConfigError(
                f"elasticsearch output: action {s.action!r} is not one of index, create, "
                "update, delete"
            )
        if s.action in ("update", "delete") and not s.document_id:
            raise ConfigError(f"elasticsearch output: action {s.action} needs document_id")
        kwargs: dict[str, Any] = {"hosts": [_host(h) for h in s.hosts], "request_timeout": 60}
        if s.user:
            kwargs["basic_auth"] = (s.user, s.password or "")
        if s.api_key:
            kwargs["api_key"] = tuple(s.api_key.split(":", 1)) if ":" in s.api_key else s.api_key
        self.client = elasticsearch.Elasticsearch(**kwargs)
        self.index = compile_sprintf(s.index)
        self.doc_id = compile_sprintf(s.document_id) if s.document_id else None
        self.routing = compile_sprintf(s.routing) if s.routing else None

    def _lines(self, table: pa.Table) -> list[bytes]:
        s = self.settings
        indices = self.index.render(table).to_pylist()
        ids = self.doc_id.render(table).to_pylist() if self.doc_id else None
        routes = self.routing.render(table).to_pylist() if self.routing else None
        docs = encode_jsonl(output_view(table)).split(b"\n")[:-1]
        out = []
        for i, doc in enumerate(docs):
            meta: dict[str, Any] = {"_index": indices[i]}
            if ids is not None and ids[i]:
                meta["_id"] = ids[i]
            if routes is not None and routes[i]:
                meta["routing"] = routes[i]
            if s.pipeline:
                meta["pipeline"] = s.pipeline
            if s.action == "update":
                meta["retry_on_conflict"] = s.retry_on_conflict
            action = orjson.dumps({s.action: meta})
            if s.action == "delete":
                out.append(action + b"\n")
            elif s.action == "update":
                upsert = b',"doc_as_upsert":true' if s.doc_as_upsert else b""
                out.append(action + b'\n{"doc":' + doc + upsert + b"}\n")
            else:
                out.append(action + b"\n" + doc + b"\n")
        return out

    def write(self, table: pa.Table) -> Rejected:
        lines = self._lines(table)
        pending = list(range(len(lines)))
        rejected: Rejected = []
        for attempt in range(RETRIES + 1):
            body = b"".join(lines[i] for i in pending)
            # the NDJSON serializer forwards a bytes body unchanged
            resp = self.client.bulk(operations=body)  # type: ignore[arg-type]
            if not resp.body.get("errors"):
                return rejected
            retry = []
            for pos, item in zip(pending, resp.body["items"], strict=True):
                result = next(iter(item.values()))
                status = int(result.get("status", 200))
                if status == 429 or status >= 500:
                    retry.append(pos)
                elif status >= 300:
                    error = result.get("error") or {}
                    reason = f"{error.get('type', status)}: {error.get('reason', '')}"
                    rejected.append((pos, f"elasticsearch refused the document: {reason}"))
            if not retry:
                return rejected
            pending = retry
            time.sleep(min(2.0, 0.05 * 2**attempt))
        raise RuntimeError(
            f"elasticsearch output {self.node.id}: {len(pending)} documents still refused "
            f"with 429/5xx after {RETRIES} retries"
        )

    def close(self) -> None:
        self.client.close()
