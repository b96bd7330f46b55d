"""Issue 9.3: memory that only grows. Every in-memory map is bounded in size and in age."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

import proxy.pipeline.freshness
from proxy.bounded import BoundedMap
from proxy.server import PIPELINE, create_app
from tests.helpers import move_clock
from tests.upstream import Upstream


async def test_remembered_404_urls_are_bounded_in_size_and_age(
    upstream: Upstream,
    aiohttp_client: AiohttpClient,
    make_settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The real bound is 10,000 (bench/memory_404.py measures 60,000 URLs); 50 keeps this quick.
    monkeypatch.setattr(proxy.pipeline.freshness, "GONE_ENTRIES", 50)
    client = await aiohttp_client(create_app(make_settings(negative_ttl=300)))
    assert client.app is not None
    pipeline = client.app[PIPELINE]
    for i in range(120):  # the upstream answers 404 for every path it does not know
        response = await client.get("/feed", params={"url": upstream.url(f"/gone{i}.xml")})
        assert response.status == 502
    assert len(pipeline.freshness.gone) == 50
    # The newest are the ones remembered: asking again answers from memory.
    await client.get("/feed", params={"url": upstream.url("/gone119.xml")})
    assert upstream.hits["/gone119.xml"] == 1
    move_clock(client, 301)
    assert len(pipeline.freshness.gone) == 0


def test_bounded_map_drops_the_oldest_past_its_size_weight_and_age() -> None:
    now = [0.0]
    sized: BoundedMap[int, str] = BoundedMap(3, 10.0, lambda: now[0])
    for i in range(5):
        sized.set(i, str(i))
    assert list(sized) == [2, 3, 4] and sized.get(0) is None and sized.get(4) == "4"
    sized.set(2, "again")  # setting refreshes: 2 is now the newest
    sized.set(5, "5")
    assert list(sized) == [4, 2, 5]
    now[0] = 10.0
    assert sized.get(5) is None and len(sized) == 0
    weighed: BoundedMap[str, bytes] = BoundedMap(
        100, 10.0, lambda: now[0], weigh=len, max_weight=10
    )
    weighed.set("a", b"x" * 6)
    weighed.set("b", b"x" * 6)
    assert list(weighed) == ["b"] and weighed.weight == 6
    weighed.set("huge", b"x" * 11)  # heavier than the bound on its own: not kept
    assert list(weighed) == ["b"]
    weighed.pop("b")
    assert weighed.weight == 0


async def test_no_unbounded_map_in_the_pipeline(
    aiohttp_client: AiohttpClient, make_settings: Any
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    assert client.app is not None
    pipeline = client.app[PIPELINE]
    for owner in (pipeline, pipeline.freshness, pipeline.backoff):
        plain = [name for name, value in vars(owner).items() if isinstance(value, dict)]
        assert plain == [], f"{type(owner).__name__} keeps plain dicts: {plain}"
