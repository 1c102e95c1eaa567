"""The ``http`` input: events from HTTP request bodies, acknowledged once durable.

``POST``/``PUT`` on any path: a JSON object body is one event, a JSON array one event per
object, an ``application/x-ndjson`` body (or a JSON body of several lines) one event per
line; any other body is one event with the text as ``message``. The reply
(``response_code``, default 200, ``ok``) is sent only after the events are stored on the bus;
if that fails the reply is 503 and the client should retry. Bodies above
``max_content_length`` get 413; ``user``/``password`` enable basic auth (401 otherwise).
Events get ``host`` (the client address) and ``[headers]`` like Logstash's http input.
"""

from __future__ import annotations

import base64
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sluice.pipeline.errors import ConfigError
from sluice.plugins.codecs import parse_event
from sluice.plugins.inputs.base import Event, Input

__all__ = ["HttpInput", "body_events"]


def body_events(body: bytes, content_type: str) -> list[Event]:
    """Events of one request body (see the module doc)."""
    if not body.strip():
        return []
    ctype = content_type.split(";")[0].strip().lower()
    if "ndjson" in ctype or "json-seq" in ctype:
        return [e for line in body.splitlines() if line.strip() for e in parse_event(line)]
    if ctype.endswith("json") or body.lstrip()[:1] in (b"{", b"["):
        events = parse_event(body)
        if len(events) == 1 and "_jsonparsefailure" in (events[0].get("tags") or []):
            lines = [ln for ln in body.splitlines() if ln.strip()]
            if len(lines) > 1:
                return [e for line in lines for e in parse_event(line)]
        return events
    return [{"message": body.decode("utf-8", "replace")}]


class HttpInput(Input):
    """A threading HTTP server; each request is emitted on its own thread."""

    _server: ThreadingHTTPServer | None = None

    def open(self) -> None:
        s = self.settings
        if s.ssl_enabled:
            raise ConfigError("http input: ssl_enabled is not supported")
        auth = None
        if s.user is not None:
            auth = "Basic " + base64.b64encode(f"{s.user}:{s.password or ''}".encode()).decode()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _reply(self, code: int, text: str) -> None:
                body = text.encode()
                self.send_response(code)
                for key, value in s.response_headers.items():
                    self.send_header(key, str(value))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                if auth is not None and self.headers.get("Authorization") != auth:
                    self._reply(401, "unauthorized")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > s.max_content_length:
                    self._reply(413, "body too large")
                    return
                body = self.rfile.read(length)
                events = body_events(body, self.headers.get("Content-Type", ""))
                headers = {k.lower(): v for k, v in self.headers.items()}
                headers["request_method"] = self.command
                headers["request_path"] = self.path
                for event in events:
                    event.setdefault("host", self.client_address[0])
                    event.setdefault("headers", headers)
                try:
                    owner.emit(events)
                except Exception as exc:  # the bus refused: the client must retry
                    self._reply(503, f"not stored: {exc}")
                    return
                self._reply(int(s.response_code), "ok")

            do_PUT = do_POST

        try:
            self._server = ThreadingHTTPServer((s.host, int(s.port)), Handler)
        except OSError as exc:
            raise ConfigError(f"http input cannot listen on {s.host}:{s.port}: {exc}") from None
        self._server.daemon_threads = True

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._server is not None
        return int(self._server.server_address[1])

    def _run(self) -> None:
        assert self._server is not None
        self._server.serve_forever(poll_interval=0.2)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
