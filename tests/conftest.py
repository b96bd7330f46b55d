"""Shared fixtures: isolated settings, a clean environment, a real local upstream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpServer

from proxy.config import Settings
from tests.redis_server import REDIS_SERVER, RedisServer
from tests.upstream import Upstream


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Nothing from the machine's FEEDSCRUB_* or *_PROXY variables leaks into a test."""
    import os

    for name in list(os.environ):
        if name.startswith("FEEDSCRUB_") or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the session (tests that stop it start their own)."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (.ci/run installs Debian's)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def cache_url(request: pytest.FixtureRequest) -> str:
    """FEEDSCRUB_CACHE_URL for make_settings: "" (diskcache) unless a test is parametrised
    with BOTH_BACKENDS; "redis" gives the session's server, emptied for this test."""
    if getattr(request, "param", "diskcache") != "redis":
        return ""
    server: RedisServer = request.getfixturevalue("redis_server")
    server.flush()
    return server.url


@pytest.fixture
def make_settings(tmp_path: Path, cache_url: str) -> Any:
    """Settings for tests: a temp cache, loopback upstreams allowed unless a test says no."""

    def build(**changes: Any) -> Settings:
        base = Settings(
            cache_dir=str(tmp_path / "cache"),
            cache_url=cache_url,
            allow_private=True,
            secret="test-secret",
            public_url="http://proxy.test",
            fetch_timeout=5.0,
            connect_timeout=2.0,
        )
        return base.replace(**changes).validate()

    return build


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    return make_settings()  # type: ignore[no-any-return]


@pytest.fixture
async def upstream(aiohttp_server: AiohttpServer) -> Upstream:
    up = Upstream()
    server = await aiohttp_server(up.app, host="127.0.0.1")
    up.base_url = str(server.make_url("")).rstrip("/")
    return up
