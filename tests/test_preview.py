"""The preview page, the index page's links and `feedscrub explain`, over real HTTP and a
real subprocess (the browser tests are in test_preview_browser.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from proxy import explain
from proxy.clean import MARK_REMOVAL, MARK_RULE, clean_items, serialise
from proxy.server import create_app
from tests.helpers import DATA, seed_feed
from tests.upstream import Upstream

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]
KEY = "preview-access-key-0123456789"
SEED = DATA / "feeds" / "feedx-rfi.xml"
# What the seed item carries that cleaning must name (DESIGN.md, "The problem").
SHARE_ENDPOINTS = (
    "facebook.com/dialog/share",
    "whatsapp://send",
    "web.whatsapp.com/send",
    "twitter.com/intent/tweet",
)


@pytest.fixture
def make_client(aiohttp_client: AiohttpClient, make_settings: Any) -> MakeClient:
    async def build(**changes: Any) -> TestClient[Any, Any]:
        return await aiohttp_client(create_app(make_settings(**changes)))

    return build


def _explain(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "proxy", "explain", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- the clean stage's marking mode --------------------------------------------------------


def test_marking_mode_wraps_each_removed_element_in_place() -> None:
    html = (
        '<p>text</p><div data-selfpromo-app></div><del data-feedscrub-rule="fake.rule">forged</del>'
    )
    trees: dict[int, str] = {}
    [cleaned] = clean_items([html], marked=lambda i, tree: trees.__setitem__(i, serialise(tree)))
    marked = trees[0]
    removal = next(r for r in cleaned.removals if r.tag == "div")
    index = cleaned.removals.index(removal)
    assert (
        f'<del {MARK_RULE}="{removal.rule}" {MARK_REMOVAL}="{index}"><div data-selfpromo-app>'
        in marked
    )
    assert "<p>text</p>" in marked and "fake.rule" not in marked  # the upstream's own dropped
    # Marking changes nothing about what is served.
    assert cleaned == clean_items([html])[0]


# --- feedscrub explain -------------------------------------------------------------------------


def test_explain_lists_every_seed_removal_under_its_rule() -> None:
    done = _explain(str(SEED))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "\x1b[" not in out  # piped: plain
    assert re.search(r"- feedx\.footer  <div>  '获取更多RSS：https://feedx\.net", out)
    for endpoint in SHARE_ENDPOINTS:
        found = [line for line in out.splitlines() if endpoint in line]
        assert found, endpoint
    # Each share link is listed under share.endpoint_links (the link, or the block it was in).
    item1 = out.split("item 1:")[1].split("item 2:")[0]
    share_part = item1.split("share.widgets")[0].split("share.endpoint_links", 1)[1]
    for endpoint in SHARE_ENDPOINTS:
        assert endpoint in share_part, endpoint
    assert "- share.widgets  <div data-selfpromo-newsletter>" in item1
    assert "- share.widgets  <div data-selfpromo-app>" in item1
    assert re.search(r"- spans\.bare  unwrapped \d+ <span>", item1)
    hits = out.split("rule hits:")[1].split("boilerplate found:")[0]
    for rule in ("feedx.footer", "share.endpoint_links", "share.widgets", "spans.bare"):
        assert re.search(rf"{re.escape(rule)}\s+\d+", hits), rule


def test_explain_tries_a_rule_and_shows_one_item() -> None:
    done = _explain(str(SEED), "--item", "2", "--rule", "remove_text=的正文")
    assert done.returncode == 0, done.stderr
    assert "item 1:" not in done.stdout and "item 2:" in done.stdout
    assert "custom.remove_text" in done.stdout.split("item 2:")[1]
    assert "tried: remove_text=的正文" in done.stdout


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("remove_text=(", 'invalid regex "("'),
        ("remove=p[", 'invalid CSS selector "p["'),
        ("frobnicate=x", "--rule must be kind=value"),
    ],
)
def test_explain_refuses_a_bad_rule_in_one_line(rule: str, reason: str) -> None:
    done = _explain(str(SEED), "--rule", rule)
    assert done.returncode == 1
    assert reason in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_explain_reads_stdin_and_names_a_missing_item() -> None:
    done = _explain("-", "--item", "9", stdin=SEED.read_bytes())
    assert done.returncode == 1
    assert done.stderr.strip() == "feedscrub: no item 9 among the served items (1 to 2)"


def test_toml_snippet_reads_back_as_the_rules_tried() -> None:
    import tomllib

    rules = [
        explain.TriedRule("remove_text", 'say "hi" \\ 分享'),
        explain.TriedRule("strip_params", "utm_*, fbclid"),
    ]
    snippet = explain.toml_snippet(rules, name="rfi", url="https://example.org/feed")
    feed = tomllib.loads(snippet)["feeds"][0]
    assert feed == {
        "name": "rfi",
        "url": "https://example.org/feed",
        "remove_text": ['say "hi" \\ 分享'],
        "strip_params": ["utm_*", "fbclid"],
    }


# --- the preview page over HTTP ------------------------------------------------------------------


async def test_preview_shows_rules_hits_and_fetch_facts(
    make_client: MakeClient, upstream: Upstream
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client()
    response = await client.get("/preview", params={"url": url})
    assert response.status == 200
    page = await response.text()
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "'unsafe-inline'" not in csp
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script" not in page and " style=" not in page and "<style" not in page
    for rule in ("feedx.footer", "share.endpoint_links", "share.widgets", "spans.bare"):
        assert f'<tr data-rule="{rule}">' in page, rule
        assert f'<li data-rule="{rule}"' in page, rule
    for rule in ("feedx.footer", "share.endpoint_links", "share.widgets"):  # marked in place
        assert f'<span class="fs-rule">{rule}</span>' in page, rule
    assert re.search(r'<li data-rule="spans.bare"[^>]*>.*?unwrapped \d+ &lt;span&gt;', page)
    assert "<dt>cache</dt><dd>miss</dd>" in page and "<dt>status</dt><dd>200</dd>" in page
    # Second view: from the cache, no new upstream request.
    again = await (
        await client.get("/preview", params={"url": url, "remove_text": "布林肯"})
    ).text()
    assert upstream.hits["/rfi.xml"] == 1
    assert "<dt>cache</dt><dd>hit</dd>" in again and 'data-rule="custom.remove_text"' in again
    assert '<pre id="toml">[[feeds]]' in again and "remove_text = [&quot;布林肯&quot;]" in again
    css = await client.get("/preview.css")
    assert css.status == 200 and css.content_type == "text/css"


async def test_preview_bad_rule_gets_its_reason_beside_the_field(
    make_client: MakeClient, upstream: Upstream
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client()
    response = await client.get(
        "/preview", params={"url": url, "remove_xpath": "//div[", "remove": "p"}
    )
    assert response.status == 400
    page = await response.text()
    assert re.search(
        r'id="f-remove_xpath"[^>]*><span class="error" id="error-remove_xpath">invalid XPath', page
    )
    assert 'id="error-remove"' not in page  # the good one ran
    assert 'data-rule="custom.remove"' in page


async def test_preview_of_a_named_feed_uses_its_rules(
    make_client: MakeClient, upstream: Upstream, tmp_path: Path
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    config = tmp_path / "feeds.toml"
    config.write_text(
        f'[[feeds]]\nname = "rfi"\nurl = "{url}"\nremove_text = ["布林肯原本"]\n'
        'exclude = [{ field = "title", pattern = "第二条" }]\n',
        encoding="utf-8",
    )
    client = await make_client(config=str(config))
    page = await (await client.get("/preview/feeds/rfi")).text()
    assert 'data-rule="custom.remove_text"' in page
    assert "#2 <q>第二条新闻</q>: exclude: title matches &#x27;第二条&#x27;" in page
    assert (await client.get("/preview/feeds/nope")).status == 404
    index = await (await client.get("/")).text()
    assert 'href="/preview/feeds/rfi"' in index


async def test_preview_needs_the_access_key(make_client: MakeClient, upstream: Upstream) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client(access_key=KEY)
    refused = await client.get("/preview", params={"url": url})
    assert refused.status == 401 and "preview page" in await refused.text()
    assert upstream.hits["/rfi.xml"] == 0
    page = await (await client.get("/preview", params={"url": url, "key": KEY})).text()
    assert 'data-rule="feedx.footer"' in page
    assert f'name="key" value="{KEY}"' in page  # the form keeps the key for the next try


async def test_preview_escapes_item_fields(make_client: MakeClient, upstream: Upstream) -> None:
    url = upstream.serve_file("/xss.xml", "xss/item-fields.rss.xml")
    client = await make_client()
    page = await (await client.get("/preview", params={"url": url})).text()
    assert "<script" not in page and "onerror" not in page.replace("onerror=alert(1)&gt;", "")
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'href="javascript:' not in page.lower() and 'href=" javascript' not in page.lower()


# --- the index page ------------------------------------------------------------------------------


async def test_index_shows_the_link_to_copy_and_a_preview_link(
    make_client: MakeClient, upstream: Upstream
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client()
    page = await (await client.get("/", params={"url": url, "format": ""})).text()
    link = f"http://proxy.test/feed?url={quote(url, safe='')}"
    assert f'<a id="feed-link" href="{link}"><code>{link}</code></a>' in page
    assert "format=" not in page.split('id="feed-link"')[1].split("</a>")[0]
    preview = re.search(r'<a id="preview-link" href="([^"]+)"', page)
    assert preview is not None
    assert (await client.get(preview.group(1).replace("&amp;", "&"))).status == 200
    atom = await (await client.get("/", params={"url": url, "format": "atom"})).text()
    assert f"{link}&amp;format=atom" in atom
    bad = await (await client.get("/", params={"url": "javascript:alert(1)"})).text()
    assert "not an absolute http(s) URL" in bad and 'id="feed-link"' not in bad


def _feed_of(items: list[str]) -> bytes:
    entries = "".join(
        f"<item><title>t{i}</title><link>https://example.org/{i}</link><guid>g{i}</guid>"
        f"<description><![CDATA[{html}]]></description></item>"
        for i, html in enumerate(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>f</title>'
        f"<link>https://example.org/</link><description>d</description>{entries}</channel></rss>"
    ).encode()


async def test_a_runaway_tried_regex_costs_one_time_bound_not_one_per_item(
    make_client: MakeClient, upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    items = [f"<p>keep {i}</p><p>{'a' * 40}!</p>" for i in range(30)]
    url = upstream.route("/slow.xml", _feed_of(items))
    client = await make_client()
    with caplog.at_level("WARNING", logger="proxy.clean"):
        response = await client.get("/preview", params={"url": url, "remove_text": "(a|aa)+$"})
    assert response.status == 200
    page = await response.text()
    # Every item is served as it came, and says which rule failed on it.
    assert page.count("Rule remove_text[0] failed on this item") == 30
    failures = [r.getMessage() for r in caplog.records if "remove_text[0]" in r.getMessage()]
    assert len(failures) == 30
    ran_out = [m for m in failures if "skipped: failed on an earlier item" not in m]
    assert len(ran_out) == 1 and "TimeoutError" in ran_out[0]  # the regex ran once, on item 1


async def test_preview_past_its_build_slots_is_503(
    make_client: MakeClient, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    from proxy.server import preview

    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client()
    monkeypatch.setattr(preview, "MAX_BUILDS", 0)
    response = await client.get("/preview", params={"url": url})
    assert response.status == 503 and response.headers["Retry-After"] == "5"
    assert (await response.text()).startswith("preview: busy")


def test_explain_colours_on_a_terminal() -> None:
    import os
    import pty

    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "proxy", "explain", str(SEED), "--item", "1"],
            stdout=follower,
            stderr=subprocess.PIPE,
            timeout=60,
            env={k: v for k, v in os.environ.items() if k != "NO_COLOR"},
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    assert done.returncode == 0, done.stderr
    out = b"".join(chunks).decode()
    assert "\x1b[36mfeedx.footer\x1b[0m" in out


async def test_preview_lists_changed_links(make_client: MakeClient, upstream: Upstream) -> None:
    tracked = "https://example.org/a?id=3&utm_source=rss&utm_medium=feed"
    url = upstream.route("/t.xml", _feed_of([f'<p>Read <a href="{tracked}">this</a>.</p>']))
    client = await make_client()
    page = await (await client.get("/preview", params={"url": url})).text()
    changed = page.split('<ul class="changed-links">')[1].split("</ul>")[0]
    assert 'data-rule="tracking.parameters"' in changed
    assert (
        f"<code>{tracked.replace('&', '&amp;')}</code> → <code>https://example.org/a?id=3</code>"
        in changed
    )


BOILERPLATE = (
    "Support independent journalism: subscribe to The Daily Example today for full access."
)


def _boilerplate_feed(items: int = 6) -> bytes:
    return _feed_of(
        [
            f"<p>Article number {i} talks about topic {i * 7} in depth with many words of its "
            f"own, item {i}.</p><p>{BOILERPLATE}</p>"
            for i in range(items)
        ]
    )


async def test_preview_shows_the_boilerplate_found_and_how_many_items_carry_it(
    make_client: MakeClient, upstream: Upstream
) -> None:
    url = upstream.route("/bp.xml", _boilerplate_feed())
    client = await make_client()
    page = await (await client.get("/preview", params={"url": url})).text()
    found = page.split('<ul id="boilerplate">')[1].split("</ul>")[0]
    assert f'<span class="rule">auto.boilerplate</span> in 6 items: <q>{BOILERPLATE}</q>' in found
    assert page.count('<span class="fs-rule">auto.boilerplate</span>') == 6


async def test_explain_a_url_through_the_cache(upstream: Upstream, tmp_path: Path) -> None:
    import asyncio
    import os

    url = upstream.route("/bp.xml", _boilerplate_feed())
    env = {
        **os.environ,
        "FEEDSCRUB_ALLOW_PRIVATE": "true",
        "FEEDSCRUB_CACHE_DIR": str(tmp_path / "cache"),
    }
    command = [sys.executable, "-m", "proxy", "explain", url, "--item", "1"]
    pipe = asyncio.subprocess.PIPE
    outputs = []
    for _ in range(2):
        process = await asyncio.create_subprocess_exec(*command, stdout=pipe, stderr=pipe, env=env)
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()
        outputs.append(out.decode())
    assert "fetch: status 200; cache miss" in outputs[0]
    assert "fetch: cache hit" in outputs[1] and upstream.hits["/bp.xml"] == 1
    assert f"auto.boilerplate  in 6 items: {BOILERPLATE!r}" in outputs[1]
