"""Named feeds from the config file: routes, OPML, index, filters, custom rules, reload."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import feedparser
import pytest
from aiohttp.test_utils import TestClient
from lxml import etree
from pytest_aiohttp import AiohttpClient

from proxy.server import PIPELINE, create_app
from tests.helpers import read_feed, seed_feed
from tests.upstream import Upstream

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def config_file(tmp_path: Path, upstream: Upstream) -> Callable[[str], Path]:
    upstream.route("/rfi.xml", seed_feed())
    path = tmp_path / "feedscrub.toml"

    def write(extra: str = "") -> Path:
        path.write_text(
            f"""
[[feeds]]
name = "rfi"
title = "RFI cleaned"
url = "{upstream.url("/rfi.xml")}"
{extra}

[[feeds]]
name = "rfi-atom"
url = "{upstream.url("/rfi.xml")}"
format = "atom"
exclude = [{{ field = "title", pattern = "第二条" }}]
""",
            encoding="utf-8",
        )
        return path

    return write


@pytest.fixture
def make_client(aiohttp_client: AiohttpClient, make_settings: Any) -> MakeClient:
    async def build(**changes: Any) -> TestClient[Any, Any]:
        return await aiohttp_client(create_app(make_settings(**changes)))

    return build


async def test_named_feed_and_suffixes(
    config_file: Callable[[str], Path], make_client: MakeClient, upstream: Upstream
) -> None:
    client = await make_client(config=str(config_file("")))
    response = await client.get("/feeds/rfi")
    assert response.status == 200
    feed = read_feed(await response.read())
    assert feed.version == "rss20"
    assert "获取更多RSS" not in feed.entries[0].description
    assert any(link.href == "http://proxy.test/feeds/rfi" for link in feed.feed.links)
    atom = read_feed(await (await client.get("/feeds/rfi.atom")).read())
    assert atom.version == "atom10"
    configured = read_feed(await (await client.get("/feeds/rfi-atom")).read())
    assert configured.version == "atom10"
    # The exclude filter dropped the second item; nothing else.
    assert len(configured.entries) == 1
    assert configured.entries[0].title == "美中会谈同意再谈  重大议题无突破"
    assert upstream.hits["/rfi.xml"] == 1  # two named feeds, one upstream body


async def test_unknown_name_lists_the_valid_ones(
    config_file: Callable[[str], Path], make_client: MakeClient
) -> None:
    client = await make_client(config=str(config_file("")))
    response = await client.get("/feeds/nope")
    assert response.status == 404
    text = await response.text()
    assert "rfi, rfi-atom" in text and text.count("\n") == 1


async def test_opml_lists_every_named_feed(
    config_file: Callable[[str], Path], make_client: MakeClient, upstream: Upstream
) -> None:
    client = await make_client(config=str(config_file("")))
    response = await client.get("/opml")
    assert response.status == 200
    root = etree.fromstring(await response.read())
    assert root.get("version") == "2.0"
    outlines = root.findall("./body/outline")
    assert [(o.get("text"), o.get("xmlUrl"), o.get("type")) for o in outlines] == [
        ("RFI cleaned", "http://proxy.test/feeds/rfi", "rss"),
        ("rfi-atom", "http://proxy.test/feeds/rfi-atom", "rss"),
    ]
    assert outlines[0].get("htmlUrl") is None  # the site is known once the feed is fetched
    assert (await client.get("/feeds/rfi")).status == 200
    outlines = etree.fromstring(await (await client.get("/opml")).read()).findall("./body/outline")
    site = feedparser.parse(seed_feed()).feed.link
    assert site and site != upstream.url("/rfi.xml")
    assert outlines[0].get("htmlUrl") == site  # the site, not the upstream XML


async def test_index_lists_named_feeds(
    config_file: Callable[[str], Path], make_client: MakeClient
) -> None:
    client = await make_client(config=str(config_file("")))
    page = await (await client.get("/")).text()
    assert 'href="http://proxy.test/feeds/rfi"' in page
    assert "RFI cleaned" in page and 'action="/feed"' in page and "<script" not in page


async def test_adhoc_can_be_turned_off(
    config_file: Callable[[str], Path], make_client: MakeClient, upstream: Upstream
) -> None:
    client = await make_client(config=str(config_file("")), adhoc=False)
    response = await client.get("/feed", params={"url": upstream.url("/rfi.xml")})
    assert response.status == 403
    assert "FEEDSCRUB_ADHOC" in await response.text()
    assert (await client.get("/feeds/rfi")).status == 200
    assert 'action="/feed"' not in await (await client.get("/")).text()


async def test_adhoc_limit_parameter(make_client: MakeClient, upstream: Upstream) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client()
    feed = read_feed(await (await client.get("/feed", params={"url": url, "limit": "1"})).read())
    assert [e.id for e in feed.entries] == ["1687126501000"]
    bad = await client.get("/feed", params={"url": url, "limit": "-3"})
    assert bad.status == 400


async def test_custom_rule_from_config(
    config_file: Callable[[str], Path], make_client: MakeClient
) -> None:
    client = await make_client(config=str(config_file('remove_text = ["布林肯原本计划"]')))
    feed = read_feed(await (await client.get("/feeds/rfi")).read())
    assert "布林肯原本计划" not in feed.entries[0].description
    assert "布林肯此行北京" in feed.entries[0].description


async def _wait_for(condition: Callable[[], Awaitable[bool]], seconds: float = 8.0) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await condition():
            return True
        await asyncio.sleep(0.1)
    return False


async def test_reload_applies_rules_without_refetch(
    config_file: Callable[[str], Path], make_client: MakeClient, upstream: Upstream
) -> None:
    path = config_file("")
    client = await make_client(config=str(path))
    first = read_feed(await (await client.get("/feeds/rfi")).read())
    assert "布林肯原本计划" in first.entries[0].description
    config_file('remove_text = ["布林肯原本计划"]')
    os.kill(os.getpid(), signal.SIGHUP)

    async def changed() -> bool:
        feed = read_feed(await (await client.get("/feeds/rfi")).read())
        return "布林肯原本计划" not in feed.entries[0].description

    assert await _wait_for(changed)
    assert upstream.hits["/rfi.xml"] == 1  # the cached body was re-cleaned, not refetched


async def test_reload_on_file_change_without_signal(
    config_file: Callable[[str], Path], make_client: MakeClient
) -> None:
    path = config_file("")
    client = await make_client(config=str(path))
    await client.get("/feeds/rfi")
    config_file('remove_text = ["布林肯原本计划"]')
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000_000))

    async def changed() -> bool:
        body = await (await client.get("/feeds/rfi")).read()
        return "布林肯原本计划" not in read_feed(body).entries[0].description

    assert await _wait_for(changed)


async def test_bad_reload_keeps_serving_the_old_config(
    config_file: Callable[[str], Path], make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    path = config_file('remove_text = ["布林肯原本计划"]')
    client = await make_client(config=str(path))
    pipeline = client.app[PIPELINE]
    before = pipeline.feeds
    path.write_text(path.read_text(encoding="utf-8") + '\nremove = ["div["]\n', encoding="utf-8")
    os.kill(os.getpid(), signal.SIGHUP)

    async def logged() -> bool:
        return "reload refused" in caplog.text

    assert await _wait_for(logged)
    assert pipeline.feeds is before
    feed = read_feed(await (await client.get("/feeds/rfi")).read())
    assert "布林肯原本计划" not in feed.entries[0].description


def test_server_refuses_to_start_on_a_bad_config(tmp_path: Path, make_settings: Any) -> None:
    from proxy.errors import ConfigError

    bad = tmp_path / "bad.toml"
    bad.write_text('[[feeds]]\nname = "a"\nurl = "https://a.test/"\nremove = ["div["]\n')
    with pytest.raises(ConfigError, match=r'feeds\[0\]\.remove\[0\]: invalid CSS selector "div\["'):
        create_app(make_settings(config=str(bad)))


async def test_protected_named_feeds_list_signed_links_only_with_the_key(
    config_file: Callable[[str], Path], make_client: MakeClient
) -> None:
    key = "a-long-enough-access-key-1234"
    client = await make_client(config=str(config_file("")), access_key=key, protect_named=True)
    assert (await client.get("/opml")).status == 401
    assert "signed links" in await (await client.get("/")).text()
    opml = etree.fromstring(await (await client.get("/opml", params={"key": key})).read())
    link = opml.findall("./body/outline")[0].get("xmlUrl")
    assert link is not None and "?sig=" in link
    feed = await client.get(link.removeprefix("http://proxy.test"))
    assert feed.status == 200
    self_link = [x.href for x in read_feed(await feed.read()).feed.links if x.rel == "self"][0]
    assert self_link == link  # the self link works without the key too


async def test_cache_control_honours_the_feeds_own_ttl(
    config_file: Callable[[str], Path], make_client: MakeClient
) -> None:
    client = await make_client(config=str(config_file("ttl = 60")), ttl=900)
    named = await client.get("/feeds/rfi")
    assert named.headers["Cache-Control"] == "public, max-age=60"  # the feed's own ttl
    other = await client.get("/feeds/rfi-atom")
    assert other.headers["Cache-Control"] == "public, max-age=300"  # FEEDSCRUB_TTL, capped
    again = await client.get("/feeds/rfi")  # the hot copy says the same
    assert again.headers["Cache-Control"] == "public, max-age=60"


async def test_reload_says_which_settings_need_a_restart(
    config_file: Callable[[str], Path], make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    path = config_file("")
    path.write_text("[server]\nttl = 600\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    client = await make_client(config=str(path))
    started = client.app[PIPELINE].settings
    await client.get("/feeds/rfi")
    await asyncio.sleep(0.2)  # the watcher reads the file as it starts
    text = path.read_text(encoding="utf-8").replace("ttl = 600", "ttl = 60\nnegative_ttl = 5")
    path.write_text(text, encoding="utf-8")
    os.kill(os.getpid(), signal.SIGHUP)

    async def logged() -> bool:
        return "need a restart" in caplog.text

    assert await _wait_for(logged)
    line = next(r.getMessage() for r in caplog.records if "need a restart" in r.getMessage())
    assert "ttl" in line and "negative_ttl" in line and "port" not in line
    assert client.app[PIPELINE].settings is started  # still the started values
