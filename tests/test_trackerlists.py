"""Tracker lists people supply (FEEDSCRUB_TRACKER_LISTS, issue 12): Adblock Plus syntax read
by adblock-rust; blocked images removed like pixels, links to blocked pages unwrapped; a bad
list file is a one-line startup error; bounded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from proxy import trackerlists
from proxy.clean import DEFAULT_RULESET, clean, userlists
from proxy.errors import ConfigError
from proxy.reload import load_feeds
from proxy.server import PIPELINE, create_app
from proxy.trackerlists import ListError, TrackerLists
from tests.helpers import read_feed
from tests.test_sanitize import assert_safe
from tests.upstream import Upstream

LIST = """[Adblock Plus 2.0]
! Title: feedscrub test list
||img.mailer-x9.example^
||ads.example^
/banner/*$image
||stats.example^$third-party
@@||ads.example/ok/
example.org##.ad-box
"""


@pytest.fixture
def list_file(tmp_path: Path) -> Path:
    path = tmp_path / "trackers.txt"
    path.write_text(LIST, encoding="utf-8")
    return path


@pytest.fixture
def lists(list_file: Path) -> TrackerLists:
    loaded = trackerlists.load(str(list_file))
    assert loaded is not None
    return loaded


def _cleaned(html: str, lists: TrackerLists | None) -> str:
    return clean(html, userlists.extend(DEFAULT_RULESET, lists)).html


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            '<p>Text</p><img src="https://img.mailer-x9.example/i/2024/hero.jpg" width="20" '
            'height="20">',
            "<p>Text</p>",
            id="tracker-host-image-any-size",
        ),
        pytest.param(
            '<p>Text</p><img src="https://cdn.site.example/banner/spring.png" alt="Sale">',
            "<p>Text</p>",
            id="path-rule-image",
        ),
        pytest.param(
            '<p>Text</p><img src="//stats.example/p.gif">',
            "<p>Text</p>",
            id="protocol-relative-third-party-rule",
        ),
        pytest.param(
            '<p>Buy <a href="https://ads.example/click?id=9">the kettle</a> now.</p>',
            "<p>Buy the kettle now.</p>",
            id="link-to-a-blocked-host-unwrapped-text-kept",
        ),
    ],
)
def test_what_the_lists_block_goes(before: str, after: str, lists: TrackerLists) -> None:
    assert _cleaned(before, None) != after  # without the lists it stays (before)
    assert _cleaned(before, lists) == after
    assert_safe(_cleaned(before, lists))


@pytest.mark.parametrize(
    "html",
    [
        pytest.param(
            '<p>How <a href="https://news.example/ads/banner/how-ads-work">ads work</a>.</p>',
            id="article-link-on-a-path-rule",
        ),
        pytest.param(
            '<figure><img class="wp-image-12" src="https://blog.example/banner/diagram.png" '
            'alt="Our banner, explained"><figcaption>The banner</figcaption></figure>',
            id="authored-image-on-a-path-rule",
        ),
        pytest.param(
            '<p><img src="https://ads.example/ok/chart.png" alt="chart"></p>',
            id="exception-rule",
        ),
        pytest.param(
            "<p>We block ads.example and img.mailer-x9.example, sponsored or not.</p>",
            id="prose-naming-the-hosts",
        ),
        pytest.param('<p><img src="/banner/local.png" alt="relative"></p>', id="relative-url"),
        pytest.param('<div class="ad-box"><p>An ad box? Content.</p></div>', id="cosmetic-rule"),
    ],
)
def test_look_alikes_stay(html: str, lists: TrackerLists) -> None:
    assert _cleaned(html, lists) == _cleaned(html, None)


def test_removals_are_attributed(lists: TrackerLists) -> None:
    result = clean(
        '<p>x</p><img src="https://img.mailer-x9.example/p.gif">',
        userlists.extend(DEFAULT_RULESET, lists),
    )
    assert [r.rule for r in result.removals] == ["lists.trackers"]


def test_the_fingerprint_follows_the_lists(tmp_path: Path, lists: TrackerLists) -> None:
    other = tmp_path / "other.txt"
    other.write_text("||other.example^\n", encoding="utf-8")
    second = trackerlists.load(str(other))
    with_lists = userlists.extend(DEFAULT_RULESET, lists)
    assert with_lists.fingerprint != DEFAULT_RULESET.fingerprint
    assert userlists.extend(DEFAULT_RULESET, second).fingerprint != with_lists.fingerprint
    assert userlists.extend(with_lists, lists) is with_lists  # once


def test_an_item_past_its_lookup_budget_is_left(
    lists: TrackerLists, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(userlists, "MAX_CHECKS_PER_ITEM", 3)
    images = "".join(
        f'<img src="https://img.mailer-x9.example/{i}.gif" alt="p{i}">' for i in range(5)
    )
    out = lxml.html.fragment_fromstring(_cleaned(f"<p>t</p>{images}", lists), "div")
    assert [img.get("alt") for img in out.iter("img")] == ["p3", "p4"]


def test_long_urls_are_not_looked_up(lists: TrackerLists) -> None:
    url = "https://img.mailer-x9.example/" + "a" * trackerlists.MAX_URL_CHARS
    assert not lists.blocks_image(url)
    assert lists.blocks_image("https://img.mailer-x9.example/a")


# --- bad lists: one line at startup -----------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "cannot be read", id="missing"),
        pytest.param(b"||a.example^\n\xff\xfe\n", "is not UTF-8 text", id="not-utf8"),
        pytest.param(b"! only a comment\n\n[Adblock Plus 2.0]\n", "holds no rule", id="empty"),
    ],
)
def test_a_bad_list_is_one_line_naming_it(
    tmp_path: Path, content: bytes | None, message: str, make_settings: Any
) -> None:
    path = tmp_path / "bad.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ListError) as caught:
        trackerlists.load(f"{path}")
    assert message in str(caught.value) and str(path) in str(caught.value)
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError) as refused:
        make_settings(tracker_lists=str(path))
    assert str(refused.value).startswith("FEEDSCRUB_TRACKER_LISTS has value")
    assert "\n" not in str(refused.value) and message in str(refused.value)


def test_lists_over_the_bounds_are_refused(
    tmp_path: Path, list_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trackerlists, "MAX_RULES", 3)
    with pytest.raises(ListError, match="over 3 rules"):
        trackerlists.load(str(list_file))
    monkeypatch.setattr(trackerlists, "MAX_LIST_BYTES", 10)
    with pytest.raises(ListError, match="bytes"):
        trackerlists.load(str(list_file))


def test_serve_refuses_a_bad_list_in_one_line(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "FEEDSCRUB_CACHE_DIR": str(tmp_path / "cache"),
        "FEEDSCRUB_TRACKER_LISTS": str(tmp_path / "nope.txt"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "proxy", "serve", "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "FEEDSCRUB_TRACKER_LISTS" in lines[0] and "nope.txt" in lines[0]
    assert "Traceback" not in done.stderr


# --- through the server -----------------------------------------------------------------------


def _feed(base: str) -> bytes:
    item = (
        f'<p>Story <a href="https://ads.example/c?x=1">sponsor</a> and '
        f'<a href="{base}/more">more</a>.</p>'
        '<img src="https://img.mailer-x9.example/o.gif"><img src="https://images.example/a.jpg">'
    )
    return (
        '<?xml version="1.0"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>t</title>'
        f"<link>{base}/</link><description>d</description><item><title>i</title>"
        f"<link>{base}/i</link><guid>i1</guid>"
        f"<content:encoded><![CDATA[{item}]]></content:encoded></item></channel></rss>"
    ).encode()


async def test_served_feeds_apply_the_lists_and_a_reload_keeps_them(
    upstream: Upstream, aiohttp_client: AiohttpClient, make_settings: Any, list_file: Path
) -> None:
    url = upstream.route("/f.xml", _feed(upstream.base_url))
    client: TestClient[Any, Any] = await aiohttp_client(
        create_app(make_settings(tracker_lists=str(list_file), images="none"))
    )
    content = read_feed(await (await client.get("/feed", params={"url": url})).read())
    html = content.entries[0].content[0].value
    assert "img.mailer-x9.example" not in html and "ads.example" not in html
    assert "sponsor" in html and "images.example/a.jpg" in html and "/more" in html
    app = client.app
    assert app is not None
    pipeline = app[PIPELINE]

    pipeline.reload(load_feeds(None))
    assert any(r.id == "lists.trackers" for r in pipeline.feeds.defaults.custom_rules)


async def test_without_the_setting_nothing_changes(
    upstream: Upstream, aiohttp_client: AiohttpClient, make_settings: Any
) -> None:
    url = upstream.route("/f.xml", _feed(upstream.base_url))
    client: TestClient[Any, Any] = await aiohttp_client(create_app(make_settings(images="none")))
    html = read_feed(await (await client.get("/feed", params={"url": url})).read())
    assert "ads.example/c" in html.entries[0].content[0].value


def test_explain_shows_what_the_lists_removed(tmp_path: Path, list_file: Path) -> None:
    feed = tmp_path / "f.xml"
    feed.write_bytes(_feed("https://blog.example"))
    env = {
        "PATH": "/usr/bin:/bin",
        "FEEDSCRUB_CACHE_DIR": str(tmp_path / "cache"),
        "FEEDSCRUB_TRACKER_LISTS": str(list_file),
    }
    for extra in ([], ["--rule", "remove=p.none"]):  # also with rules tried on top
        done = subprocess.run(
            [sys.executable, "-m", "proxy", "explain", str(feed), *extra],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert "lists.trackers" in done.stdout, extra


async def test_a_reload_reads_changed_lists_and_keeps_the_last_good_ones(
    aiohttp_client: AiohttpClient,
    make_settings: Any,
    list_file: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client: TestClient[Any, Any] = await aiohttp_client(
        create_app(make_settings(tracker_lists=str(list_file)))
    )
    app = client.app
    assert app is not None
    pipeline = app[PIPELINE]

    def label() -> str:
        (rule,) = [r for r in pipeline.feeds.defaults.custom_rules if r.id == "lists.trackers"]
        return rule.label

    first = label()
    list_file.write_text(LIST + "||another.example^\n", encoding="utf-8")
    pipeline.reload(load_feeds(None))
    changed = label()
    assert changed != first  # the edited list, compiled again
    list_file.write_bytes(b"\xff\xfe not a list")
    pipeline.reload(load_feeds(None))
    assert label() == changed  # gone bad: the last good lists stay
    assert "kept the last good ones" in caplog.text
