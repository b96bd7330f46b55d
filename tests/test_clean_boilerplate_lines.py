"""auto.boilerplate by line: a line that recurs in most items inside an edge block whose other
lines differ per item (China Digital Times' footer <p><small>: author and permalink, tags,
then the site's subscription line). A before→after table over small built feeds with the
look-alikes that must stay, the real items with such a footer, and learning across fetches.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.clean import DEFAULT_RULESET, FeedContext, clean_items, serialise
from proxy.clean.boilerplate import MAX_SHARE
from proxy.clean.boilerplate_lines import MIN_LINE_CHARS, edge_lines
from proxy.clean.nodes import text_of
from proxy.clean.tree import parse_fragment
from proxy.models import Cleaned
from tests import corpus

SUBSCRIBE = "Subscribe by mail: write to news@example.org for the daily digest"


def article(i: int) -> str:
    return (
        f"<p>Article number {i} begins with its own opening sentence about subject {i}.</p>"
        f"<p>It goes on with a second paragraph that only item {i} has, long enough.</p>"
    )


def footer(i: int, *lines: str) -> str:
    """A CDT-like footer: per-item lines (author, permalink, tags), then `lines`."""
    own = (
        f'© Author {i} for <a href="https://site.example/">Site</a>, 2015. |'
        f' <a href="https://site.example/p/{i}">Permalink</a><br>'
        f'Post tags: <a href="https://site.example/tag/t{i}">tag{i}</a>,'
        f' <a href="https://site.example/tag/u{i}">other{i}</a><br>'
    )
    return "<hr><p><small>" + own + "<br>".join(lines) + "<br></small></p>"


def run(htmls: list[str], memory: dict[str, Any] | None = None) -> list[Cleaned]:
    context = FeedContext(options=DEFAULT_RULESET.options, memory=memory)
    results = clean_items(htmls, DEFAULT_RULESET, feed=context)
    assert all(r.failed is None for r in results)
    return results


def auto_texts(cleaned: Cleaned) -> list[str]:
    return [r.text for r in cleaned.removals if r.rule == "auto.boilerplate" and r.text]


# (id, item i's HTML, the recurring line, removed?) — five items each.
CASES: list[tuple[str, Any, str, bool]] = [
    (
        "subscription-line-after-tags-goes",
        lambda i: article(i) + footer(i, SUBSCRIBE),
        SUBSCRIBE,
        True,
    ),
    (
        "two-recurring-lines-go",
        lambda i: article(i) + footer(i, "Download our app for iPhone and Android", SUBSCRIBE),
        "Download our app for iPhone and Android",
        True,
    ),
    (
        "opening-line-of-the-first-block-goes",
        lambda i: (
            f"<p>This post contains affiliate links, see our policy page.<br>Topic {i} is"
            f" what this one is about, in its own words.</p>" + article(i)
        ),
        "This post contains affiliate links, see our policy page.",
        True,
    ),
    # Look-alikes that stay.
    (
        "a-byline-line-stays",
        lambda i: article(i) + f"<p>Notes for part {i} of the series here<br>By Jane Doe</p>",
        "By Jane Doe",
        False,
    ),
    (
        "a-credit-naming-a-person-stays",
        lambda i: (
            article(i)
            + f"<p>Guest of episode {i}: someone new<br>Music by Kevin MacLeod (incompetech.com)</p>"
        ),
        "Music by Kevin MacLeod (incompetech.com)",
        False,
    ),
    (
        "a-role-and-name-credit-stays",
        lambda i: article(i) + f"<p>Guest of episode {i}: someone new<br>Produced by: Ann Lee</p>",
        "Produced by: Ann Lee",
        False,
    ),
    (
        "a-short-line-stays",  # "Serves four" recurs in a recipe blog's every item
        lambda i: article(i) + f"<p>Ingredients for dish {i} of the week<br>Serves four</p>",
        "Serves four",
        False,
    ),
    (
        "a-label-line-stays",
        lambda i: (
            article(i)
            + f"<p>Episode {i} was recorded at home<br>Find every source we used on our site:</p>"
        ),
        "Find every source we used on our site:",
        False,
    ),
    (
        "verse-whose-last-line-recurs-stays",
        lambda i: (
            article(i) + f"<p>The rain on roof number {i},<br>and sugar is sweet for all.</p>"
        ),
        "and sugar is sweet for all.",
        False,
    ),
    (
        "a-link-entry-of-a-list-stays",
        lambda i: (
            article(i) + f'<p><a href="https://m.example/{i}">Story {i}, the newest one</a><br>'
            '<a href="https://m.example/old">The same older story for all</a> (video)</p>'
        ),
        "The same older story for all",
        False,
    ),
    (
        "a-numbered-line-stays",
        lambda i: (
            article(i) + f"<p>Ingredients for dish {i} of the week<br>2 cups of flour, sifted</p>"
        ),
        "2 cups of flour, sifted",
        False,
    ),
    (
        "a-bulleted-entry-stays",
        lambda i: article(i) + f"<p>• Point {i} of the summary list<br>• Always check the map</p>",
        "Always check the map",
        False,
    ),
    (
        # The same footer opening the item is read from the start: its per-item lines come
        # first, so the recurring line is not at that edge.
        "a-recurring-line-away-from-the-edge-stays",
        lambda i: footer(i, SUBSCRIBE).removeprefix("<hr>") + article(i),
        SUBSCRIBE,
        False,
    ),
    (
        "a-recurring-line-in-a-middle-block-stays",
        lambda i: article(i) + f"<p>Line {i} of the middle block<br>{SUBSCRIBE}</p>" + article(i),
        SUBSCRIBE,
        False,
    ),
    (
        "lines-inside-a-quote-stay",
        lambda i: (
            article(i) + f"<blockquote><p>Quote {i} begins here<br>{SUBSCRIBE}</p></blockquote>"
        ),
        SUBSCRIBE,
        False,
    ),
    (
        "lines-inside-pre-stay",
        lambda i: article(i) + f"<pre>x = {i}<br>{SUBSCRIBE}</pre>",
        SUBSCRIBE,
        False,
    ),
]


@pytest.mark.parametrize(
    ("item", "line", "removed"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_line_in_every_item(item: Any, line: str, removed: bool) -> None:
    htmls = [item(i) for i in range(5)]
    for i, cleaned in enumerate(run(htmls)):
        assert f"Article number {i} begins" in cleaned.html
        assert f"only item {i} has" in cleaned.html
        assert (line not in cleaned.html) is removed, cleaned.html
        if "tags" in htmls[i]:
            # The per-item lines (author, permalink, tags) always stay.
            for kept in (f"Author {i}", f"/p/{i}", f"tag{i}", f"other{i}"):
                assert kept in cleaned.html


def test_a_chorus_repeated_in_one_item_stays() -> None:
    chorus = "Sing along with us, the chorus again"
    poem = f"<p>First verse of the song<br>{chorus}<br>Second verse of it<br>{chorus}</p>"
    htmls = [article(i) + (poem if i == 2 else f"<p>Own closing words {i}.</p>") for i in range(5)]
    cleaned = run(htmls)
    assert cleaned[2].html.count(chorus) == 2 and not auto_texts(cleaned[2])


def test_a_line_in_only_half_of_the_items_stays() -> None:
    closing = "Nothing else to add today, thank you."
    htmls = [article(i) + footer(i, SUBSCRIBE if i % 2 else closing) for i in range(6)]
    results = run(htmls)
    assert all(SUBSCRIBE in c.html for c in results[1::2])
    assert all(not auto_texts(c) for c in results)


def test_never_more_than_a_bounded_share_of_an_item() -> None:
    htmls = [f"<p>Teaser {i} here<br>{SUBSCRIBE}</p>" for i in range(5)]
    assert all(SUBSCRIBE in c.html for c in run(htmls))


def test_the_removed_line_is_attributed_and_leaves_its_block_well_formed() -> None:
    cleaned = run([article(i) + footer(i, SUBSCRIBE) for i in range(4)])[1]
    assert auto_texts(cleaned) == [SUBSCRIBE]
    assert cleaned.html.endswith(
        '<a href="https://site.example/tag/u1" rel="noopener noreferrer">other1</a></small></p>'
    ), cleaned.html


def test_lines_are_learnt_across_fetches() -> None:
    memory: dict[str, Any] = {}
    first = run([article(i) + footer(i, SUBSCRIBE) for i in range(2)], memory)
    assert all(SUBSCRIBE in c.html for c in first)  # two items: nothing to compare yet
    later = run([article(i) + footer(i, SUBSCRIBE) for i in range(2, 4)], memory)
    assert all(SUBSCRIBE not in c.html for c in later)
    assert all("Post tags" in c.html for c in later)


def test_candidates_are_read_from_the_item_edge_side() -> None:
    node = parse_fragment(footer(1, "A line of the footer, long enough", SUBSCRIBE))[1]
    assert [line.text for line in edge_lines(node, from_start=False)] == [
        SUBSCRIBE,
        "A line of the footer, long enough",
    ]  # ("Post tags: tag1, other1" is mostly link text: the walk stops there)
    assert len("Serves four".replace(" ", "")) < MIN_LINE_CHARS


def test_china_digital_times_keeps_everything_but_its_subscription_line() -> None:
    """The real items (zh-cdt-wordpress-promo-footer): every item's footer loses its last
    line, and only it; the author, permalink and tags lines stay in every item."""
    feed = corpus.parsed("zh-cdt-wordpress-promo-footer.xml")
    htmls = [e.content or "" for e in feed.entries]
    results = run(htmls)
    for source, cleaned in zip(htmls, results, strict=True):
        assert "订靠谱新闻" in source and "订靠谱新闻" not in cleaned.html
        assert auto_texts(cleaned) == [
            "订靠谱新闻 获穿墙捷径 请发电邮(最好用gmail)至：sub@chinadigitaltimes.net"
        ]
        for kept in ("Permalink", "Post tags:", "中国数字时代"):
            assert kept in cleaned.html


def _words(html: str) -> str:
    return " ".join(text_of(parse_fragment(html)).split())


@pytest.mark.parametrize("name", corpus.FEED_FILES)
def test_real_items_with_a_mixed_footer_lose_exactly_its_recurring_line(name: str) -> None:
    """Every corpus feed's items, each with a footer whose author, permalink and tags lines
    are its own and whose last line is the same everywhere: that line goes, nothing else
    (but where it would be more than the bounded share of a short item)."""
    feed = corpus.parsed(name)
    for field in ("summary", "content"):
        htmls = [getattr(e, field) for e in feed.entries if getattr(e, field)]
        if len(htmls) < 3:
            continue
        plain = run(htmls)
        # (each item well-formed first: appended to a real item's unclosed <div>s, the
        # footer would land inside them, away from the item's end)
        mixed = run(
            [serialise(parse_fragment(h)) + footer(i, SUBSCRIBE) for i, h in enumerate(htmls)]
        )
        for i, (before, after) in enumerate(zip(plain, mixed, strict=True)):
            for kept in (f"Author {i}", f"/p/{i}", f"tag{i}", f"other{i}"):
                assert kept in after.html, (name, field, i)
            if SUBSCRIBE in after.html:  # kept: only past the bounded share of the item
                assert len(SUBSCRIBE) > MAX_SHARE * len(_words(after.html)), (name, field, i)
                continue
            assert SUBSCRIBE in auto_texts(after)
            # Everything else of the item is what it is without the footer.
            assert _words(before.html) in _words(after.html), (name, field, i)


SHARED = [
    "Subscribe by mail for the daily digest today",
    # (not a rights notice: "All rights reserved…" goes wherever it stands, evidence.disclaimers)
    "Printed and bound by the publishing house",
    "Download the app for phones and tablets now",
]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(st.sampled_from(SHARED), st.none()), min_size=2, max_size=4),
        min_size=3,
        max_size=7,
    )
)
def test_only_lines_recurring_in_place_in_most_items_go(footers: list[list[str | None]]) -> None:
    """Random feeds of items whose last block is lines, each shared or the item's own (None):
    the item's own lines and its article always stay, and a line goes only where the same
    text stands at the same place from the block's end in more than half of the items."""
    lines = [
        [line or f"Own line {k} of item number {i}" for k, line in enumerate(footer)]
        for i, footer in enumerate(footers)
    ]
    htmls = [article(i) + "<p>" + "<br>".join(own) + "</p>" for i, own in enumerate(lines)]
    for i, cleaned in enumerate(run(htmls)):
        assert f"Article number {i} begins" in cleaned.html
        for place, line in enumerate(reversed(lines[i])):
            if line in cleaned.html:
                continue
            assert line in SHARED, (i, line)
            same = sum(1 for other in lines if len(other) > place and other[-1 - place] == line)
            assert same >= 3 and same > len(lines) / 2, (i, line)
        if None in footers[i]:  # (a block of shared lines only may go whole, as a block)
            assert any(line in cleaned.html for line in lines[i])
