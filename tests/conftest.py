"""Shared fixtures: isolated settings, a clean environment, a real local upstream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpServer

from proxy.config import Settings
from tests.upstream import Upstream


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Nothing from the machine's FEEDSCRUB_* or *_PROXY variables leaks into a test."""
    import os

    for name in list(os.environ):
        if name.startswith("FEEDSCRUB_") or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture
def make_settings(tmp_path: Path) -> Any:
    """Settings for tests: a temp cache, loopback upstreams allowed unless a test says no."""

    def build(**changes: Any) -> Settings:
        base = Settings(
            cache_dir=str(tmp_path / "cache"),
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
