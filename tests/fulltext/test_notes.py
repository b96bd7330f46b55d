"""Footnotes through full-text extraction (issue 12, "Full text keeps what the article has"):
readability drops `<div class="footnotes">` and the references' `class="footnote-ref"`;
proxy.fulltext.notes takes the note sections out before it runs and puts them back on the
article that refers to them. Pages are shaped like what each generator writes."""

from __future__ import annotations

from typing import Any

import lxml.html
import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from proxy.fulltext.extract import extract
from proxy.server import create_app
from tests.helpers import read_feed
from tests.upstream import Upstream

URL = "https://blog.example/2024/compilers/"
WORDS = "of the post about compilers, with enough words, commas, and clauses to read as prose"


def page(body: str, notes: str, *, wrapper: str = '<div class="post-content e-content">') -> str:
    """A blog page (site header and footer around an <article>), body then notes inside."""
    return (
        "<!DOCTYPE html><html><head><title>On compilers</title></head><body>"
        '<header class="site-header"><nav><a href="/">Home</a> <a href="/about/">About</a>'
        '</nav></header><main class="page-content"><article class="post h-entry">'
        '<header class="post-header"><h1 class="post-title">On compilers</h1></header>'
        f"{wrapper}{body}{notes}</div></article></main>"
        '<footer class="site-footer"><p>SITE-FOOTER, all rights reserved</p></footer>'
        "</body></html>"
    )


def paragraphs(refs: dict[int, str]) -> str:
    return "".join(f"<p>Paragraph {i} {WORDS}{refs.get(i, '')}.</p>" for i in range(8))


KRAMDOWN = page(
    paragraphs(
        {
            2: '<sup id="fnref:1" role="doc-noteref"><a href="#fn:1" class="footnote" '
            'rel="footnote">1</a></sup>',
            5: '<sup id="fnref:2" role="doc-noteref"><a href="#fn:2" class="footnote" '
            'rel="footnote">2</a></sup>',
        }
    ),
    '<div class="footnotes" role="doc-endnotes"><ol><li id="fn:1" role="doc-endnote"><p>'
    'NOTE-ONE, the first note. <a href="#fnref:1" class="reversefootnote" '
    'role="doc-backlink">&#8617;</a></p></li><li id="fn:2" role="doc-endnote"><p>NOTE-TWO, see '
    '<a href="https://example.org/paper">the paper</a>. <a href="#fnref:2" '
    'class="reversefootnote" role="doc-backlink">&#8617;</a></p></li></ol></div>',
)
HUGO = page(
    paragraphs(
        {3: '<sup id="fnref:1"><a href="#fn:1" class="footnote-ref" role="doc-noteref">1</a></sup>'}
    ),
    '<div class="footnotes" role="doc-endnotes"><hr><ol><li id="fn:1"><p>NOTE-ONE '
    '<a href="https://example.org/a">https://example.org/a</a>&#160;<a href="#fnref:1" '
    'class="footnote-backref" role="doc-backlink">&#x21a9;&#xfe0e;</a></p></li></ol></div>',
)
PANDOC = page(
    paragraphs(
        {
            1: '<a href="#fn1" class="footnote-ref" id="fnref1" role="doc-noteref"><sup>1</sup></a>',
            6: '<a href="#fn2" class="footnote-ref" id="fnref2" role="doc-noteref"><sup>2</sup></a>',
        }
    ),
    '<section id="footnotes" class="footnotes footnotes-end-of-document" role="doc-endnotes">'
    '<hr><ol><li id="fn1"><p>NOTE-ONE.<a href="#fnref1" class="footnote-back" '
    'role="doc-backlink">↩︎</a></p></li><li id="fn2"><p>NOTE-TWO.<a href="#fnref2" '
    'class="footnote-back" role="doc-backlink">↩︎</a></p></li></ol></section>',
)
WORDPRESS = page(
    paragraphs(
        {
            4: '<sup data-fn="8c1e" class="fn"><a href="#8c1e" id="8c1e-link">1</a></sup>',
        }
    ),
    '<ol class="wp-block-footnotes"><li id="8c1e">NOTE-ONE, a WordPress note. '
    '<a href="#8c1e-link" aria-label="Jump to footnote reference 1">↩︎</a></li></ol>',
    wrapper='<div class="entry-content">',
)
SUBSTACK = page(
    paragraphs(
        {
            2: '<a class="footnote-anchor" data-component-name="FootnoteAnchorToDOM" '
            'id="footnote-anchor-1" href="#footnote-1" target="_self">1</a>',
            7: '<a class="footnote-anchor" data-component-name="FootnoteAnchorToDOM" '
            'id="footnote-anchor-2" href="#footnote-2" target="_self">2</a>',
        }
    ),
    '<div class="footnote" data-component-name="FootnoteToDOM"><a id="footnote-1" '
    'href="#footnote-anchor-1" class="footnote-number" target="_self">1</a><div '
    'class="footnote-content"><p>NOTE-ONE from Substack.</p></div></div>'
    '<div class="footnote" data-component-name="FootnoteToDOM"><a id="footnote-2" '
    'href="#footnote-anchor-2" class="footnote-number" target="_self">2</a><div '
    'class="footnote-content"><p>NOTE-TWO from Substack.</p></div></div>',
    wrapper='<div class="body markup" dir="auto">',
)


def _tree(html: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(html, create_parent="div")


def _links_land(article: lxml.html.HtmlElement) -> None:
    """Every in-article link points at an element of the article."""
    ids = {e.get("id") for e in article.iter() if e.get("id")}
    fragments = [a.get("href") for a in article.iter("a") if a.get("href", "").startswith("#")]
    assert fragments, "the references are kept"
    for href in fragments:
        assert href[1:] in ids, href


@pytest.mark.parametrize(
    ("html", "notes"),
    [
        pytest.param(KRAMDOWN, ["NOTE-ONE", "NOTE-TWO"], id="jekyll-kramdown"),
        pytest.param(HUGO, ["NOTE-ONE"], id="hugo-goldmark"),
        pytest.param(PANDOC, ["NOTE-ONE", "NOTE-TWO"], id="pandoc-section"),
        pytest.param(WORDPRESS, ["NOTE-ONE"], id="wordpress-block"),
        pytest.param(SUBSTACK, ["NOTE-ONE", "NOTE-TWO"], id="substack"),
    ],
)
def test_readability_keeps_the_notes_and_their_references(html: str, notes: list[str]) -> None:
    article_html = extract(html, URL, site=None, selector=None)
    assert article_html is not None
    article = _tree(article_html)
    text = article.text_content()
    for note in notes:
        assert text.count(note) == 1, note  # there, once
    assert "Paragraph 7" in text and "SITE-FOOTER" not in text and "About" not in text
    _links_land(article)
    # The notes come after the article text, as on the page.
    assert text.index("Paragraph 7") < text.index(notes[0])
    # The references keep their own class and id (given back after readability).
    assert "data-feedscrub" not in article_html


def test_before_the_fix_readability_alone_dropped_them() -> None:
    """What readability-lxml 0.9 does with the kramdown page on its own (why notes.py is
    there): the section and the references' links are gone."""
    from readability import Document

    summary = Document(KRAMDOWN).summary(html_partial=True, keep_all_images=True)
    assert "NOTE-ONE" not in summary and 'href="#fn:1"' not in summary


def test_a_selector_gets_the_notes_outside_what_it_picked() -> None:
    article_html = extract(KRAMDOWN, URL, site=None, selector="div.post-content > p")
    assert article_html is not None
    article = _tree(article_html)
    assert "NOTE-ONE" in article.text_content() and "NOTE-TWO" in article.text_content()
    _links_land(article)


def test_a_selector_that_holds_the_notes_gets_them_once() -> None:
    article_html = extract(KRAMDOWN, URL, site=None, selector="div.post-content")
    assert article_html is not None
    assert _tree(article_html).text_content().count("NOTE-ONE") == 1


# --- look-alikes that must stay as they were ----------------------------------------------------


def test_a_table_of_contents_keeps_its_headings_in_place() -> None:
    """In-page links to headings are not notes: nothing is moved to the end."""
    body = (
        '<nav class="toc"><a href="#part-1">Part 1</a> <a href="#part-2">Part 2</a></nav>'
        + '<h2 id="part-1">Part 1</h2>'
        + paragraphs({})
        + '<h2 id="part-2">Part 2</h2>'
        + paragraphs({}).replace("Paragraph", "Later paragraph")
    )
    article_html = extract(page(body, ""), URL, site=None, selector=None)
    assert article_html is not None
    text = _tree(article_html).text_content()
    assert text.index("Part 2") < text.index("Later paragraph 0")


def test_notes_nothing_in_the_article_refers_to_stay_out() -> None:
    """A references box of the sidebar (its links lead to other pages, or are referred to
    from the comments only) is not the article's."""
    html = page(paragraphs({}), "").replace(
        "</main>",
        '</main><aside class="sidebar"><div class="comments"><p>Nice post<a href="#ref-9">9</a>'
        '</p></div><ol class="references"><li id="ref-9">SIDEBAR-REFERENCE</li></ol></aside>',
    )
    article_html = extract(html, URL, site=None, selector=None)
    assert article_html is not None and "SIDEBAR-REFERENCE" not in article_html


def test_an_article_marked_as_having_footnotes_is_not_taken_for_the_notes() -> None:
    """A wrapper whose class says "footnotes" but holds the references too is the article,
    not a note section: nothing is lifted out of place or doubled."""
    html = KRAMDOWN.replace('class="post h-entry"', 'class="post has-footnotes"')
    article_html = extract(html, URL, site=None, selector=None)
    assert article_html is not None
    text = _tree(article_html).text_content()
    assert text.count("NOTE-ONE") == 1 and text.count("Paragraph 3") == 1


@pytest.mark.parametrize("selector", [None, "div.post-content"])
def test_the_page_own_hidden_attribute_names_are_not_given_back(selector: str | None) -> None:
    html = KRAMDOWN.replace("<p>Paragraph 0", '<p data-feedscrub-id="location">Paragraph 0')
    article_html = extract(html, URL, site=None, selector=selector)
    assert article_html is not None
    assert "location" not in {e.get("id") for e in _tree(article_html).iter()}


# --- through the server ---------------------------------------------------------------------------


async def test_served_full_text_keeps_the_footnotes_and_their_links_land(
    upstream: Upstream, aiohttp_client: AiohttpClient, make_settings: Any
) -> None:
    """The real pipeline: the feed's teaser is replaced by the article fetched from the
    upstream, cleaned and sanitised; the notes are in the item, under the item's prefix."""
    upstream.route("/post.html", KRAMDOWN.encode(), content_type="text/html; charset=utf-8")
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>'
        f"<link>{upstream.base_url}/</link><description>d</description>"
        f"<item><title>On compilers</title><link>{upstream.base_url}/post.html</link>"
        "<guid>post-1</guid><description>Teaser.</description></item></channel></rss>"
    )
    url = upstream.route("/feed.xml", feed.encode())
    client: TestClient[Any, Any] = await aiohttp_client(create_app(make_settings()))
    response = await client.get("/feed", params={"url": url, "fulltext": "1"})
    assert response.status == 200
    entry = read_feed(await response.read()).entries[0]
    content = str(entry.content[0].value)
    article = _tree(content)
    text = article.text_content()
    assert "NOTE-ONE" in text and "NOTE-TWO" in text and "the paper" in text
    _links_land(article)
    ids = {str(e.get("id")) for e in article.iter() if e.get("id")}
    assert ids and all(i.startswith("fs-") for i in ids)  # the item's prefix
    assert {i.split("-", 2)[2] for i in ids} == {"fn:1", "fn:2", "fnref:1", "fnref:2"}
