"""extract: the article in one decoded page (no I/O): selectors, site rules, readability."""

from __future__ import annotations

from proxy.fulltext.extract import extract
from proxy.fulltext.siteconfig import SiteConfig
from tests.helpers import DATA

ARTICLES = DATA / "articles"


def test_invalid_selector_never_raises() -> None:
    page = (ARTICLES / "article.html").read_text(encoding="utf-8")
    for selector in ("div[", "//div[", "::nope"):
        out = extract(page, "http://news.example.test/a.html", site=None, selector=selector)
        assert out is not None and "MARKER-LEAD" in out  # readability instead


def test_selector_beats_site_body() -> None:
    page = (ARTICLES / "sited.html").read_text(encoding="utf-8")
    site = SiteConfig(body=("//div[@id='story']",))
    out = extract(page, "http://x.test/", site=site, selector="#reader-letters")
    assert out is not None and "COMMENTS" in out and "SITE-BODY" not in out


def test_extract_resolves_against_the_page_base() -> None:
    page = (
        '<html><head><base href="https://cdn.example.test/site/"></head><body><article>'
        + "<p>Words of the article, several of them, to be long enough for readability.</p>" * 5
        + '<p><img src="i/a.jpg" srcset="i/a.jpg 1x, i/b.jpg 2x" data-src="i/c.jpg">'
        '<a href="/about">about</a></p></article></body></html>'
    )
    out = extract(page, "https://example.test/post/1", site=None, selector=None)
    assert out is not None
    assert 'src="https://cdn.example.test/site/i/a.jpg"' in out
    assert "https://cdn.example.test/site/i/b.jpg 2x" in out
    assert 'data-src="https://cdn.example.test/site/i/c.jpg"' in out
    assert 'href="https://cdn.example.test/about"' in out
    assert "<base" not in out


def test_extraction_is_raw_html_not_a_sanitiser() -> None:
    """readability is not a sanitiser (research §D8): the pipeline's nh3 pass does that."""
    page = (
        "<html><body><article>"
        + "<p>Long enough article text, with commas, for readability to take it as content.</p>" * 5
        + "<svg><script>alert(1)</script></svg></article></body></html>"
    )
    out = extract(page, "https://example.test/", site=None, selector=None)
    assert out is not None and "<svg" in out
    from proxy import sanitize

    assert "script" not in sanitize.sanitize_html(out) and "svg" not in sanitize.sanitize_html(out)


ARTICLE_PAGE = (
    "<html><head><base href='https://cdn.example/posts/'></head><body>"
    "<nav><a href='/home'>Home</a></nav><article>"
    + "<p>A long paragraph of the article text that readability will pick. </p>" * 12
    + "<p><img src='' data-src='lazy.jpg' alt='lazy'><a href=''>empty</a>"
    " <a href='rel/page'>relative</a></p></article></body></html>"
)


def test_urls_are_made_absolute_on_the_article_and_empty_ones_dropped() -> None:
    article = extract(ARTICLE_PAGE, "https://site.example/a/b", site=None, selector="article")
    assert article is not None
    assert 'href="https://cdn.example/posts/rel/page"' in article  # the page's <base>
    assert 'data-src="https://cdn.example/posts/lazy.jpg"' in article
    assert ' src=""' not in article and 'src="https://cdn.example/posts/"' not in article
    assert 'href="https://cdn.example/posts/"' not in article  # the empty href is not a link


def test_readability_keeps_every_image_and_resolves_them() -> None:
    page = ARTICLE_PAGE.replace("<article>", "<div>").replace("</article>", "</div>")
    article = extract(page, "https://site.example/a/b", site=None, selector=None)
    assert article is not None
    assert 'data-src="https://cdn.example/posts/lazy.jpg"' in article
