"""A refresh through the real app: a real upstream on 127.0.0.1, diskcache in a temp dir.

A refresh where one item changed cleans that item only and serves what a cold build of the
new body serves; the same bytes again are not parsed, cleaned or rendered again.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from proxy import parse
from proxy.config import Settings
from proxy.feedconfig import FeedsConfig
from proxy.pipeline import jobs
from proxy.reload import compile_feeds
from proxy.server import PIPELINE, create_app
from proxy.store import StoredFeed
from tests.helpers import DATA, move_clock
from tests.upstream import Upstream

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]
TTL = 60


@pytest.fixture
def make_client(aiohttp_client: AiohttpClient, make_settings: Any) -> MakeClient:
    async def build(**changes: Any) -> TestClient[Any, Any]:
        return await aiohttp_client(
            create_app(make_settings(ttl=TTL, stale_while_revalidate=0, **changes))
        )

    return build


async def _get(client: TestClient[Any, Any], url: str) -> bytes:
    response = await client.get("/feed", params={"url": url})
    body = await response.read()
    assert response.status == 200, body
    return body


def _one_item_changed(body: bytes) -> bytes:
    # The first item's first paragraph (the seed feed's RFI item), as upstream edits it.
    changed = body.replace("布林肯".encode(), "布林肯（更新）".encode(), 1)
    assert changed != body
    return changed


async def test_one_changed_item_is_cleaned_alone_and_served_as_cold(
    upstream: Upstream, make_client: MakeClient, tmp_path: Path
) -> None:
    first = (DATA / "feeds" / "feedx-rfi.xml").read_bytes()
    url = upstream.route("/rfi.xml", first)
    client = await make_client()
    items = client.app[PIPELINE].items
    await _get(client, url)
    misses = items.misses
    upstream.route("/rfi.xml", _one_item_changed(first))
    move_clock(client, TTL + 1)
    refreshed = await _get(client, url)
    assert "布林肯（更新）" in refreshed.decode()
    assert items.misses - misses == 1  # one field of one item cleaned again
    # The same new body, cold, in another app (its own cache) with the same secret.
    cold_client = await make_client(cache_dir=str(tmp_path / "cold"))
    assert await _get(cold_client, url) == refreshed


async def test_a_spliced_refresh_under_each_host_serves_what_a_cold_build_serves(
    upstream: Upstream, make_client: MakeClient, tmp_path: Path
) -> None:
    # Cleaned feeds are kept on a placeholder base and rebased per Host; a spliced refresh
    # rebases only the items it renders anew. Served under two Hosts after a one-item
    # change, each answer is what a cold build of the new body serves under that Host.
    first = (DATA / "feeds" / "feedx-rfi.xml").read_bytes()
    url = upstream.route("/rfi.xml", first)
    client = await make_client(public_url="")  # the public base is the request's Host
    splicer = client.app[PIPELINE].splicer
    hosts = ("feeds-a.example", "feeds-b.example")

    async def served(on: TestClient[Any, Any], host: str) -> bytes:
        response = await on.get("/feed", params={"url": url}, headers={"Host": host})
        body = await response.read()
        assert response.status == 200, body
        return body

    for host in hosts:
        await served(client, host)
    renders = splicer.renders
    upstream.route("/rfi.xml", _one_item_changed(first))
    move_clock(client, TTL + 1)
    refreshed = [await served(client, host) for host in hosts]
    assert splicer.renders == renders + 2  # both outputs spliced, not built in full
    cold_client = await make_client(public_url="", cache_dir=str(tmp_path / "cold"))
    for host, body in zip(hosts, refreshed, strict=True):
        assert f"//{host}/img/".encode() in body  # images proxied on this Host's base
        assert await served(cold_client, host) == body


async def test_same_bytes_again_are_not_parsed_again(
    upstream: Upstream, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No ETag or Last-Modified: the upstream answers 200 with the whole body every time.
    url = upstream.route("/rfi.xml", (DATA / "feeds" / "feedx-rfi.xml").read_bytes())
    client = await make_client()
    parsed: list[str] = []
    real = parse.parse

    def counting(result: Any) -> Any:
        parsed.append(result.url)
        return real(result)

    monkeypatch.setattr(parse, "parse", counting)
    first = await client.get("/feed", params={"url": url})
    body = await first.read()
    assert len(parsed) == 1
    move_clock(client, TTL + 1)
    again = await client.get("/feed", params={"url": url})
    assert await again.read() == body
    assert upstream.hits["/rfi.xml"] == 2  # asked again, past its TTL
    assert len(parsed) == 1  # but the same bytes were not parsed again
    assert again.headers["ETag"] == first.headers["ETag"]
    # Changed bytes are parsed (and checked to be a feed) as ever.
    upstream.route("/rfi.xml", _one_item_changed((DATA / "feeds" / "feedx-rfi.xml").read_bytes()))
    move_clock(client, 2 * (TTL + 1))
    await _get(client, url)
    assert len(parsed) == 2


async def test_an_unchanged_refresh_writes_a_check_not_the_body(
    upstream: Upstream, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A 304, or the same bytes in a 200, writes only the check (checked_at, validators)
    beside the stored body; the log says which one it was."""
    body = (DATA / "feeds" / "feedx-rfi.xml").read_bytes()
    plain = upstream.route("/plain.xml", body)  # no validators: the same bytes in a 200
    tagged = upstream.route("/tagged.xml", body, validators=True)  # ETag: a 304
    client = await make_client()
    store = client.app[PIPELINE].cache
    for url in (plain, tagged):
        await _get(client, url)
    written: list[str] = []
    real = store.put_feed

    async def counting(stored: Any) -> None:
        written.append(stored.url)
        await real(stored)

    store.put_feed = counting  # type: ignore[method-assign]
    move_clock(client, TTL + 1)
    caplog.set_level("INFO", logger="proxy.pipeline.freshness")
    for url in (plain, tagged):
        served = await client.get("/feed", params={"url": url})
        assert served.status == 200
        assert served.headers["Age"] == "0"  # the check was seen: the body is fresh again
    assert written == []
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("fetch ")]
    assert any(f"feed_url={plain} status=200 unchanged=1" in line for line in lines), lines
    assert any(f"feed_url={tagged} status=304" in line for line in lines), lines
    for url in (plain, tagged):
        stored = await store.get_feed(url)
        assert stored is not None and stored.body == body
        assert stored.checked_at > stored.fetched_at
    tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    tagged_stored = await store.get_feed(tagged)
    assert tagged_stored is not None and tagged_stored.etag == tag
    # Still fresh from the check, on this app's clock: not asked again.
    hits = dict(upstream.hits)
    await _get(client, plain)
    assert upstream.hits == hits


async def test_preview_after_a_warm_cache_still_shows_every_removal(
    upstream: Upstream, make_client: MakeClient
) -> None:
    """The preview page cleans with attribution and marked copies: it never takes items
    from the cache, however warm."""
    url = upstream.route("/rfi.xml", (DATA / "feeds" / "feedx-rfi.xml").read_bytes())
    client = await make_client()
    await _get(client, url)
    items = client.app[PIPELINE].items
    assert len(items) > 0
    hits = items.hits
    response = await client.get("/preview", params={"url": url})
    assert response.status == 200
    page = await response.text()
    assert items.hits == hits
    for rule in ("feedx.footer", "share.endpoint_links", "spans.bare"):
        assert f'<tr data-rule="{rule}">' in page, rule
    for rule in ("feedx.footer", "share.endpoint_links"):  # marked in place
        assert f'<span class="fs-rule">{rule}</span>' in page, rule


def test_a_body_keys_alike_with_or_without_its_digest_kept(settings: Settings) -> None:
    """The clean key names the body by its digest: the one kept with a fetched body, or one
    computed for a record written without it, are the same key; another body is not."""
    body = (DATA / "feeds" / "feedx-rfi.xml").read_bytes()
    job = jobs.adhoc(compile_feeds(FeedsConfig()), "http://a.test/f", None, "http://p.test")
    stored = StoredFeed("http://a.test/f", "http://a.test/f", body, "text/xml", "rss",
                        None, None, 1.0, 2.0)
    kept = dataclasses.replace(stored, digest=hashlib.sha256(body).hexdigest())
    key = jobs.clean_key(settings, "k", stored, job, None, "")
    assert jobs.clean_key(settings, "k", kept, job, None, "") == key
    other = dataclasses.replace(stored, body=_one_item_changed(body))
    assert jobs.clean_key(settings, "k", other, job, None, "") != key
