"""The ``http`` output: events sent to ``url`` (sprintf) with ``http_method``.

``format => json`` sends one request per event (the event as JSON, or ``mapping`` with
sprintf values), ``json_batch`` one request per batch (a JSON array), ``message`` the
sprintf'd ``message`` per event. Connection errors and 429/5xx replies are retried
(``automatic_retries``, then the batch fails and the runtime retries it when
``retry_failed``); other 4xx replies reject the event (dead-letter topic).
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
import pyarrow as pa

from sluice.pipeline.sprintf import compile_sprintf
from sluice.plugins.codecs import output_view
from sluice.plugins.outputs.base import Output, Rejected

__all__ = ["HttpOutput"]


class HttpOutput(Output):
    """One pooled ``httpx.Client``."""

    def open(self) -> None:
        s = self.settings
        self.client = httpx.Client(timeout=float(s.request_timeout))
        self.url = compile_sprintf(s.url)
        self.mapping = {k: compile_sprintf(str(v)) for k, v in s.mapping.items()}
        self.message = compile_sprintf(s.message) if s.message else None
        ctype = s.content_type or (
            "application/x-www-form-urlencoded" if s.format == "form" else "application/json"
        )
        self.headers = {"Content-Type": ctype, **{k: str(v) for k, v in s.headers.items()}}

    def _send(self, url: str, body: bytes) -> int:
        s = self.settings
        for attempt in range(int(s.automatic_retries) + 1):
            try:
                resp = self.client.request(s.http_method.upper(), url, content=body,
                                           headers=self.headers)  # fmt: skip
            except httpx.HTTPError:
                if attempt == int(s.automatic_retries):
                    raise
            else:
                if resp.status_code != 429 and resp.status_code < 500:
                    return resp.status_code
                if attempt == int(s.automatic_retries):
                    raise RuntimeError(f"http output: {url} answered {resp.status_code}")
            time.sleep(min(2.0, 0.05 * 2**attempt))
        raise AssertionError("unreachable")

    def write(self, table: pa.Table) -> Rejected:
        view = output_view(table)
        urls = self.url.render(view).to_pylist()
        s = self.settings
        if s.format == "json_batch":
            status = self._send(urls[0], orjson.dumps(view.to_pylist()))
            return [(i, f"http {status}") for i in range(table.num_rows)] if status >= 400 else []
        if s.format == "message" and self.message is not None:
            bodies = [(m or "").encode() for m in self.message.render(view).to_pylist()]
        elif self.mapping:
            cols = {k: t.render(view).to_pylist() for k, t in self.mapping.items()}
            bodies = [orjson.dumps({k: v[i] for k, v in cols.items()}) for i in range(len(urls))]
        else:
            bodies = [orjson.dumps(_clean(row)) for row in view.to_pylist()]
        rejected: Rejected = []
        for i, (url, body) in enumerate(zip(urls, bodies, strict=True)):
            status = self._send(url, body)
            if status >= 400:
                rejected.append((i, f"http output: {url} answered {status}"))
        return rejected

    def close(self) -> None:
        self.client.close()


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
