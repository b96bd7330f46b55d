"""Issue 9.7: odd input gets the right status and one line, never a 500 or a traceback."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from proxy.server import create_app
from tests.helpers import seed_feed
from tests.server.test_images import PNG, cached
from tests.upstream import Upstream


@pytest.mark.parametrize(
    "limit",
    ["²", "①", "٣", "1" * 5000, "0", "-1", "1.5", " 1"],
    ids=[
        "superscript",
        "circled",
        "arabic-indic",
        "5000-digits",
        "zero",
        "negative",
        "float",
        "space",
    ],
)
async def test_odd_limits_are_400(
    upstream: Upstream, aiohttp_client: AiohttpClient, make_settings: Any, limit: str
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await aiohttp_client(create_app(make_settings()))
    response = await client.get("/feed", params={"url": url, "limit": limit})
    text = await response.text()
    assert response.status == 400, text
    assert text.count("\n") == 1 and "limit" in text and len(text) < 300


async def test_a_big_but_sane_limit_is_served(
    upstream: Upstream, aiohttp_client: AiohttpClient, make_settings: Any
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await aiohttp_client(create_app(make_settings()))
    response = await client.get("/feed", params={"url": url, "limit": "999999999"})
    assert response.status == 200


@pytest.mark.parametrize(
    "header",
    ["bytes=0-" + "9" * 5000, "bytes=" + "9" * 5000 + "-", "bytes=-" + "9" * 5000],
    ids=["end-5000-digits", "start-5000-digits", "suffix-5000-digits"],
)
async def test_absurd_ranges_are_416_not_500(
    upstream: Upstream, aiohttp_client: AiohttpClient, make_settings: Any, header: str
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    path, _ = await cached(upstream, client)
    response = await client.get(path, headers={"Range": header})
    assert response.status == 416, await response.text()
    assert response.headers["Content-Range"] == f"bytes */{len(PNG)}"


@pytest.mark.parametrize("header", ["bytes=²-", "bytes=0-①", "bytes=٣-"])
async def test_ranges_in_other_digits_are_ignored(
    upstream: Upstream, aiohttp_client: AiohttpClient, make_settings: Any, header: str
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    path, _ = await cached(upstream, client)
    response = await client.get(path, headers={"Range": header.encode().decode("latin-1")})
    assert response.status == 200 and await response.read() == PNG
