"""The ``--demo`` flow: a generated web-log stream running through a real flow on its own.

On server start with ``--demo``:

- result table ``100_demo_weblog`` (created if missing) receives ~200 generated web-log
  events per second from a background producer thread;
- flow ``sluice_demo`` (created if missing, reused otherwise, started unless running):
  ``stream_source(100_demo_weblog)`` -> ``realtime`` ``100_demo_weblog_clean`` (drops health
  checks, derives ``level`` from the status) -> ``hdfs_storage`` (Parquet under
  ``<data_dir>/hdfs/demo``) and ``queue_storage`` (topic ``queue_100_demo_weblog_clean``),
  and -> ``split`` by region into ``101_demo_weblog_region`` (cn) and
  ``102_demo_weblog_region`` (elsewhere).

See it move: ``GET /v3/sluice/result_tables/100_demo_weblog_clean/tail/?n=5``, the flow's
``monitor_data``, or ``/metrics``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any

from sluice.bus import Bus
from sluice.model.errors import FlowError
from sluice.model.fields import FieldSpec
from sluice.runtime.manager import FlowManager
from sluice.runtime.tasks.settings import RuntimeSettings
from sluice.runtime.tasks.tables import TableIO
from sluice.store.service import FlowStore

__all__ = ["DEMO_FLOW", "DEMO_SOURCE", "Demo", "demo_nodes"]

log = logging.getLogger(__name__)

BIZ = 100
DEMO_FLOW = "sluice_demo"
DEMO_SOURCE = f"{BIZ}_demo_weblog"
_FIELDS = [
    ("ip", "string"),
    ("method", "string"),
    ("path", "string"),
    ("status", "int"),
    ("latency_ms", "double"),
    ("bytes", "long"),
    ("region", "string"),
    ("ua", "string"),
]
_SQL = (
    "select ip, method, path, status, latency_ms, bytes, region, "
    "if(status >= 500, 'error', if(status >= 400, 'warn', 'ok')) as level "
    f"from {DEMO_SOURCE} where path not like '/healthz%'"
)
_PATHS = ["/", "/login", "/api/orders", "/api/items/42", "/static/app.js", "/healthz"]
_REGIONS = ["cn", "cn", "sg", "us", "de"]
_UAS = ["Mozilla/5.0", "curl/8.5.0", "python-httpx/0.27"]


def demo_nodes() -> list[dict[str, Any]]:
    """The BKData node list of the demo flow."""
    clean = f"{BIZ}_demo_weblog_clean"
    return [
        {"id": 1, "node_type": "stream_source", "bk_biz_id": BIZ, "name": "web logs",
         "result_table_id": DEMO_SOURCE, "from_nodes": [], "frontend_info": {"x": 40, "y": 120}},
        {"id": 2, "node_type": "realtime", "bk_biz_id": BIZ, "name": "clean web logs",
         "table_name": "demo_weblog_clean", "sql": _SQL, "window_type": "none",
         "from_nodes": [{"id": 1, "from_result_table_ids": [DEMO_SOURCE]}],
         "frontend_info": {"x": 260, "y": 120}},
        {"id": 3, "node_type": "hdfs_storage", "bk_biz_id": BIZ, "name": "clean(hdfs)",
         "result_table_id": clean, "cluster": "demo", "expires": 3,
         "from_nodes": [{"id": 2, "from_result_table_ids": [clean]}],
         "frontend_info": {"x": 480, "y": 40}},
        {"id": 4, "node_type": "queue_storage", "bk_biz_id": BIZ, "name": "clean(queue)",
         "result_table_id": clean, "cluster": "default", "expires": 1,
         "from_nodes": [{"id": 2, "from_result_table_ids": [clean]}],
         "frontend_info": {"x": 480, "y": 120}},
        {"id": 5, "node_type": "split", "bk_biz_id": BIZ, "name": "by region",
         "table_name": "demo_weblog_region", "description": "China and the rest of the world",
         "config": [{"bk_biz_id": BIZ + 1, "logic_exp": "region == 'cn'"},
                    {"bk_biz_id": BIZ + 2, "logic_exp": "region != 'cn'"}],
         "from_nodes": [{"id": 2, "from_result_table_ids": [clean]}],
         "frontend_info": {"x": 480, "y": 200}},
    ]  # fmt: skip


class Demo:
    """Creates (or reuses) the demo flow, starts it, and feeds its source."""

    def __init__(
        self,
        store: FlowStore,
        manager: FlowManager,
        bus: Bus,
        settings: RuntimeSettings,
        rate: int = 200,
    ) -> None:
        self.store = store
        self.manager = manager
        self.tables = TableIO(bus, settings.partitions)
        self.rate = rate
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.flow_id: int | None = None

    def start(self) -> None:
        """Ensure the table and the flow exist, start the flow, start the producer."""
        try:
            self.flow_id = self._ensure_flow()
        except FlowError as exc:
            log.error("The demo flow could not be prepared: %s", exc.message("en"))
            return
        self._thread = threading.Thread(target=self._produce, name="sluice-demo", daemon=True)
        self._thread.start()
        log.info(
            "Demo: flow %s (%s) runs; %d events/s go to %s. Try "
            "GET /v3/sluice/result_tables/%s_demo_weblog_clean/tail/?n=5",
            self.flow_id,
            DEMO_FLOW,
            self.rate,
            DEMO_SOURCE,
            BIZ,
        )

    def _ensure_flow(self) -> int:
        tables = {t["result_table_id"] for t in self.store.list_result_tables(BIZ)}
        if DEMO_SOURCE not in tables:
            fields = [FieldSpec(field_name=n, field_type=t, description=n) for n, t in _FIELDS]
            self.store.create_result_table(
                BIZ, "demo_weblog", fields, "demo web logs", "generated by --demo", "sluice-demo"
            )
        existing = [
            f
            for f in self.store.list_flows({"project_id": ["1"]}, {})
            if f["flow_name"] == DEMO_FLOW
        ]
        if existing:
            flow = existing[0]
            flow_id = int(flow["flow_id"])
            if flow["status"] in ("running", "starting"):
                return flow_id
        else:
            created = self.store.create_with_nodes(1, DEMO_FLOW, demo_nodes(), "sluice-demo")
            flow_id = int(created["flow_id"])
        self.manager.start(flow_id, "sluice-demo", "continue")
        return flow_id

    def _produce(self) -> None:
        rng = random.Random()
        per_tick = max(self.rate // 10, 1)
        while not self._stop.wait(0.1):
            now = int(time.time() * 1000)
            records = [
                {
                    "ip": f"10.0.{rng.randrange(4)}.{rng.randrange(1, 255)}",
                    "method": rng.choice(("GET", "GET", "GET", "POST")),
                    "path": rng.choice(_PATHS),
                    "status": rng.choices((200, 301, 404, 500), (80, 5, 10, 5))[0],
                    "latency_ms": round(rng.expovariate(1 / 40), 2),
                    "bytes": rng.randrange(200, 50_000),
                    "region": rng.choice(_REGIONS),
                    "ua": rng.choice(_UAS),
                    "dtEventTimeStamp": now,
                }
                for _ in range(per_tick)
            ]
            try:
                self.tables.produce(DEMO_SOURCE, records, None)
            except Exception:
                log.exception("The demo producer failed; it stops.")
                return

    def stop(self) -> None:
        """Stop the producer (the flow keeps its status and resumes on the next start)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
