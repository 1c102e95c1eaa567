"""Fixtures for the sink and lookup tests: real services, unique names, a fault proxy.

MariaDB, PostgreSQL and Redis are the ones on 127.0.0.1 (skipped when absent, failing under
``SLUICE_REQUIRE_SERVICES=1``). ClickHouse is started from the Debian package's
``clickhouse-server`` binary in a temporary directory on free ports. Elasticsearch is the
small compatible server in ``es_server.py``.

Connection loss is injected with :class:`FaultProxy`, a TCP proxy in front of the real server
that can cut every live connection and refuse new ones, which is safer than restarting the
services other tests share.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pymysql
import pytest
import redis
from es_server import FakeElasticsearch

from servicecheck import require_service
from sluice.plugins.clusters import ClusterConnection, parse_dsn

MYSQL_DSN = "mysql://root@127.0.0.1:3306/test"
PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_DSN = "redis://127.0.0.1:6379/0"


class FaultProxy:
    """A TCP proxy to ``target``; :meth:`cut` drops every connection, :meth:`down` refuses."""

    def __init__(self, port: int) -> None:
        self.target = ("127.0.0.1", port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepting = True
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.accepting:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Drop every live connection (the server appears to restart)."""
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def down(self) -> None:
        """Cut and refuse new connections until :meth:`up`."""
        self.accepting = False
        self.cut()

    def up(self) -> None:
        self.accepting = True

    def close(self) -> None:
        self._stop = True
        self.cut()
        self.listener.close()


def unique(prefix: str) -> str:
    """A table/key name no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def rt_id() -> str:
    return unique("591_sk")


@pytest.fixture
def mysql_conn(rt_id: str) -> Iterator[ClusterConnection]:
    require_service("MariaDB", "127.0.0.1", 3306)
    yield parse_dsn("mysql", "default", MYSQL_DSN)
    c = pymysql.connect(host="127.0.0.1", user="root", database="test")
    with c.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS `{rt_id}`")
    c.close()


@pytest.fixture
def pg_conn(rt_id: str) -> Iterator[ClusterConnection]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    yield parse_dsn("postgresql", "default", PG_DSN)
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as c:
        c.execute(f'DROP TABLE IF EXISTS "{rt_id}"')


@pytest.fixture
def redis_conn(rt_id: str) -> Iterator[ClusterConnection]:
    require_service("Redis", "127.0.0.1", 6379)
    yield parse_dsn("redis", "default", REDIS_DSN)
    r = redis.Redis()
    keys = list(r.scan_iter(f"{rt_id}*")) + list(r.scan_iter(f"kv_{rt_id}*"))
    if keys:
        r.delete(*keys)
    r.close()


@pytest.fixture
def proxy_for() -> Iterator[object]:
    proxies: list[FaultProxy] = []

    def make(port: int) -> FaultProxy:
        proxies.append(FaultProxy(port))
        return proxies[-1]

    yield make
    for p in proxies:
        p.close()


@pytest.fixture
def es() -> Iterator[FakeElasticsearch]:
    server = FakeElasticsearch().start()
    yield server
    server.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


_CH_CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/ch.log</log><errorlog>{d}/err.log</errorlog></logger>
  <http_port>{http}</http_port>
  <tcp_port>{tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path>
  <users_config>{d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>5368709</mark_cache_size>
</yandex>
"""
_CH_USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
  <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
"""


@pytest.fixture(scope="session")
def clickhouse_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ClickHouse server of our own (the Debian package), on free ports."""
    binary = shutil.which("clickhouse-server") or shutil.which("clickhouse")
    if binary is None:
        # ClickHouse is not one of the services the CI machine runs (DESIGN.md); the tests
        # start their own server from Debian's package when it is installed, and skip if not.
        pytest.skip("clickhouse-server is not installed (apt-get install clickhouse-server)")
    d: Path = tmp_path_factory.mktemp("clickhouse")
    http, tcp = _free_port(), _free_port()
    (d / "config.xml").write_text(_CH_CONFIG.format(d=d, http=http, tcp=tcp))
    (d / "users.xml").write_text(_CH_USERS)
    args = [binary] if binary.endswith("clickhouse-server") else [binary, "server"]
    proc = subprocess.Popen(
        [*args, f"--config-file={d / 'config.xml'}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{http}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (d / "err.log").read_text() if (d / "err.log").exists() else ""
                pytest.fail(f"clickhouse-server did not start: {log[-2000:]}")
            time.sleep(0.2)
        yield f"{url}/default"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
