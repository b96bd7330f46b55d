"""The Store protocol on both backends: the same records in and out, the same locks."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from proxy.config import Settings
from proxy.store import Store, StoredArticle, StoredFeed, StoredOutput, flight, open_store
from proxy.store.lru import BoundedBytes
from proxy.store.redis_store import RedisStore, redact
from tests.redis_server import BOTH_BACKENDS, RedisServer, needs_redis

FEED = StoredFeed(
    url="https://a.test/f", final_url="https://a.test/f2", body=b"<rss/>" * 1000,
    content_type="text/xml", kind="rss", etag='"e"', last_modified=None,
    fetched_at=1.0, checked_at=2.0,
)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    opened = open_store(settings.cache_dir, settings.cache_url)
    yield opened
    await opened.close()


@BOTH_BACKENDS
async def test_records_round_trip(store: Store) -> None:
    assert await store.ping() == ""
    await store.put_feed(FEED)
    await store.put_output("k", StoredOutput(b"out", '"x"', 3.0, gzip_body=b"gz"))
    article = StoredArticle(url="https://a.test/1", final_url="https://a.test/1", html="<p>✓</p>",
                            recipe="r", fetched_at=1.0, digest="d")
    failed = StoredArticle(url="https://a.test/2", final_url="https://a.test/2", html=None,
                           recipe="r", fetched_at=1.0, reason="404")
    await store.put_article(article, expire=60)
    await store.put_article(failed, expire=60)
    await store.put_referer("img.test", "origin", 60)
    await store.put_state("backoff:a.test", {"failures": 2, "reason": "x"}, 60)
    assert await store.get_feed(FEED.url) == FEED
    assert await store.get_feed("https://a.test/other") is None
    assert await store.get_output("k") == StoredOutput(b"out", '"x"', 3.0, gzip_body=b"gz")
    found = await store.get_articles([article.url, failed.url, "https://a.test/none"])
    assert found == {article.url: article, failed.url: failed}
    assert await store.get_referer("img.test") == "origin"
    assert await store.get_referer("other.test") is None
    assert await store.get_state("backoff:a.test") == {"failures": 2, "reason": "x"}
    assert await store.get_state("backoff:b.test") is None
    await store.put_memory("feed", {"fingerprints": ["a", "b"]})
    assert await store.get_memory("feed") == {"fingerprints": ["a", "b"]}
    assert await store.get_memory("other") is None


@BOTH_BACKENDS
async def test_a_confirmed_body_reads_back_checked_without_being_written_again(
    store: Store,
) -> None:
    await store.put_feed(FEED)
    checked = dataclasses.replace(FEED, checked_at=9.0, etag='"f"', last_modified="Tue")
    await store.confirm_feed(checked)
    assert await store.get_feed(FEED.url) == checked
    # An older check (another replica's, late) never moves checked_at back.
    await store.confirm_feed(dataclasses.replace(FEED, checked_at=1.5))
    assert await store.get_feed(FEED.url) == FEED
    # A check names the body it confirmed: a new body is not confirmed by the old one's.
    await store.confirm_feed(checked)
    newer = dataclasses.replace(FEED, body=b"<rss>new</rss>", fetched_at=5.0, checked_at=5.0)
    await store.put_feed(newer)
    assert await store.get_feed(FEED.url) == newer
    # A check with no body under it is no feed.
    await store.confirm_feed(dataclasses.replace(FEED, url="https://a.test/none"))
    assert await store.get_feed("https://a.test/none") is None


@BOTH_BACKENDS
async def test_a_lock_has_one_holder_and_wakes_its_waiters(store: Store) -> None:
    token = await store.acquire("fetch:x", 5)
    assert token is not None
    if isinstance(store, RedisStore):
        assert await store.acquire("fetch:x", 5) is None  # held
    started = time.monotonic()
    waiter = asyncio.ensure_future(store.wait("fetch:x", 5))
    await asyncio.sleep(0.05)
    await store.release("fetch:x", token)
    await waiter
    assert time.monotonic() - started < 4  # woken by the release, not by the timeout
    assert await store.acquire("fetch:x", 5) is not None


@BOTH_BACKENDS
async def test_flight_runs_the_work_once_per_name(store: Store) -> None:
    ran = 0
    result: dict[str, str] = {}

    async def work() -> str:
        nonlocal ran
        ran += 1
        await asyncio.sleep(0.1)
        result["x"] = "done"
        return "done"

    async def settled() -> str | None:
        return result.get("x")

    answers = await asyncio.gather(
        *(flight.once(store, "n", ttl=5, work=work, settled=settled) for _ in range(5))
    )
    assert answers == ["done"] * 5
    # On diskcache every caller holds the (local) lock: the in-process SingleFlight is what
    # makes one there; on Redis the lock alone does.
    assert ran == (1 if isinstance(store, RedisStore) else 5)


@needs_redis
async def test_a_burst_beyond_the_connection_pool_waits_and_does_not_degrade(
    redis_server: RedisServer, tmp_path: Any
) -> None:
    redis_server.flush()
    store = RedisStore(redis_server.url, str(tmp_path))
    try:
        await store.put_feed(FEED)
        found = await asyncio.gather(*(store.get_feed(FEED.url) for _ in range(1000)))
        assert found == [FEED] * 1000
        assert store.degraded == ""
    finally:
        await store.close()


@needs_redis
async def test_a_unix_socket_url_works(redis_server: RedisServer, tmp_path: Any) -> None:
    store = open_store(str(tmp_path), redis_server.unix_url)
    try:
        assert isinstance(store, RedisStore)
        await store.put_feed(FEED)
        assert await store.get_feed(FEED.url) == FEED
        assert await store.ping() == ""
    finally:
        await store.close()


@needs_redis
async def test_a_lock_whose_holder_died_expires(redis_server: RedisServer, tmp_path: Any) -> None:
    redis_server.flush()
    dead = RedisStore(redis_server.url, str(tmp_path / "a"))
    alive = RedisStore(redis_server.url, str(tmp_path / "b"))
    try:
        assert await dead.acquire("fetch:y", 0.5) is not None  # and never released
        started = time.monotonic()
        await alive.wait("fetch:y", 10)
        assert 0.3 < time.monotonic() - started < 5
        assert await alive.acquire("fetch:y", 5) is not None
    finally:
        await dead.close()
        await alive.close()


@needs_redis
async def test_an_unreachable_server_degrades_and_never_raises(tmp_path: Any) -> None:
    from tests.redis_server import free_port

    store = RedisStore(f"redis://:hunter2@127.0.0.1:{free_port()}/0", str(tmp_path))
    try:
        await store.put_feed(FEED)  # lands in memory, marked for writing back
        assert await store.get_feed(FEED.url) == FEED
        assert await store.get_output("nothing") is None
        reason = await store.ping()
        assert reason.startswith("shared cache redis://:***@127.0.0.1:")
        assert "hunter2" not in reason
        assert await store.acquire("fetch:z", 5) is not None  # local: fetch directly
        await store.wait("fetch:z", 5)  # returns at once
    finally:
        await store.close()


async def test_a_server_that_never_answers_degrades_within_the_command_timeout(
    tmp_path: Any,
) -> None:
    """Slow is down too: a server that accepts and stays silent costs one timeout, then
    the store answers from memory at once."""
    silent: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)  # keep it open, say nothing

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    store = RedisStore(f"redis://127.0.0.1:{port}/0", str(tmp_path))
    try:
        started = time.monotonic()
        assert await store.get_feed(FEED.url) is None
        assert time.monotonic() - started < 5  # one command timeout (1 s), generously
        assert store.degraded
        await store.put_feed(FEED)
        started = time.monotonic()
        assert await store.get_feed(FEED.url) == FEED
        assert time.monotonic() - started < 0.9  # no second timeout (1 s): memory answers
    finally:
        await store.close()
        for writer in silent:
            writer.close()
        server.close()
        await server.wait_closed()


def test_redact_hides_only_the_password() -> None:
    assert redact("redis://user:pw@h:6380/1") == "redis://user:***@h:6380/1"
    assert redact("unix:///run/redis.sock") == "unix:///run/redis.sock"


def test_bounded_bytes_keeps_to_its_bounds() -> None:
    memory = BoundedBytes(max_bytes=1000, max_entries=3)
    far = time.time() + 60
    for n in range(5):
        memory.put(str(n), b"x" * 100, far)
    assert len(memory) == 3 and memory.get("0") is None and memory.get("4") is not None
    memory.put("big", b"x" * 900, far)  # more than an eighth of the bound: not kept
    assert memory.get("big") is None and memory.size <= 1000
    memory.put("old", b"x", time.time() - 1)
    assert memory.get("old") is None


def test_bad_cache_url_stops_startup() -> None:
    from proxy.errors import ConfigError

    with pytest.raises(ConfigError, match="FEEDSCRUB_CACHE_URL"):
        Settings(cache_url="http://redis:6379").validate()


@BOTH_BACKENDS
async def test_the_lock_holder_reads_the_store_again_before_asking(store: Store) -> None:
    """Another replica may store the body between this one's look and its taking the lock."""
    from proxy.pipeline.freshness import Freshness

    freshness = Freshness(store, stale_while_revalidate=0, negative_ttl=0)

    async def ask(validators: object) -> Any:
        raise AssertionError("the upstream was asked although the store had the body")

    await store.put_feed(FEED)  # "meanwhile", by another replica
    state = await freshness._fetch_once(FEED.url, None, ask)  # noqa: SLF001
    assert state.stored == FEED and not state.asked_upstream
