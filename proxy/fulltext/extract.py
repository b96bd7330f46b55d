"""Extraction: the article in one decoded page, as raw HTML with absolute URLs. No I/O.

The only module importing readability-lxml. Order for one page: site-config ``strip`` rules
first, then the per-feed ``fulltext_selector``, then the site-config ``body``, then
readability. It does no cleaning: the pipeline cleans and sanitises the result exactly like
feed content (readability is an extractor, not a sanitiser: research §D8).
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Sequence
from urllib.parse import urljoin

import lxml.html
from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement
from readability import Document

from proxy import htmlurls
from proxy.fulltext import notes
from proxy.fulltext.siteconfig import SiteConfig, apply_strip, select_body

logger = logging.getLogger(__name__)

# Bump when extraction changes what the same page gives, so cached articles are redone.
EXTRACTOR_VERSION = "2"  # 2: footnotes kept (proxy.fulltext.notes), in-article links too
# readability gives *something* for nearly every page (a cookie banner, a 'page not found'
# block); under this many characters of text it is not the article.
MIN_ARTICLE_CHARS = 200
# Attributes holding one URL that lxml's make_links_absolute does not know (the lazy-image
# lists are proxy.htmlurls', shared with the clean and rewrite stages).
_URL_ATTRIBUTES = ("poster", *htmlurls.LAZY_SRC_ATTRIBUTES)
_SRCSET_ATTRIBUTES = ("srcset", *htmlurls.LAZY_SRCSET_ATTRIBUTES)
_LAZY_ATTRIBUTES = htmlurls.LAZY_ATTRIBUTES
# What may sit right before a <noscript> fallback and hold the lazy image it repeats.
_IMAGE_WRAPPERS = ("img", "picture", "a", "span")
_MEDIA = ("img", "picture", "video", "audio", "iframe", "object", "embed", "svg")
# Never article content, whatever a selector matched.
_JUNK = ("script", "style", "template", "link", "meta", "noscript", "base")


def _parse_page(text: str) -> HtmlElement | None:
    # Bytes with a fixed UTF-8 parser: lxml refuses str input that carries an XML encoding
    # declaration, and a <meta charset> must not make it decode the text a second time.
    data = text.encode("utf-8", errors="replace")
    if not data.strip():
        return None
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True)
    try:
        root = lxml.html.document_fromstring(data, parser=parser)
    except (etree.ParserError, ValueError):
        return None
    return root if isinstance(root, HtmlElement) else None


def _base_url(root: HtmlElement, url: str) -> str:
    for href in root.xpath("//base/@href"):
        joined = urljoin(url, str(href).strip())
        if joined.lower().startswith(("http://", "https://")):
            return joined
    return url


def _join(base: str, value: str) -> str:
    value = value.strip()
    if not value or value.startswith(("data:", "#")):
        return value
    try:
        return urljoin(base, value)
    except ValueError:
        return value


def _absolute_srcset(value: str, base: str) -> str:
    return htmlurls.join_srcset([(_join(base, u), d) for u, d in htmlurls.parse_srcset(value)])


def make_absolute(root: HtmlElement, base: str) -> None:
    """Resolve every link, image and lazy-image URL in the article against base.

    Run on the extracted article only (on the whole page it was a sixth of the extraction
    time). An empty src or href is dropped, not resolved: it would become the page's own
    URL, an "image" that hides the lazy one in data-src. A link to an element of the
    article (`href="#fn:1"`, a footnote) stays as it is: it lands within the item.
    """
    targets: set[str] | None = None
    within: list[tuple[HtmlElement, str]] = []
    for element in root.iter():
        if not isinstance(element, HtmlElement):
            continue
        for name in ("src", "href"):
            value = element.get(name)
            if value is not None and not value.strip():
                del element.attrib[name]
        href = element.get("href") if element.tag == "a" else None
        if href is not None and href.lstrip().startswith("#"):
            targets = htmlurls.anchor_targets(root) if targets is None else targets
            if htmlurls.fragment_target(href, targets) is not None:
                within.append((element, href))
    root.make_links_absolute(base, resolve_base_href=False, handle_failures="ignore")
    for element, href in within:
        element.set("href", href)
    for element in root.iter():
        if not isinstance(element, HtmlElement):
            continue
        for name in _URL_ATTRIBUTES:
            value = element.get(name)
            if value:
                element.set(name, _join(base, value))
        for name in _SRCSET_ATTRIBUTES:
            value = element.get(name)
            if value:
                element.set(name, _absolute_srcset(value, base))


def _drop_hidden(root: HtmlElement) -> None:
    for element in root.xpath("//*[@hidden]"):
        if element.getparent() is not None:
            element.drop_tree()
    for element in root.xpath("//*[@style]"):
        style = re.sub(r"\s+", "", element.get("style", "")).lower()
        if "display:none" in style and element.getparent() is not None:
            element.drop_tree()


def _image_urls(image: HtmlElement) -> set[str]:
    return {v.strip() for name in ("src", *_LAZY_ATTRIBUTES) if (v := image.get(name))}


def rescue_noscript_images(root: HtmlElement) -> None:
    """Keep the images lazy-loading pages put in <noscript>: readability drops <noscript>.

    Dropped when it repeats the image just before it (``<img data-src=…><noscript><img
    src=…></noscript>``: rewriting recovers the lazy one); unwrapped otherwise, so the image
    stays.
    """
    for noscript in list(root.iter("noscript")):
        inner = list(noscript.iter("img"))
        if noscript.getparent() is None or not inner:
            continue
        before = noscript.getprevious()
        adjacent = (
            before is not None and before.tag in _IMAGE_WRAPPERS and not (before.tail or "").strip()
        )
        beside = list(before.iter("img")) if adjacent and before is not None else []
        known: set[str] = set()
        for image in beside:
            known |= _image_urls(image)
        lazy = any(any(image.get(name) for name in _LAZY_ATTRIBUTES) for image in beside)
        if beside and (lazy or all(_image_urls(image) <= known for image in inner)):
            noscript.drop_tree()
        else:
            noscript.drop_tag()


def _select(root: HtmlElement, selector: str) -> list[HtmlElement]:
    try:
        if selector.startswith("/"):
            found = root.xpath(selector)
        else:
            found = CSSSelector(selector, translator="html")(root)
    except Exception as exc:  # cssselect and lxml raise their own trees; the message matters
        logger.warning("fulltext: selector %r failed: %s", selector, exc)
        return []
    elements = [e for e in found if isinstance(e, HtmlElement)] if isinstance(found, list) else []
    chosen = set(elements)
    # A match inside another match is already part of it.
    return [e for e in elements if not any(a in chosen for a in e.iterancestors())]


def _text_length(element: HtmlElement) -> int:
    return len(" ".join(element.text_content().split()))


def _has_media(element: HtmlElement) -> bool:
    return any(True for _ in element.iter(*_MEDIA))


def _serialise(element: HtmlElement) -> str:
    return str(lxml.html.tostring(element, encoding="unicode", method="html", with_tail=False))


def _from_elements(elements: Sequence[HtmlElement]) -> HtmlElement | None:
    if len(elements) == 1:
        article = copy.deepcopy(elements[0])
        article.tail = None
    else:
        article = lxml.html.Element("div")
        for element in elements:
            piece = copy.deepcopy(element)
            piece.tail = None
            article.append(piece)
    if article.tag in ("html", "body"):
        article.tag = "div"
    _drop_junk(article)
    # Chosen by a person (selector or site rule): any text or a picture counts (comics).
    if not _text_length(article) and not _has_media(article):
        return None
    return article


def _drop_junk(article: HtmlElement) -> None:
    for junk in list(article.iter(*_JUNK)):
        if junk is not article:
            junk.drop_tree()


def _from_readability(root: HtmlElement, url: str) -> HtmlElement | None:
    page = lxml.html.tostring(root, encoding="unicode", method="html")
    try:
        # keep_all_images: figure images kept rise from 66% to 88% on the mozilla/readability
        # test pages, F1 unchanged (issue 12).
        summary = Document(page).summary(html_partial=True, keep_all_images=True)
    except Exception as exc:  # readability raises Unparseable and whatever lxml raises
        logger.debug("fulltext: readability failed article_url=%s error=%s", url, exc)
        return None
    article = _parse_fragment(summary)
    if article is None or _text_length(article) < MIN_ARTICLE_CHARS:
        return None
    return article


def _parse_fragment(html: str) -> HtmlElement | None:
    try:
        element = lxml.html.fragment_fromstring(html)  # readability's one <div>
    except (etree.ParserError, ValueError):
        try:
            element = lxml.html.fragment_fromstring(html, create_parent="div")
        except (etree.ParserError, ValueError):
            return None
    return element if isinstance(element, HtmlElement) else None


def extract(html: str, url: str, *, site: SiteConfig | None, selector: str | None) -> str | None:
    """The article in a page, as raw HTML with absolute URLs; None when there is none.

    Synchronous and CPU-bound: call it through ``asyncio.to_thread``.

    Parameters:
        html: the page, decoded (``decode_html``).
        url: the page's URL after redirects: relative URLs resolve against it (or its <base>).
        site: site-config rules for the page's host: ``strip`` rules run first; ``body``
            picks the article when the selector does not.
        selector: the feed's ``fulltext_selector``: CSS, or XPath when it starts with "/".
            When it matches nothing, the site ``body`` and then readability are tried.
    """
    root = _parse_page(html)
    if root is None:
        return None
    _drop_hidden(root)
    if site is not None:
        apply_strip(root, site)
    rescue_noscript_images(root)
    base = _base_url(root, url)
    for element in root.xpath("//base"):
        element.drop_tree()
    picked = _select(root, selector) if selector else []
    if not picked and site is not None and site.body:
        picked = select_body(root, site)
    if picked:
        article = _from_elements(picked)
        # Notes outside what was picked, that it refers to, are the article's too.
        sections = notes.take_notes(root) if article is not None else []
    else:
        # Out of readability's reach: it drops "foot" classes and link-heavy lists.
        sections = notes.take_notes(root)
        article = _from_readability(root, url)
    if article is None:
        return None
    if sections:
        notes.attach_sections(article, sections)
        _drop_junk(article)
    if not picked:
        notes.give_back(article)  # (a picked article was copied before anything was hidden)
    make_absolute(article, base)
    return _serialise(article)
