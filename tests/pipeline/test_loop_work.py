"""Issue 15.5: nothing that scales with a big body runs on the event loop thread. Hashing the
body for the output key (once, when it is fetched), the output's etag, and writing or reading the body and outputs in
the store all happen in worker threads (a 130 MB body took ~150 ms to hash alone)."""

from __future__ import annotations

import hashlib
import threading
import types
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

import proxy.pipeline.jobs
import proxy.pipeline.service
import proxy.store.disk
import proxy.store.records
from proxy.server import create_app
from tests.helpers import read_feed
from tests.upstream import Upstream


async def test_big_body_work_runs_off_the_event_loop(
    upstream: Upstream,
    aiohttp_client: AiohttpClient,
    make_settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "&lt;p&gt;" + "a long paragraph of text " * 300 + "&lt;/p&gt;"  # ~7.5 KB an item
    items = "".join(
        f"<item><title>i{i}</title><guid>g{i}</guid><description>{text}{i}</description></item>"
        for i in range(150)
    )
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>big</title>'
        f"<link>http://x/</link><description>d</description>{items}</channel></rss>"
    ).encode()
    assert len(body) > proxy.pipeline.service._HASH_INLINE_BYTES
    threads: dict[str, set[str]] = {}

    def watched(owner: Any, name: str) -> None:
        real = getattr(owner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            threads.setdefault(name, set()).add(threading.current_thread().name)
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, call)

    real_sha256 = hashlib.sha256

    def sha256(data: bytes = b"") -> Any:
        if len(data) >= len(body):  # the body (hashed once, for its keys)
            threads.setdefault("hash of the body", set()).add(threading.current_thread().name)
        return real_sha256(data)

    for module in (proxy.pipeline.service, proxy.pipeline.jobs, proxy.store.records):
        monkeypatch.setattr(module, "hashlib", types.SimpleNamespace(sha256=sha256))
    watched(proxy.store.records, "etag_of")
    watched(proxy.store.disk, "_safe_set_pieces")
    watched(proxy.store.disk, "_safe_read")
    url = upstream.route("/big.xml", body)
    client = await aiohttp_client(create_app(make_settings(max_body_bytes=len(body) * 2)))
    for fmt in ("rss", "atom"):  # the second reads the stored body back
        response = await client.get("/feed", params={"url": url, "format": fmt})
        assert response.status == 200
        assert len(read_feed(await response.read()).entries) == 150
    assert set(threads) == {"hash of the body", "etag_of", "_safe_set_pieces", "_safe_read"}
    loop_thread = threading.current_thread().name
    assert all(loop_thread not in names for names in threads.values()), threads
