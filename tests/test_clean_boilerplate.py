"""auto.boilerplate: blocks that recur at the edges of most items of a feed.

A before→after table over small built feeds (with the look-alikes that must stay), feeds
built from real items (tests/data/feeds, tests/data/boilerplate: copies of
/work/shared/corpus/real files) with a footer appended to every item, the real items as
they are, learning across fetches through the memory the pipeline keeps in the store, its
bounds, and `auto_boilerplate = false`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from proxy import parse
from proxy.clean import (
    DEFAULT_PACKS,
    DEFAULT_RULESET,
    FeedContext,
    Ruleset,
    clean_items,
    compile_ruleset,
)
from proxy.clean.boilerplate import MAX_SHARE, remove_boilerplate
from proxy.clean.boilerplate_memory import MEMORY_ITEMS, MEMORY_KEY, MEMORY_MAX_AGE
from proxy.clean.bylines import is_byline
from proxy.clean.nodes import text_of
from proxy.clean.tree import parse_fragment
from proxy.errors import ConfigError
from proxy.feedconfig import FeedOptions
from proxy.models import Cleaned, FetchResult
from proxy.reload import load_feeds
from proxy.server import create_app
from proxy.store import DiskStore
from proxy.store.records import MEMORY_MAX_BYTES
from tests.helpers import move_clock
from tests.upstream import Upstream

DATA = Path(__file__).parent / "data"
FOOTER = (
    '<p>© 2024 Example Media. Thanks for reading — <a href="https://example.org/newsletter">'
    "forward it to a friend</a>.</p>"
)


def article(i: int) -> str:
    return (
        f"<p>Article number {i} begins with its own opening sentence about subject {i}.</p>"
        f"<p>It goes on with a second paragraph that only item {i} has, long enough.</p>"
    )


def run(
    htmls: list[str], memory: dict[str, Any] | None = None, ruleset: Ruleset = DEFAULT_RULESET
) -> list[Cleaned]:
    context = FeedContext(options=ruleset.options, memory=memory)
    results = clean_items(htmls, ruleset, feed=context)
    assert all(r.failed is None for r in results)
    return results


def auto_texts(cleaned: Cleaned) -> list[str]:
    return [r.text for r in cleaned.removals if r.rule == "auto.boilerplate"]


# Rules that read a footer by what it says at the item's edge, recurring or not: an app line
# or a copyright line goes by them before auto.boilerplate compares the items.
EDGE_RULES = frozenset({"evidence.disclaimers", "evidence.download_prompts"})


def footer_texts(cleaned: Cleaned) -> list[str]:
    return [
        r.text for r in cleaned.removals if r.rule == "auto.boilerplate" or r.rule in EDGE_RULES
    ]


# --- before → after ------------------------------------------------------------------------

# (id, the block every item carries, where: "end" | "start", removed?)
CASES = [
    ("footer-goes", FOOTER, "end", True),
    ("banner-image-goes", '<p><img src="https://example.org/support-us.png"></p>', "end", True),
    ("header-line-goes", "<p>Listen to this article on our app.</p>", "start", True),
    ("run-after-hr-goes", "<hr>Copyright Example Media. All rights reserved.", "end", True),
    ("byline-stays", "<p>By Jane Doe</p>", "start", False),
    ("bare-name-stays", "<p>Jane Doe</p>", "start", False),
    ("table-with-empty-cells-stays", "<table><tr><td>a</td><td></td></tr></table>", "end", False),
    ("quote-stays", "<blockquote><p>Stay hungry, stay foolish.</p></blockquote>", "end", False),
    ("code-stays", "<pre><code><span> </span>x = 1\n\ty = 2</code></pre>", "end", False),
    (
        "figure-with-caption-stays",
        '<figure><img src="https://example.org/logo.png"><figcaption>Our logo</figcaption></figure>',
        "end",
        False,
    ),
    (
        "youtube-embed-stays",
        '<p><iframe src="https://www.youtube.com/embed/abc"></iframe></p>',
        "end",
        False,
    ),
    ("footnotes-list-stays", '<ol><li id="fn1">See the source.</li></ol>', "end", False),
]


@pytest.mark.parametrize(
    ("block", "where", "removed"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_block_in_every_item(block: str, where: str, removed: bool) -> None:
    items = [block + article(i) if where == "start" else article(i) + block for i in range(5)]
    results = run(items)
    for i, cleaned in enumerate(results):
        assert f"Article number {i} begins" in cleaned.html
        assert f"only item {i} has" in cleaned.html
        assert (
            bool(
                auto_texts(cleaned) or [r for r in cleaned.removals if r.rule == "auto.boilerplate"]
            )
            is removed
        )


# Where a footer sits in real items (zh-geekpark, podcast-cre in the real corpus): after a
# run of empty paragraphs, or inside the last wrapper with the item's own content before it.
def test_a_footer_after_many_empty_paragraphs_goes() -> None:
    items = [article(i) + FOOTER + "<p></p>" * 12 for i in range(5)]
    for i, cleaned in enumerate(run(items)):
        assert auto_texts(cleaned) and "Example Media" not in cleaned.html
        assert f"only item {i} has" in cleaned.html


def test_a_footer_inside_the_last_wrapper_goes_and_the_wrapper_content_stays() -> None:
    notes = "".join(
        f"<div>Show note {{i}}.{n}: a link to a source of this episode.</div>" for n in range(30)
    )
    items = [
        article(i) + f"<div><div>{notes.format(i=i)}</div><div>Made by: </div>{FOOTER}</div>"
        for i in range(5)
    ]
    for i, cleaned in enumerate(run(items)):
        assert "Example Media" not in cleaned.html
        assert f"Show note {i}.29" in cleaned.html and f"only item {i} has" in cleaned.html


def test_a_recurring_entry_of_a_list_of_lines_stays() -> None:
    # MacRumors' summaries end with "• <a>latest story</a><br>" lines; fetched together, the
    # oldest entry is the same in every item. One line of a list is not a block.
    items = [
        article(i)
        + f'<div>Recent stories:<br>&#8226; <a href="https://m.example/{i}">Story {i}</a><br>'
        '&#8226; <a href="https://m.example/old">The same older story</a><br></div>'
        for i in range(5)
    ]
    for cleaned in run(items):
        assert not auto_texts(cleaned)
        assert "The same older story" in cleaned.html


def test_a_block_that_differs_per_item_stays() -> None:
    items = [article(i) + f"<p>Episode {i} notes are on the site.</p>" for i in range(6)]
    assert all(not auto_texts(c) for c in run(items))


def test_a_block_in_only_half_of_the_items_stays() -> None:
    items = [article(i) + (FOOTER if i % 2 else "") for i in range(6)]
    assert all(not auto_texts(c) for c in run(items))


def test_poem_with_line_breaks_keeps_its_lines_when_the_footer_after_it_goes() -> None:
    items = [
        article(i) + f"<p>Roses are red,<br>violets are {i},<br>sugar is sweet.</p>" + FOOTER
        for i in range(4)
    ]
    for i, cleaned in enumerate(run(items)):
        assert f"Roses are red,<br>violets are {i},<br>sugar is sweet." in cleaned.html
        assert "Example Media" not in cleaned.html


def test_image_only_comic_items_stay() -> None:
    items = [
        f'<p><img src="https://comic.example/strip-{i}.png" alt="strip {i}"></p>' for i in range(5)
    ]
    for i, cleaned in enumerate(run(items)):
        assert f"strip-{i}.png" in cleaned.html and not cleaned.removals


def test_emoji_images_in_every_footer_line_go_with_it_but_not_from_the_text() -> None:
    emoji = '<img class="emoji" src="https://s.w.org/images/core/emoji/72x72/1f609.png">'
    items = [
        f"<p>Item {i} is fun {emoji} and has more words of its own.</p><p>More {i}.</p>"
        + f"<p>Thanks for reading {emoji}</p>"
        for i in range(4)
    ]
    for i, cleaned in enumerate(run(items)):
        assert "1f609.png" in cleaned.html
        assert f"Item {i} is fun" in cleaned.html
        assert "Thanks for reading" not in cleaned.html


def test_never_the_only_content() -> None:
    items = [FOOTER for _ in range(5)]
    assert all(not c.removals and "Example Media" in c.html for c in run(items))


def test_never_more_than_a_bounded_share_of_an_item() -> None:
    long_footer = "<p>" + "Legal notice for every reader of this site. " * 8 + "</p>"
    items = [f"<p>Teaser {i}.</p>" + long_footer for i in range(5)]
    assert all(not auto_texts(c) for c in run(items))


def test_an_article_about_advertising_that_says_sponsored_stays() -> None:
    sentence = "<p>This post is sponsored by nobody: it is about sponsored content.</p>"
    items = [article(i) + sentence for i in range(2)] + [article(9) + "<p>Other end.</p>"]
    assert all(not auto_texts(c) for c in run(items))


def test_removals_say_what_and_why() -> None:
    results = run([article(i) + FOOTER for i in range(3)])
    (removal,) = results[0].removals
    assert removal.rule == "auto.boilerplate" and removal.pack == "auto"
    assert removal.tag == "p" and removal.text.startswith("© 2024 Example Media")
    assert "recurs" in removal.reason


@pytest.mark.parametrize(
    ("text", "byline"),
    [
        ("By Jane Doe", True),
        ("Von Hans Müller", True),
        ("作者：张三", True),
        ("Jean-Luc O'Neill", True),
        # A signature closing every post (feedjira's json_feed sample: "— Luke" after each).
        ("— Luke", True),
        ("-- Jane Doe", True),
        ("– Thanks for reading", False),
        ("- a list line in prose", False),
        ("Subscribe to our newsletter for more", False),
        ("© 2024 Example Media. All rights reserved.", False),
    ],
)
def test_bylines(text: str, byline: bool) -> None:
    assert is_byline(text) is byline


# --- real items with a footer appended --------------------------------------------------------


def real_items(path: Path) -> dict[str, list[str]]:
    feed = parse.parse(
        FetchResult(
            url=path.as_uri(), status=200, body=path.read_bytes(), content_type="application/xml"
        )
    )
    return {
        field: [getattr(e, field) for e in feed.entries if getattr(e, field)]
        for field in ("summary", "content")
    }


REAL = [
    DATA / "feeds" / "atom-neverworkintheory-empty-divs-relative.xml",
    DATA / "feeds" / "wordpress-anime2you-lazy-srcset.xml",
    DATA / "feeds" / "gb2312-kc0011-chinese.xml",
    DATA / "boilerplate" / "zh-geekpark-mso-word-styles.xml",
    DATA / "boilerplate" / "medium-hodlhodl-twitter-embed-script-pixel.xml",
]
SITE_FOOTERS = [
    FOOTER,
    "<div><hr><p>Download our app: <a href='https://app.example/get'>App Store</a></p></div>",
    "<p>本站所有文章均为原创，转载请注明出处。</p>",
]


@pytest.mark.parametrize("footer", SITE_FOOTERS, ids=["footer", "app-line", "zh-copyright"])
@pytest.mark.parametrize("path", REAL, ids=lambda p: p.stem)
def test_real_items_with_a_footer_lose_exactly_the_footer(path: Path, footer: str) -> None:
    for field, htmls in real_items(path).items():
        if len(htmls) < 3:
            continue
        plain = run(htmls)
        with_footer = run([html + footer for html in htmls])
        for before, after in zip(plain, with_footer, strict=True):
            if after.html == before.html:
                assert footer_texts(after), field
                continue
            # Kept only where the footer would be more than the bounded share of the item.
            assert not footer_texts(after) or footer_texts(after) == footer_texts(before), field
            total = len(" ".join(text_of(parse_fragment(after.html)).split()))
            footer_text = len(" ".join(text_of(parse_fragment(footer)).split()))
            assert footer_text > MAX_SHARE * total, (field, after.html[-300:])


def test_real_corpus_as_it_is_loses_only_its_repeated_lines() -> None:
    """geekpark's copyright line and hodlhodl's sign-off; every other sentence stays. (The
    copyright line is a rights notice too: evidence.disclaimers takes it first.)"""
    expected = {
        "zh-geekpark-mso-word-styles": {
            "本文由极客公园 GeekPark 原创发布，转载请添加极客君微信 geekparker。"
        },
        "medium-hodlhodl-twitter-embed-script-pixel": {"Hodl!"},
        "atom-neverworkintheory-empty-divs-relative": set(),
        "wordpress-anime2you-lazy-srcset": set(),
        "gb2312-kc0011-chinese": set(),
    }
    for path in REAL:
        removed: set[str] = set()
        for htmls in real_items(path).values():
            for cleaned in run(htmls):
                removed.update(footer_texts(cleaned))
        assert removed == expected[path.stem], path.stem


# --- learning across fetches ----------------------------------------------------------------


def test_a_two_item_feed_learns_across_fetches() -> None:
    memory: dict[str, Any] = {}
    first = run([article(1) + FOOTER, article(2) + FOOTER], memory)
    assert all(not c.removals for c in first)  # two items: not enough to tell
    second = run([article(2) + FOOTER, article(3) + FOOTER], memory)
    assert all(auto_texts(c) for c in second)


def test_a_feed_that_adds_one_item_a_day_learns() -> None:
    memory: dict[str, Any] = {}
    day = 0.0
    results: list[list[Cleaned]] = []
    for n in range(1, 5):
        results.append(
            clean_items([article(i) + FOOTER for i in range(n)], feed=FeedContext(memory=memory))
        )
        day += 86400
    assert not any(auto_texts(c) for c in results[1])
    assert all(auto_texts(c) for c in results[2])


def test_memory_is_bounded_in_count_and_age() -> None:
    now = 1_000_000.0
    memory: dict[str, Any] = {}
    for i in range(MEMORY_ITEMS + 40):
        at = now + 60 * i
        remove_boilerplate(
            [parse_fragment(article(i) + FOOTER)],
            memory=memory,
            clock=lambda: at,  # noqa: B023
        )
    now += 60 * (MEMORY_ITEMS + 40)
    items = memory[MEMORY_KEY]["items"]
    assert len(items) == MEMORY_ITEMS
    assert len(json.dumps(memory).encode()) < MEMORY_MAX_BYTES
    now += MEMORY_MAX_AGE + 3600
    remove_boilerplate([parse_fragment(article(10_000))], memory=memory, clock=lambda: now)
    assert len(memory[MEMORY_KEY]["items"]) == 1  # everything older has gone


def test_memory_that_is_not_ours_is_ignored() -> None:
    for junk in (
        {MEMORY_KEY: "x"},
        {MEMORY_KEY: {"v": 99}},
        {MEMORY_KEY: {"v": 1, "items": [1]}},
        {MEMORY_KEY: {"v": 1, "items": {"k": ["t", "fp"]}}},
    ):
        results = run([article(i) + FOOTER for i in range(3)], dict(junk))
        assert all(auto_texts(c) for c in results)


def test_memory_round_trips_through_the_disk_store(tmp_path: Path) -> None:
    async def go() -> dict[str, Any] | None:
        store = DiskStore(str(tmp_path / "cache"))
        memory: dict[str, Any] = {}
        run([article(1) + FOOTER, article(2) + FOOTER], memory)
        await store.put_memory("https://example.org/feed", memory)
        loaded = await store.get_memory("https://example.org/feed")
        await store.close()
        return loaded

    loaded = asyncio.run(go())
    assert loaded is not None
    second = run([article(3) + FOOTER], loaded)
    assert auto_texts(second[0])


# --- turned off --------------------------------------------------------------------------------


def test_auto_boilerplate_false_turns_it_off() -> None:
    ruleset = compile_ruleset(FeedOptions(auto_boilerplate=False), DEFAULT_PACKS)
    results = run([article(i) + FOOTER for i in range(5)], {}, ruleset)
    assert all("Example Media" in c.html and not auto_texts(c) for c in results)


def test_auto_boilerplate_must_be_a_boolean(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text('[[feeds]]\nname = "a"\nurl = "https://a.test/f"\nauto_boilerplate = "no"\n')
    with pytest.raises(ConfigError) as caught:
        load_feeds(str(path))
    assert "feeds[0].auto_boilerplate: must be true or false" in caught.value.message
    path.write_text('[[feeds]]\nname = "a"\nurl = "https://a.test/f"\nauto_boilerplate = false\n')
    config = load_feeds(str(path)).feeds.get("a")
    assert config is not None and config.options.auto_boilerplate is False


# --- through the server: the memory lives in the store between fetches ---------------------


def two_item_feed(first: int) -> bytes:
    items = "".join(
        f"<item><title>t{i}</title><link>https://site.test/{i}</link><guid>g{i}</guid>"
        f"<description><![CDATA[{article(i)}{FOOTER}]]></description></item>"
        for i in (first, first + 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>s</title>'
        f"<link>https://site.test/</link><description>d</description>{items}</channel></rss>"
    ).encode()


async def test_served_two_item_feed_learns_its_footer_on_the_next_fetch(
    upstream: Upstream, aiohttp_client: Any, make_settings: Any
) -> None:
    url = upstream.route("/two.xml", two_item_feed(1))
    client = await aiohttp_client(create_app(make_settings(ttl=60, stale_while_revalidate=0)))
    first = await client.get("/feed", params={"url": url})
    assert first.status == 200
    assert "Example Media" in (await first.read()).decode()  # two items: not yet
    upstream.route("/two.xml", two_item_feed(2))  # the next day: item 2 stays, item 3 is new
    move_clock(client, 61)
    second = await client.get("/feed", params={"url": url})
    body = (await second.read()).decode()
    assert second.status == 200 and upstream.hits["/two.xml"] == 2
    assert "Example Media" not in body
    assert "Article number 2 begins" in body and "Article number 3 begins" in body
