"""A real redis-server for tests: a free loopback port, no persistence, stopped by its pid.

Debian's redis-server (``.ci/run`` installs it). Tests that need it skip with one line where
it is missing; CI always has it.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REDIS_SERVER = shutil.which("redis-server")
needs_redis = pytest.mark.skipif(
    REDIS_SERVER is None, reason="redis-server is not installed (.ci/run installs Debian's)"
)
# The same test on both backends: "diskcache" (the default) or a real Redis.
BOTH_BACKENDS = pytest.mark.parametrize(
    "cache_url",
    ["diskcache", pytest.param("redis", marks=needs_redis)],
    indirect=True,
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """One redis-server process; ``stop()`` and ``start()`` again keep its port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def unix_url(self) -> str:
        return f"unix://{self.directory / f'redis-{self.port}.sock'}?db=0"

    def start(self) -> None:
        assert REDIS_SERVER is not None
        for _ in range(5):  # the port was free a moment ago; another process may take it
            log = (self.directory / f"redis-{self.port}.log").open("ab")
            self.process = subprocess.Popen(
                [
                    REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port),
                    "--save", "", "--appendonly", "no", "--dir", str(self.directory),
                    "--daemonize", "no", "--protected-mode", "yes",
                    "--unixsocket", str(self.directory / f"redis-{self.port}.sock"),
                    "--unixsocketperm", "700",
                ],
                stdout=log, stderr=subprocess.STDOUT,
            )
            log.close()
            if self._answers():
                return
            self.stop()
            self.port = free_port()
        raise RuntimeError(f"redis-server did not start; see {self.directory}")

    def _answers(self) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        """Stop the server by its pid (SIGKILL after 5 s); the data goes with it."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
            conn.sendall(b"FLUSHALL\r\n")
            assert conn.recv(16).startswith(b"+OK")
