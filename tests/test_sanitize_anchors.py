"""Footnote anchors stay within the item (issue 12): an id survives only when a link of the
same item points at it, renamed with an item prefix (no collisions between items, no DOM
clobbering of the reader's page); everything else about ids is as before."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import feedparser
import lxml.html
import pytest
from aiohttp.test_utils import TestClient
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pytest_aiohttp import AiohttpClient

from proxy.anchors import anchor_prefix, item_key
from proxy.clean import clean, clean_items
from proxy.sanitize import sanitize_html
from proxy.server import create_app
from tests.test_sanitize import assert_safe
from tests.test_sanitizer_proof import problems
from tests.upstream import Upstream

KEY = "item-1"
P = anchor_prefix(KEY)  # "fs-<8 hex digits>-"
REL = ' rel="noopener noreferrer"'


def test_the_prefix_is_short_stable_and_per_item() -> None:
    assert anchor_prefix("item-1") == P
    assert anchor_prefix("item-2") != P
    assert P.startswith("fs-") and P.endswith("-") and len(P) == len("fs-12345678-")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            '<p>Text<sup data-fn="1b2c" class="fn"><a href="#1b2c" id="1b2c-link">1</a></sup>'
            '</p><ol class="wp-block-footnotes"><li id="1b2c">Note. '
            '<a href="#1b2c-link" aria-label="Jump to footnote reference 1">↩︎</a></li></ol>',
            f'<p>Text<sup><a href="#{P}1b2c" id="{P}1b2c-link"{REL}>1</a></sup></p><ol>'
            f'<li id="{P}1b2c">Note. <a href="#{P}1b2c-link"{REL}>↩︎</a></li></ol>',
            id="wordpress",
        ),
        pytest.param(
            '<p>A<sup id="fnref:1" role="doc-noteref"><a href="#fn:1" class="footnote" '
            'rel="footnote">1</a></sup></p><div class="footnotes" role="doc-endnotes"><ol>'
            '<li id="fn:1" role="doc-endnote"><p>N. <a href="#fnref:1" class="reversefootnote" '
            'role="doc-backlink">↩</a></p></li></ol></div>',
            f'<p>A<sup id="{P}fnref:1"><a href="#{P}fn:1"{REL}>1</a></sup></p><div><ol>'
            f'<li id="{P}fn:1"><p>N. <a href="#{P}fnref:1"{REL}>↩</a></p></li></ol></div>',
            id="kramdown-jekyll-hugo",
        ),
        pytest.param(
            '<p>B<a href="#fn1" class="footnote-ref" id="fnref1" role="doc-noteref"><sup>1'
            '</sup></a></p><section id="footnotes" class="footnotes" role="doc-endnotes"><hr>'
            '<ol><li id="fn1"><p>N.<a href="#fnref1" class="footnote-back" role="doc-backlink">'
            "↩︎</a></p></li></ol></section>",
            f'<p>B<a href="#{P}fn1" id="{P}fnref1"{REL}><sup>1</sup></a></p><hr><ol>'
            f'<li id="{P}fn1"><p>N.<a href="#{P}fnref1"{REL}>↩︎</a></p></li></ol>',
            id="pandoc",
        ),
        pytest.param(
            '<p>C<sup class="footnote-ref"><a href="#fn1" id="fnref1">[1]</a></sup></p>'
            '<section class="footnotes"><ol class="footnotes-list"><li id="fn1" '
            'class="footnote-item"><p>N. <a href="#fnref1" class="footnote-backref">↩︎</a>'
            "</p></li></ol></section>",
            f'<p>C<sup><a href="#{P}fn1" id="{P}fnref1"{REL}>[1]</a></sup></p><ol>'
            f'<li id="{P}fn1"><p>N. <a href="#{P}fnref1"{REL}>↩︎</a></p></li></ol>',
            id="ghost-markdown-it",
        ),
        pytest.param(
            '<p>D<a href="#note1">*</a></p><p><a name="note1">*</a> An old-style note.</p>',
            f'<p>D<a href="#{P}note1"{REL}>*</a></p><p><a name="{P}note1"{REL}>*</a> '
            "An old-style note.</p>",
            id="a-name",
        ),
    ],
)
def test_footnotes_stay_within_the_item(before: str, after: str) -> None:
    assert sanitize_html(before, item_key=KEY) == after
    assert sanitize_html(after, item_key=KEY) == after
    assert_safe(after)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param('<h2 id="intro">Intro</h2>', "<h2>Intro</h2>", id="id-nobody-points-at"),
        pytest.param(
            '<p id="top">x</p><a href="#top">up</a>',
            f'<p id="{P}top">x</p><a href="#{P}top"{REL}>up</a>',
            id="top-with-its-id",
        ),
        pytest.param('<a href="#top">up</a>', f'<a href="#top"{REL}>up</a>', id="top-no-id"),
        pytest.param(
            '<p id="x">x</p><a href="#">nowhere</a>',
            f'<p>x</p><a href="#"{REL}>nowhere</a>',
            id="bare-hash",
        ),
        pytest.param(
            '<p id="fn1">n</p><a href="https://other.example/post#fn1">there</a>',
            f'<p>n</p><a href="https://other.example/post#fn1"{REL}>there</a>',
            id="another-page-same-fragment",
        ),
        pytest.param(
            '<form id="location"></form><img id="cookie" name="forms" src="a.png">'
            '<p id="location">l</p><a href="#location">l</a><a href="#cookie">c</a>',
            f'<img id="{P}cookie" src="a.png"><p id="{P}location">l</p>'
            f'<a href="#{P}location"{REL}>l</a><a href="#{P}cookie"{REL}>c</a>',
            id="dom-clobbering-names-prefixed",
        ),
        pytest.param(
            '<li id="fn:1">a</li><a href="#fn%3A1">1</a>',
            f'<li id="{P}fn:1">a</li><a href="#{P}fn%3A1"{REL}>1</a>',
            id="percent-encoded-link",
        ),
        pytest.param(
            "<li id='a\"b&amp;c'>q</li><a href='#a\"b&amp;c'>1</a>",
            f'<li id="{P}a&quot;b&amp;c">q</li><a href="#{P}a&quot;b&amp;c"{REL}>1</a>',
            id="quote-and-ampersand",
        ),
        pytest.param(
            '<li id="注1">注</li><a href="#注1">1</a>',
            f'<li id="{P}注1">注</li><a href="#{P}注1"{REL}>1</a>',
            id="non-ascii",
        ),
        pytest.param(
            '<li id="fs-00000000-x">n</li><a href="#fs-00000000-x">1</a>',
            f'<li id="{P}fs-00000000-x">n</li><a href="#{P}fs-00000000-x"{REL}>1</a>',
            id="another-items-prefix-is-prefixed-again",
        ),
        pytest.param(
            '<li id="fn1" onclick="x()">n</li><a href="#fn1" onclick="y()">1</a>',
            f'<li id="{P}fn1">n</li><a href="#{P}fn1"{REL}>1</a>',
            id="handlers-still-go",
        ),
    ],
)
def test_ids_and_fragment_links(before: str, after: str) -> None:
    assert sanitize_html(before, item_key=KEY) == after
    assert sanitize_html(after, item_key=KEY) == after


def test_without_an_item_key_every_id_goes_as_before() -> None:
    html = '<a href="#fn1" id="r1">1</a><li id="fn1">n</li>'
    assert sanitize_html(html) == f'<a href="#fn1"{REL}>1</a><li>n</li>'


def test_two_items_with_the_same_footnote_ids_get_two_prefixes() -> None:
    note = '<a href="#fn1" id="fnref1">1</a></p><ol><li id="fn1">{}<a href="#fnref1">↩</a>'
    first = "<p>One" + note.format("first") + "</li></ol>"
    second = "<p>Two" + note.format("second") + "</li></ol>"
    one, two = (c.html for c in clean_items([first, second]))
    ids = [
        {str(el.get("id")) for el in lxml.html.fragment_fromstring(h, "div").iter() if el.get("id")}
        for h in (one, two)
    ]
    assert len(ids[0]) == len(ids[1]) == 2 and not ids[0] & ids[1]
    # Each item's links point at its own footnote.
    for html, own in zip((one, two), ids, strict=True):
        root = lxml.html.fragment_fromstring(html, "div")
        assert {str(a.get("href"))[1:] for a in root.iter("a")} == own
    # And the same item cleaned again (next fetch) gets the same prefix.
    assert clean_items([first])[0].html == one


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            '<p>B<a href="#fn1">1</a></p><section id="fn1"><ol><li>N.</li></ol></section>',
            f'<p>B<a href="#{P}fn1"{REL}>1</a></p><ol id="{P}fn1"><li>N.</li></ol>',
            id="section-id-to-its-first-kept-child",
        ),
        pytest.param(
            '<a href="#footnotes">notes</a><section id="footnotes" class="footnotes">'
            '<hr><ol><li id="fn1">N.</li></ol></section>',
            f'<a href="#{P}footnotes"{REL}>notes</a><hr id="{P}footnotes"><ol><li>N.</li></ol>',
            id="pandoc-section-to-its-hr",
        ),
        pytest.param(
            '<a href="#n">1</a><aside id="n">Note <b>one</b>.</aside>',
            f'<a href="#{P}n"{REL}>1</a><a id="{P}n"{REL}></a>Note <b>one</b>.',
            id="text-first-an-empty-anchor-where-it-began",
        ),
        pytest.param(
            '<a href="#n">1</a><header id="n"><nav><p>Deep</p></nav></header>',
            f'<a href="#{P}n"{REL}>1</a><p id="{P}n">Deep</p>',
            id="through-unwrapped-wrappers",
        ),
        pytest.param(
            '<a href="#a">1</a><a href="#b">2</a><aside id="a"><section id="b"><p>N</p>'
            "</section></aside>",
            f'<a href="#{P}a"{REL}>1</a><a href="#{P}b"{REL}>2</a><a id="{P}b"{REL}></a>'
            f'<p id="{P}a">N</p>',
            id="nested-both-land",
        ),
        pytest.param(
            '<p><a href="#fn1"><font id="fnref1">1</font></a></p><li id="fn1">N '
            '<a href="#fnref1">↩</a></li>',
            f'<p><a href="#{P}fn1" id="{P}fnref1"{REL}>1</a></p><li id="{P}fn1">N '
            f'<a href="#{P}fnref1"{REL}>↩</a></li>',
            id="inside-a-link-the-link-takes-it",
        ),
        pytest.param(
            '<p>A<a href="#s">1</a> <span id="s">Note</span></p>',
            f'<p>A<a href="#{P}s"{REL}>1</a> <a id="{P}s"{REL}></a>Note</p>',
            id="span-outside-code",
        ),
        pytest.param(
            '<pre><code><span id="L2" class="line">x = 1</span></code></pre><a href="#L2">l2</a>',
            f'<pre><code><span id="{P}L2" class="line">x = 1</span></code></pre>'
            f'<a href="#{P}L2"{REL}>l2</a>',
            id="span-in-code-keeps-its-id",
        ),
    ],
)
def test_an_id_on_an_unwrapped_element_moves_to_what_stays(before: str, after: str) -> None:
    """Issue 12: nh3 unwraps <section>, <aside>, <font>… (and the sanitiser spans outside
    code) and their id went with the tag, so the footnote link pointed at nothing."""
    assert sanitize_html(before, item_key=KEY) == after
    assert sanitize_html(after, item_key=KEY) == after
    assert_safe(after)
    root = lxml.html.fragment_fromstring(after, "div")
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    assert {str(a.get("href"))[1:] for a in root.iter("a") if a.get("href")} <= ids


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            '<section id="intro"><p>x</p></section>', "<p>x</p>", id="nobody-points-no-anchor"
        ),
        pytest.param(
            '<form id="fn1"></form><p id="fn1">n</p><a href="#fn1">1</a>',
            f'<p id="{P}fn1">n</p><a href="#{P}fn1"{REL}>1</a>',
            id="a-kept-element-already-has-it",
        ),
        pytest.param(
            '<noscript id="fn1"><p>n</p></noscript><a href="#fn1">1</a>',
            f'<a href="#fn1"{REL}>1</a>',
            id="removed-with-its-content",
        ),
        pytest.param(
            '<section id="fn1" onclick="x()"><p onmouseover="y()">n</p></section>'
            '<a href="#fn1">1</a>',
            f'<p id="{P}fn1">n</p><a href="#{P}fn1"{REL}>1</a>',
            id="handlers-still-go",
        ),
    ],
)
def test_unwrapped_ids_look_alikes(before: str, after: str) -> None:
    assert sanitize_html(before, item_key=KEY) == after
    assert sanitize_html(after, item_key=KEY) == after


def test_without_a_key_unwrapped_ids_go_as_before() -> None:
    html = '<a href="#fn1">1</a><section id="fn1"><p>n</p></section>'
    assert sanitize_html(html) == f'<a href="#fn1"{REL}>1</a><p>n</p>'


def test_through_the_clean_stage_a_span_id_still_lands() -> None:
    """The clean stage unwraps spans outside code on its own tree (before the sanitiser)."""
    html = '<p>A claim<a href="#n1">[1]</a>.</p><p><span id="n1">[1]</span> The source.</p>'
    (cleaned,) = clean_items([html], contexts=["feed=f item=1"])
    root = lxml.html.fragment_fromstring(cleaned.html, "div")
    (link,) = (a for a in root.iter("a") if a.get("href"))
    anchor = next(el for el in root.iter() if el.get("id"))
    assert link.get("href") == "#" + str(anchor.get("id"))
    assert "The source." in root.text_content() and "A claim" in root.text_content()


_unwrapped_ids = st.builds(
    lambda t, i, inner: f'<{t} id="{i}">{inner}</{t}>',
    st.sampled_from(["section", "aside", "font", "span", "header", "nav", "center", "form"]),
    st.sampled_from(["fn1", "fn:1", "location", "注"]),
    st.sampled_from(["", "t", "<p>p</p>", '<p id="k">q</p>', "<a href='#fn1'>r</a>", "<ol><li>l"]),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(_unwrapped_ids, st.sampled_from(['<a href="#fn1">1</a>', '<a href="#注">2</a>'])),
        max_size=8,
    ).map("".join)
)
def test_lifted_ids_are_safe_stable_and_land(markup: str) -> None:
    once = sanitize_html(markup, item_key=KEY)
    assert sanitize_html(once, item_key=KEY) == once
    assert_safe(once)
    if not once.strip():
        return
    root = lxml.html.fragment_fromstring(once, "div")
    ids = [str(el.get("id")) for el in root.iter() if el.get("id") and el is not root]
    assert all(i.startswith(P) for i in ids)
    lifted = [i for i in ids if i != P + "k"]  # (the input may repeat <p id="k"> itself)
    assert len(lifted) == len(set(lifted))  # never given twice
    hrefs = [str(a.get("href")) for a in root.iter("a") if a.get("href", "").startswith("#")]
    links = {unquote(href[1:]) for href in hrefs}  # (nh3 percent-encodes non-ASCII)
    assert set(lifted) <= links


_PRE_PASS_SOUP = [
    "math",
    "mi",
    "mtext",
    "mrow",
    "mfenced open='['",
    "mglyph",
    "annotation-xml encoding=text/html",
    "svg",
    "section id=fn1",
    "aside id=fn2",
    "span id=fn1",
    "font id=n",
    "p id=fn1",
    "table",
    "td",
    "pre",
    "a href=#fn1",
    "a href=#fn2",
    "a href=#n",
    "style",
    "li",
    "img src=x onerror=alert(1)",
]
_pre_pass_soup = st.lists(
    st.one_of(
        st.builds(lambda t: f"<{t}>", st.sampled_from(_PRE_PASS_SOUP)),
        st.builds(lambda t: f"</{t.split()[0]}>", st.sampled_from(_PRE_PASS_SOUP)),
        st.sampled_from(["x", " ", "<!--", "-->", "&lt;", "</style>"]),
    ),
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(_pre_pass_soup)
@example("<a href=#fn1><svg><section id=fn1>")
@example("<section id=fn1><math><mfenced open='['><mi><mrow>x<a href=#fn1>")
def test_the_pre_pass_soup_comes_out_safe_and_stable(markup: str) -> None:
    """Ids lifted off unwrapped elements and MathML repaired before nh3 (issue 12), mixed
    with namespace confusion: safe, and the same when cleaned again."""
    for key, once in (("k", sanitize_html(markup, item_key="k")), (None, clean(markup).html)):
        again = sanitize_html(once, item_key=key or item_key(markup))
        assert again == once
        assert_safe(once)
        assert problems(once) == []


_ids = st.sampled_from(["fn1", "fn:1", "top", "location", "a b", "x&y", '"q"', "注"])
_piece = st.one_of(
    st.builds(lambda i: f'<a href="#{i}">r</a>', _ids),
    st.builds(
        lambda t, i: f'<{t} id="{i}">n</{t}>', st.sampled_from(["li", "p", "sup", "a"]), _ids
    ),
    st.builds(lambda i: f'<a name="{i}">n</a>', _ids),
    st.sampled_from(
        ['<a href="#">e</a>', "text", "<p>", "</p>", '<a href="https://o.example/#fn1">o</a>']
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_piece, max_size=12).map("".join))
def test_every_kept_id_is_prefixed_and_pointed_at(markup: str) -> None:
    once = sanitize_html(markup, item_key=KEY)
    assert sanitize_html(once, item_key=KEY) == once
    assert_safe(once)
    if not once.strip():
        return
    root = lxml.html.fragment_fromstring(once, "div")
    links = {a.get("href") for a in root.iter("a") if (a.get("href") or "").startswith("#")}
    for element in root.iter():
        for name in ("id", "name"):
            value = element.get(name)
            if value is not None and element is not root:
                assert value.startswith(P), (name, value)
                assert "#" + value in links, value


# --- the reader's view ------------------------------------------------------------------------


def _feed(items: list[tuple[str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{guid}</title><link>https://blog.example/{guid}</link><guid>{guid}</guid>"
        f"<content:encoded><![CDATA[{html}]]></content:encoded></item>"
        for guid, html in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>f</title>'
        f"<link>https://blog.example/</link><description>d</description>{body}</channel></rss>"
    ).encode()


@pytest.mark.parametrize("reader_sanitises", [False, True])
async def test_served_footnotes_point_within_their_item(
    upstream: Upstream, aiohttp_client: AiohttpClient, make_settings: Any, reader_sanitises: bool
) -> None:
    note = (
        '<p>Claim<sup id="fnref:1"><a href="#fn:1">1</a></sup>, <a href="#comments">comments</a>'
        '</p><ol><li id="fn:1">Source. <a href="#fnref:1">↩</a></li></ol>'
    )
    url = upstream.route(
        "/notes.rss", _feed([("a", note), ("b", note)]), content_type="application/rss+xml"
    )
    client: TestClient[Any, Any] = await aiohttp_client(create_app(make_settings()))
    response = await client.get("/feed", params={"url": url})
    assert response.status == 200
    parsed = feedparser.parse(await response.read(), sanitize_html=reader_sanitises)
    assert not parsed.bozo
    seen: set[str] = set()
    for entry in parsed.entries:
        root = lxml.html.fragment_fromstring(entry.content[0].value, "div")
        ids = {str(el.get("id")) for el in root.iter() if el.get("id")}
        hrefs = [str(a.get("href")) for a in root.iter("a")]
        assert len(ids) == 2 and not ids & seen
        seen |= ids
        assert {h[1:] for h in hrefs if h.startswith("#")} == ids
        # A fragment the item does not hold is resolved by the rewrite stage, as before
        # (against the item's base: here the feed's URL).
        assert url + "#comments" in hrefs


async def test_the_channel_description_keeps_its_footnotes_with_a_prefix_of_its_own(
    upstream: Upstream, aiohttp_client: AiohttpClient, make_settings: Any
) -> None:
    """The feed's own description is HTML readers render as well (issue 12): its in-document
    links land, under a prefix no item of the feed has (before: every id dropped, so the
    link `#fn:1` pointed at nothing)."""
    note = (
        '<p>Claim<sup id="fnref:1"><a href="#fn:1">1</a></sup></p>'
        '<ol><li id="fn:1">Src <a href="#fnref:1">↩</a></li></ol>'
    )
    body = _feed([("a", note)]).replace(
        b"<description>d</description>",
        b"<description><![CDATA[" + note.encode() + b"]]></description>",
    )
    url = upstream.route("/described.rss", body, content_type="application/rss+xml")
    client: TestClient[Any, Any] = await aiohttp_client(create_app(make_settings()))
    parsed = feedparser.parse(await (await client.get("/feed", params={"url": url})).read())
    assert not parsed.bozo
    described = lxml.html.fragment_fromstring(parsed.feed.description, "div")
    channel_ids = {str(el.get("id")) for el in described.iter() if el.get("id")}
    assert len(channel_ids) == 2  # fnref:1 and fn:1, both prefixed
    assert {str(a.get("href"))[1:] for a in described.iter("a")} == channel_ids
    assert "Src" in described.text_content() and "Claim" in described.text_content()
    item = lxml.html.fragment_fromstring(parsed.entries[0].content[0].value, "div")
    item_ids = {str(el.get("id")) for el in item.iter() if el.get("id")}
    assert len(item_ids) == 2 and not item_ids & channel_ids
    prefixes = {i.split("-")[1] for i in channel_ids | item_ids}
    assert len(prefixes) == 2  # one per document part, each fs-<8 hex>-
