"""freshness: when the upstream is asked. A fake clock and a fake upstream (no HTTP); the
store is the real diskcache one in a temp dir."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from proxy.errors import UpstreamBackoff, UpstreamStatus, UpstreamUnreachable
from proxy.models import Feed, FetchResult, Rendered, Validators
from proxy.pipeline.freshness import STALE_RETRY_SECONDS, BodyState, Freshness
from proxy.store import DiskStore

URL = "https://feeds.test/rss"
TTL = 100


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class FakeUpstream:
    """Answers ``ask`` as scripted; records the validators of each request."""

    def __init__(self) -> None:
        self.asked: list[Validators | None] = []
        self.fail: Exception | None = None
        self.not_modified = False
        self.gate: asyncio.Event | None = None  # when set, answers wait for it

    async def __call__(self, validators: Validators | None) -> tuple[FetchResult, Feed | None]:
        self.asked.append(validators)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        if self.not_modified and validators is not None:
            return FetchResult(URL, 304, b"", "application/rss+xml", etag='"v1"'), None
        body = f"<rss>{len(self.asked)}</rss>".encode()
        result = FetchResult(URL, 200, body, "application/rss+xml", etag='"v1"')
        return result, Feed(kind="rss", source_url=URL, title="t", link=None, description=None)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[DiskStore]:
    opened = DiskStore(str(tmp_path / "cache"))
    yield opened
    await opened.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def freshness(store: DiskStore, clock: Clock) -> Freshness:
    made = Freshness(store, stale_while_revalidate=50, negative_ttl=300)
    made.clock = clock
    return made


async def test_fresh_within_the_ttl_then_revalidated(freshness: Freshness, clock: Clock) -> None:
    upstream = FakeUpstream()
    first = await freshness.body(URL, TTL, upstream)
    assert first.asked_upstream and first.feed is not None
    clock.now += TTL - 1
    assert not (await freshness.body(URL, TTL, upstream)).asked_upstream
    assert len(upstream.asked) == 1
    clock.now += 1 + 50  # past the TTL and the stale-while-revalidate window
    upstream.not_modified = True
    again = await freshness.body(URL, TTL, upstream)
    assert again.asked_upstream and again.feed is None  # a 304: the cached body, younger
    assert upstream.asked[-1] == Validators('"v1"', None)
    assert again.stored.checked_at == clock.now


async def test_stale_while_revalidate_answers_at_once_and_refreshes_once(
    freshness: Freshness, clock: Clock
) -> None:
    upstream = FakeUpstream()
    await freshness.body(URL, TTL, upstream)
    clock.now += TTL + 10
    upstream.gate = asyncio.Event()  # the refresh hangs until we let it go
    states = [await freshness.body(URL, TTL, upstream) for _ in range(3)]
    assert all(s.revalidating and not s.asked_upstream for s in states)
    # The refresh reaches the upstream after a few store reads (the fetch lock, the shared
    # backoff records): wait for it, boundedly.
    for _ in range(200):
        if len(upstream.asked) == 2:
            break
        await asyncio.sleep(0.01)
    assert len(upstream.asked) == 2  # exactly one background refresh
    upstream.gate.set()
    await freshness.settle()
    assert not (await freshness.body(URL, TTL, upstream)).revalidating


async def test_a_failure_serves_the_stale_copy(freshness: Freshness, clock: Clock) -> None:
    upstream = FakeUpstream()
    good = await freshness.body(URL, TTL, upstream)
    clock.now += TTL + 60
    upstream.fail = UpstreamUnreachable("fetch: connection refused")
    state = await freshness.body(URL, TTL, upstream)
    assert state.stale_reason == "fetch: connection refused" and state.stale_status == 502
    assert state.stored.body == good.stored.body  # the good copy is never replaced


async def test_without_a_copy_the_failure_is_the_answer(freshness: Freshness) -> None:
    upstream = FakeUpstream()
    upstream.fail = UpstreamUnreachable("fetch: connection refused")
    with pytest.raises(UpstreamUnreachable):
        await freshness.body(URL, TTL, upstream)


async def test_a_gone_feed_is_remembered_for_the_negative_ttl(
    freshness: Freshness, clock: Clock
) -> None:
    upstream = FakeUpstream()
    upstream.fail = UpstreamStatus("fetch: upstream answered 410 Gone", 410)
    for _ in range(3):
        with pytest.raises(UpstreamStatus) as raised:
            await freshness.body(URL, TTL, upstream)
        assert raised.value.upstream_status == 410
    assert len(upstream.asked) == 1  # answered from memory afterwards
    clock.now += 301
    upstream.fail = None
    assert (await freshness.body(URL, TTL, upstream)).asked_upstream


async def test_a_failing_url_is_backed_off(freshness: Freshness, clock: Clock) -> None:
    upstream = FakeUpstream()
    upstream.fail = UpstreamUnreachable("fetch: connection reset")
    outcomes: list[type[Exception]] = []
    for _ in range(6):
        try:
            await freshness.body(URL, TTL, upstream)
        except (UpstreamUnreachable, UpstreamBackoff) as exc:
            outcomes.append(type(exc))
    assert UpstreamBackoff in outcomes
    assert len(upstream.asked) < 6  # backed-off requests never reached the upstream


async def test_concurrent_misses_share_one_request(freshness: Freshness) -> None:
    upstream = FakeUpstream()
    upstream.gate = asyncio.Event()
    waiting = [asyncio.ensure_future(freshness.body(URL, TTL, upstream)) for _ in range(5)]
    await asyncio.sleep(0.01)
    upstream.gate.set()
    states = await asyncio.gather(*waiting)
    assert len(upstream.asked) == 1
    assert len({s.stored.body for s in states}) == 1


def _rendered(body: bytes = b"<rss/>", stale: bool = False) -> Rendered:
    return Rendered(
        body=body, content_type="application/rss+xml", etag='"e"', last_modified=0, stale=stale
    )


async def test_hot_copies_live_while_fresh(freshness: Freshness, clock: Clock) -> None:
    upstream = FakeUpstream()
    state = await freshness.body(URL, TTL, upstream)
    freshness.remember("job", _rendered(), state, TTL, pending=False)
    clock.now += 40
    hot = freshness.hot("job")
    assert hot is not None and hot.age == 40 and hot.ttl == TTL - 40 and not hot.fetched
    clock.now += TTL
    assert freshness.hot("job") is None
    freshness.remember("job", _rendered(), state, TTL, pending=True)  # articles still coming
    assert freshness.hot("job") is None
    freshness.remember("job", _rendered(), state, TTL, pending=False)
    freshness.forget_outputs()
    assert freshness.hot("job") is None


async def test_a_stale_output_is_kept_for_the_retry_interval_only(
    freshness: Freshness, clock: Clock
) -> None:
    state = BodyState((await freshness.body(URL, TTL, FakeUpstream())).stored)
    freshness.remember("job", _rendered(stale=True), state, TTL, pending=False)
    clock.now += STALE_RETRY_SECONDS - 1
    assert freshness.hot("job") is not None
    clock.now += 2
    assert freshness.hot("job") is None
