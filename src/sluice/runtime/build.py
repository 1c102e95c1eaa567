"""The composition root: builds the store, the bus, the engine and the flow manager.

Entry points (``sluice server``, tests of the whole server) call :func:`build_components`;
nothing else constructs these objects, so wiring lives in one place:

- the store (SQLAlchemy, migrated to the newest schema);
- the bus: the embedded log in ``<data_dir>`` (``topics/``, ``groups/``; the same place
  ``sluice topic --data-dir`` reads), or Kafka with ``bootstrap``;
- a :class:`LocalEngine` with a task runner per runnable node type
  (:func:`sluice.runtime.tasks.install_runners`), whose tasks read schemas from the store;
- the :class:`FlowManager`, which then resumes: unfinished deploys are failed and the tasks
  of running flows start again with ``continue``;
- with ``demo=True``, the demo flow (:mod:`sluice.runtime.demo`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sluice.bus import Bus, open_bus
from sluice.plugins.clusters import ClusterRegistry
from sluice.runtime.demo import Demo
from sluice.runtime.engine import LocalEngine
from sluice.runtime.manager import FlowManager
from sluice.runtime.metrics import MetricsRegistry
from sluice.runtime.schema import infer_sql_schema
from sluice.runtime.tasks import RuntimeSettings, TaskContext, install_runners
from sluice.runtime.tasks.tables import TableIO
from sluice.store.clusters import ClusterStore
from sluice.store.db import Database, default_url
from sluice.store.service import FlowStore

__all__ = ["Components", "build_components"]


@dataclass
class Components:
    """Everything an entry point serves; :meth:`close` stops it in order."""

    store: FlowStore
    manager: FlowManager
    bus: Bus
    demo: Demo | None = field(default=None)

    def close(self) -> None:
        """Stop the demo producer, the deploys and tasks (draining), the bus, the store."""
        try:
            if self.demo is not None:
                self.demo.stop()
            self.manager.close()
        finally:
            self.bus.close()
            self.store.db.dispose()


def build_components(
    data_dir: Path,
    database_url: str | None,
    *,
    bootstrap: str | None = None,
    settings: RuntimeSettings | None = None,
    demo: bool = False,
) -> Components:
    """Open and wire every component; the caller owns the result and must :meth:`close` it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(database_url or default_url(data_dir))
    db.migrate()
    store = FlowStore(db, inferrer=infer_sql_schema)
    bus = open_bus(data_dir=data_dir, bootstrap=bootstrap)
    settings = settings or RuntimeSettings(data_dir=data_dir)
    metrics = MetricsRegistry()

    def schema_of(rt_id: str) -> list[tuple[str, str]]:
        return [(f["field_name"], f["field_type"]) for f in store.table_schema(rt_id)]

    clusters = ClusterRegistry.from_env(lookup=ClusterStore(db).lookup)
    ctx = TaskContext(
        kv_inputs_of=store.kv_inputs,
        join_storage_of=store.join_storage,
        bus=bus,
        settings=settings,
        metrics=metrics,
        schema_of=schema_of,
        clusters=clusters,
    )
    engine = LocalEngine()
    registry = install_runners(engine, ctx)
    engine.on_close(registry.close)
    manager = FlowManager(db, engine, metrics=metrics, tables=TableIO(bus, settings.partitions))
    ctx.on_failure = manager.node_failed
    manager.resume()
    components = Components(store=store, manager=manager, bus=bus)
    if demo:
        components.demo = Demo(store, manager, bus, settings)
        components.demo.start()
    return components
