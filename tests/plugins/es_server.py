"""A small Elasticsearch-compatible HTTP server for the sink tests (no Elasticsearch here).

It implements, per the Elasticsearch REST documentation, the calls the sink makes: ``GET /``,
index create (``PUT /{index}``), get (``GET /{pattern}``, wildcards and
``allow_no_indices``), delete, ``PUT /{index}/_mapping``, ``GET /{index}/_mapping`` and
``POST /_bulk`` (``index`` actions; documents checked against the mapping: numbers,
booleans, dates in the mapping's formats and objects, with ES's error types). Every response
carries ``X-Elastic-Product: Elasticsearch``, which the official client requires.

Fault injection: ``fail_requests`` answers the next N requests with 503; ``throttle_items``
refuses the next N bulk items with 429 ``es_rejected_execution_exception``.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["FakeElasticsearch"]

_DATE_TEXT = re.compile(
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
)


class FakeElasticsearch:
    """Holds indices (mappings and documents) and serves them on 127.0.0.1."""

    def __init__(self) -> None:
        self.indices: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.fail_requests = 0
        self.throttle_items = 0
        self.bulk_requests = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeElasticsearch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def docs(self, index: str) -> dict[str, dict[str, Any]]:
        return dict(self.indices[index]["docs"])

    # -- request handling -------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], body: bytes) -> Any:
        with self.lock:
            if self.fail_requests > 0:
                self.fail_requests -= 1
                return 503, _error("unavailable_shards_exception", "injected failure", 503)
            parts = [p for p in path.split("/") if p]
            if not parts:
                return 200, {"name": "fake", "version": {"number": "8.15.0"}, "tagline": "fake"}
            if parts[-1] == "_bulk":
                return self._bulk(body, parts[0] if len(parts) > 1 else None)
            if len(parts) == 2 and parts[1] == "_mapping":
                if method in ("PUT", "POST"):
                    return self._put_mapping(parts[0], json.loads(body or b"{}"))
                return self._get(parts[0], query, mapping_only=True)
            if len(parts) == 1:
                if method == "PUT":
                    return self._create(parts[0], json.loads(body or b"{}"))
                if method == "DELETE":
                    return self._delete(parts[0])
                if method in ("GET", "HEAD"):
                    return self._get(parts[0], query)
            return 400, _error("illegal_argument_exception", f"unsupported {method} {path}", 400)

    def _names(self, pattern: str) -> list[str]:
        names: list[str] = []
        for part in pattern.split(","):
            names.extend(n for n in self.indices if fnmatch.fnmatchcase(n, part))
        return sorted(set(names))

    def _get(self, pattern: str, query: dict[str, str], mapping_only: bool = False) -> Any:
        names = self._names(pattern)
        if not names and "*" not in pattern:
            return 404, _error("index_not_found_exception", f"no such index [{pattern}]", 404)
        out: dict[str, Any] = {}
        for name in names:
            index = self.indices[name]
            entry: dict[str, Any] = {"mappings": {"properties": index["properties"]}}
            if not mapping_only:
                entry["aliases"] = {}
                entry["settings"] = {"index": index["settings"]}
            out[name] = entry
        return 200, out

    def _create(self, name: str, body: dict[str, Any]) -> Any:
        if name in self.indices:
            return 400, _error(
                "resource_already_exists_exception", f"index [{name}] already exists", 400
            )
        if name != name.lower():
            return 400, _error("invalid_index_name_exception", "must be lowercase", 400)
        self.indices[name] = {
            "properties": dict(body.get("mappings", {}).get("properties", {})),
            "settings": dict(body.get("settings", {})),
            "docs": {},
        }
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}

    def _delete(self, name: str) -> Any:
        names = self._names(name)
        if not names:
            return 404, _error("index_not_found_exception", f"no such index [{name}]", 404)
        for n in names:
            del self.indices[n]
        return 200, {"acknowledged": True}

    def _put_mapping(self, pattern: str, body: dict[str, Any]) -> Any:
        for name in self._names(pattern):
            props = self.indices[name]["properties"]
            for field, spec in body.get("properties", {}).items():
                if field in props and props[field].get("type") != spec.get("type"):
                    return 400, _error(
                        "illegal_argument_exception",
                        f"mapper [{field}] cannot be changed from type "
                        f"[{props[field].get('type')}] to [{spec.get('type')}]",
                        400,
                    )
                props[field] = spec
        return 200, {"acknowledged": True}

    def _bulk(self, body: bytes, default_index: str | None) -> Any:
        self.bulk_requests += 1
        lines = [line for line in body.split(b"\n") if line.strip()]
        items = []
        errors = False
        for action_line, doc_line in zip(lines[::2], lines[1::2], strict=True):
            action = json.loads(action_line)
            op, meta = next(iter(action.items()))
            index = meta.get("_index", default_index)
            doc_id = meta.get("_id") or uuid.uuid4().hex
            result: dict[str, Any] = {"_index": index, "_id": doc_id}
            if self.throttle_items > 0:
                self.throttle_items -= 1
                result.update(
                    status=429,
                    error={"type": "es_rejected_execution_exception", "reason": "queue full"},
                )
            else:
                doc = json.loads(doc_line)
                if index not in self.indices:
                    self._create(index, {})
                problem = _check(doc, self.indices[index]["properties"])
                if problem:
                    result.update(status=400, error=problem)
                else:
                    docs = self.indices[index]["docs"]
                    result.update(
                        status=200 if doc_id in docs else 201,
                        result="updated" if doc_id in docs else "created",
                    )
                    docs[doc_id] = doc
            errors = errors or result["status"] >= 300
            items.append({op: result})
        return 200, {"took": 1, "errors": errors, "items": items}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload = fake.handle(self.command, url.path, query, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve

        return Handler


def _error(kind: str, reason: str, status: int) -> dict[str, Any]:
    cause = {"type": kind, "reason": reason}
    return {"error": {"root_cause": [cause], **cause}, "status": status}


def _check(doc: dict[str, Any], props: dict[str, Any]) -> dict[str, Any] | None:
    for field, value in doc.items():
        spec = props.get(field)
        if spec is None or value is None:
            continue
        kind = spec.get("type")
        ok = True
        if kind in ("integer", "long"):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind in ("float", "double"):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif kind == "boolean":
            ok = isinstance(value, bool)
        elif kind == "date":
            ok = (isinstance(value, int) and not isinstance(value, bool)) or (
                isinstance(value, str) and bool(_DATE_TEXT.fullmatch(value))
            )
        elif kind == "object" and not isinstance(value, dict):
            return {
                "type": "mapper_parsing_exception",
                "reason": f"object mapping for [{field}] tried to parse field [{field}] "
                "as object, but found a concrete value",
            }
        if not ok:
            return {
                "type": "mapper_parsing_exception",
                "reason": f"failed to parse field [{field}] of type [{kind}]",
                "caused_by": {
                    "type": "illegal_argument_exception",
                    "reason": f"failed to parse value [{value}]",
                },
            }
    return None
