"""Full text: fetch each item's link, extract the article. Does no cleaning.

The only module importing readability-lxml. ``FullText.fill`` takes a parsed feed and
returns it with each item's content replaced by the raw article HTML it could get; the
pipeline then cleans and sanitises that HTML exactly like feed content (readability is an
extractor, not a sanitiser: research §D8).

A reader never waits long and never gets a truncated feed (the most common complaint about
morss, which fetches 5–10 items and drops the rest): ``fill`` waits at most a time budget,
serves the items not ready yet with the feed's own content, and lets their fetches run on in
the background, storing into the cache so the next request has them. Articles are cached by
URL (``FEEDSCRUB_FULLTEXT_TTL``); failures are cached for an hour so a dead link is not
fetched on every request.

Extraction order for one page: site-config ``strip`` rules first, then the per-feed
``fulltext_selector``, then the site-config ``body``, then readability.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import copy
import dataclasses
import functools
import hashlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp
import lxml.html
from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement
from readability import Document
from readability.encoding import get_encoding

from proxy import fetch, htmlurls
from proxy.cache import Cache, StoredArticle
from proxy.config import Settings
from proxy.errors import ProxyError
from proxy.models import Entry, Feed, FetchResult
from proxy.siteconfig import SiteConfig, SiteConfigs, apply_strip, select_body

logger = logging.getLogger(__name__)

# Bump when extraction changes what the same page gives, so cached articles are redone.
EXTRACTOR_VERSION = "1"
ARTICLE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
# readability gives *something* for nearly every page (a cookie banner, a 'page not found'
# block); under this many characters of text it is not the article.
MIN_ARTICLE_CHARS = 200
# A failed link (404, not HTML, nothing extracted) is retried after this long, not on every
# request; a successful article lives FEEDSCRUB_FULLTEXT_TTL.
FAILURE_TTL = 3600
# Extractions at once. to_thread shares the loop's default executor with cache reads and
# feed parsing; a 100-item feed must not queue 100 readability runs in front of them.
EXTRACT_THREADS = 4
_SNIFF_BYTES = 8192  # where <meta charset> is looked for; real pages declare it early
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_META_CHARSET = re.compile(
    rb"""<meta[^<>]+?charset\s*+=\s*+(?:["']\s*+)?([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""")
# WHATWG: browsers decode these labels as the superset, and so must we (a "gb2312" page
# routinely holds GBK-only characters; "iso-8859-1" pages hold cp1252 quotes).
_SUPERSETS = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
    "big5": "big5hkscs", "x-big5": "big5hkscs",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
    "ascii": "cp1252", "iso8859-1": "cp1252", "x-sjis": "shift_jis", "shift-jis": "shift_jis",
}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
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


# --- decoding ----------------------------------------------------------------------------------


def _codec(label: str) -> str | None:
    name = label.strip().strip("\"'").lower()
    name = _SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def declared_charsets(body: bytes, content_type: str) -> list[str]:
    """Charsets a page declares, strongest first: BOM, Content-Type, <meta>, <?xml?>."""
    found: list[str] = []
    for bom, name in _BOMS:
        if body.startswith(bom):
            found.append(name)
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            found.append(value)
    head = body[:_SNIFF_BYTES]
    found += [m.decode("ascii", "replace") for m in _META_CHARSET.findall(head)]
    found += [m.decode("ascii", "replace") for m in _XML_ENCODING.findall(head)]
    names = [codec for codec in (_codec(label) for label in found) if codec]
    return list(dict.fromkeys(names))


def decode_html(body: bytes, content_type: str = "") -> str:
    """Article page bytes → text.

    Each declared charset is tried strictly in order (a server's default ``charset=utf-8``
    header on a GBK page is common: the page's own <meta> then wins); then UTF-8; then the
    first declared charset with replacement characters; then a guess from the bytes.
    """
    declared = declared_charsets(body, content_type)
    for name in (*declared, "utf-8"):
        try:
            return body.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    if declared:
        return body.decode(declared[0], errors="replace")
    guessed = _codec(get_encoding(body) or "") or "cp1252"
    return body.decode(guessed, errors="replace")


def is_html(result: FetchResult) -> bool:
    """Whether a response is a page worth extracting from (by type, else by its first bytes)."""
    kind = result.content_type.split(";")[0].strip().lower()
    if kind:
        return kind in _HTML_TYPES
    return result.body.lstrip()[:1] == b"<"


# --- extraction --------------------------------------------------------------------------------


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


def make_absolute(root: HtmlElement, url: str) -> None:
    """Resolve every link, image and lazy-image URL against the page (its <base>, else URL)."""
    base = _base_url(root, url)
    for element in root.xpath("//base"):
        element.drop_tree()
    root.make_links_absolute(base, resolve_base_href=False, handle_failures="ignore")
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
            before is not None
            and before.tag in _IMAGE_WRAPPERS
            and not (before.tail or "").strip()
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


def _from_elements(elements: Sequence[HtmlElement]) -> str | None:
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
    for junk in list(article.iter(*_JUNK)):
        if junk is not article:
            junk.drop_tree()
    # Chosen by a person (selector or site rule): any text or a picture counts (comics).
    if not _text_length(article) and not _has_media(article):
        return None
    return _serialise(article)


def _from_readability(root: HtmlElement, url: str) -> str | None:
    page = lxml.html.tostring(root, encoding="unicode", method="html")
    try:
        summary = Document(page).summary(html_partial=True)
    except Exception as exc:  # readability raises Unparseable and whatever lxml raises
        logger.debug("fulltext: readability failed article_url=%s error=%s", url, exc)
        return None
    article = _parse_fragment(summary)
    if article is None or _text_length(article) < MIN_ARTICLE_CHARS:
        return None
    return _serialise(article)


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
    make_absolute(root, url)
    picked = _select(root, selector) if selector else []
    if not picked and site is not None and site.body:
        picked = select_body(root, site)
    if picked:
        return _from_elements(picked)
    return _from_readability(root, url)


# --- filling a feed ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FillResult:
    """A feed with the full text that was ready in time."""

    feed: Feed  # entries whose article is ready carry it as content (raw, uncleaned)
    filled: frozenset[str]  # item links whose article is in this result
    pending: int  # articles still being fetched in the background (0 = complete)
    # Names the exact articles in ``feed`` (link + content hash): part of an output cache key,
    # so a partial result and the complete one are never confused.
    digest: str = ""


@dataclass
class _HostSlot:
    semaphore: asyncio.Semaphore
    users: int = 0


def _recipe(selector: str | None, site: SiteConfig | None) -> str:
    digest = hashlib.sha256()
    for part in (EXTRACTOR_VERSION, selector or "", repr(site) if site else ""):
        digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()[:16]


def _is_http(link: str | None) -> bool:
    return bool(link) and str(link).lower().startswith(("http://", "https://"))


class FullText:
    """Article fetching and extraction for one app (one session, one cache).

    Parameters:
        settings: fulltext_budget, fulltext_ttl, fulltext_concurrency, fulltext_per_host and
            site_config_dir are used, and every fetch limit (timeouts, body size, redirects,
            allow_private) as for feeds.
        session: the app's guarded session (``fetch.new_session``).
        cache: where articles are kept.
        site_configs: site rules; built from ``settings.site_config_dir`` when None.
    """

    def __init__(
        self,
        settings: Settings,
        session: aiohttp.ClientSession,
        cache: Cache,
        site_configs: SiteConfigs | None = None,
    ) -> None:
        self.settings = settings
        self.session = session
        self.cache = cache
        self.site_configs = (
            site_configs if site_configs is not None else SiteConfigs(settings.site_config_dir)
        )
        self._tasks: dict[tuple[str, str], asyncio.Task[StoredArticle]] = {}
        self._fetching = asyncio.Semaphore(settings.fulltext_concurrency)
        self._extracting = asyncio.Semaphore(EXTRACT_THREADS)
        self._hosts: dict[str, _HostSlot] = {}
        self._closed = False
        # Freshness decisions read this clock; tests move it instead of sleeping.
        self.clock: Callable[[], float] = time.time

    @property
    def running(self) -> int:
        """Articles being fetched or extracted right now (for tests and metrics)."""
        return len(self._tasks)

    async def fill(
        self,
        feed: Feed,
        *,
        selector: str | None = None,
        budget: float | None = None,
        user_agent: str | None = None,
    ) -> FillResult:
        """Put each item's article in place of its content, as far as time allows.

        Never raises for an article: one that fails keeps the feed's own content.

        Parameters:
            feed: the parsed (and filtered) feed.
            selector: the feed's ``fulltext_selector``.
            budget: seconds to wait for fetches; ``settings.fulltext_budget`` when None.
                Fetches still running then go on in the background and fill the cache.
            user_agent: the feed's own ``user_agent`` option, if any (a site-config
                ``http_header(user-agent)`` wins over it).
        """
        started = time.monotonic()
        wait = self.settings.fulltext_budget if budget is None else max(0.0, budget)
        links = list(dict.fromkeys(e.link for e in feed.entries if e.link and _is_http(e.link)))
        if not links:
            return FillResult(feed=feed, filled=frozenset(), pending=0)
        ready, plans = await asyncio.to_thread(self._lookup, links, selector)
        waiting: dict[str, asyncio.Task[StoredArticle]] = {}
        if not self._closed:
            for link in links:
                if link not in ready:
                    recipe, site = plans[link]
                    waiting[link] = self._start(link, recipe, site, selector, user_agent)
        if waiting:
            remaining = max(0.0, wait - (time.monotonic() - started))
            await asyncio.wait(waiting.values(), timeout=remaining)
        for link, task in waiting.items():
            if task.done() and not task.cancelled() and task.exception() is None:
                ready[link] = task.result()
        pending = sum(1 for task in waiting.values() if not task.done())
        result = _apply(feed, ready, pending)
        # Served wholly from the cache is the common case: keep it out of the INFO log.
        logger.log(
            logging.INFO if waiting else logging.DEBUG,
            "fulltext feed_url=%s items=%d filled=%d pending=%d elapsed_ms=%d",
            feed.source_url, len(feed.entries), len(result.filled), pending,
            int((time.monotonic() - started) * 1000),
        )
        return result

    async def close(self) -> None:
        """Cancel the background fetches (on shutdown); later ``fill`` calls only read the cache."""
        self._closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- internals ---------------------------------------------------------------------------

    def _lookup(
        self, links: Iterable[str], selector: str | None
    ) -> tuple[dict[str, StoredArticle], dict[str, tuple[str, SiteConfig | None]]]:
        """Cached articles still fresh for this recipe, and the plan for the rest (a thread)."""
        now = self.clock()
        ttl = self.settings.fulltext_ttl
        ready: dict[str, StoredArticle] = {}
        plans: dict[str, tuple[str, SiteConfig | None]] = {}
        for link in links:
            site = self.site_configs.for_url(link)
            recipe = _recipe(selector, site)
            plans[link] = (recipe, site)
            stored = self.cache.get_article(link)
            if stored is None or stored.recipe != recipe:
                continue
            lifetime = ttl if stored.html is not None else min(ttl, FAILURE_TTL)
            if now - stored.fetched_at < lifetime:
                ready[link] = stored
        return ready, plans

    def _start(
        self,
        link: str,
        recipe: str,
        site: SiteConfig | None,
        selector: str | None,
        user_agent: str | None,
    ) -> asyncio.Task[StoredArticle]:
        key = (link, recipe)
        task = self._tasks.get(key)
        if task is None:
            # Held in self._tasks until done: a task nobody references can be collected.
            task = asyncio.create_task(
                self._article(link, recipe, site, selector, user_agent),
                name=f"fulltext {link[:100]}",
            )
            self._tasks[key] = task
            task.add_done_callback(functools.partial(self._forget, key))
        return task

    def _forget(self, key: tuple[str, str], task: asyncio.Task[StoredArticle]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if not task.cancelled():
            task.exception()  # mark retrieved: nobody may be waiting any more

    @contextlib.asynccontextmanager
    async def _host_slot(self, host: str) -> AsyncIterator[None]:
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = _HostSlot(
                asyncio.Semaphore(self.settings.fulltext_per_host)
            )
        slot.users += 1
        try:
            async with slot.semaphore:
                yield
        finally:
            slot.users -= 1
            if slot.users == 0 and self._hosts.get(host) is slot:
                del self._hosts[host]  # idle hosts are forgotten: the map stays small

    def _headers(self, site: SiteConfig | None, user_agent: str | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if user_agent:
            headers["User-Agent"] = user_agent
        if site is not None:
            headers.update(site.http_headers)
        return headers

    async def _article(
        self,
        link: str,
        recipe: str,
        site: SiteConfig | None,
        selector: str | None,
        user_agent: str | None,
    ) -> StoredArticle:
        started = time.monotonic()
        final_url, html, reason, status = link, None, "", "error"
        try:
            host = (urlsplit(link).hostname or "").lower()
            # The host slot is taken before a global one, so articles queued behind a busy
            # host never hold global slots that other hosts' articles could use.
            async with self._host_slot(host), self._fetching:
                result = await fetch.fetch(
                    self.session,
                    link,
                    settings=self.settings,
                    accept=ARTICLE_ACCEPT,
                    headers=self._headers(site, user_agent),
                )
            final_url, status = result.url, str(result.status)
            if not is_html(result):
                reason = f"not an HTML page ({result.content_type or 'no type'})"
            else:
                async with self._extracting:
                    html = await asyncio.to_thread(_extract_result, result, site, selector)
                if html is None:
                    reason = "no article found in the page"
        except ProxyError as exc:
            reason = exc.message
            status = str(getattr(exc, "upstream_status", exc.status))
        except Exception as exc:  # one article must never break a feed
            logger.exception("fulltext: article failed article_url=%s", link)
            reason = f"{type(exc).__name__}: {exc}"
        article = StoredArticle(
            url=link,
            final_url=final_url,
            html=html,
            recipe=recipe,
            fetched_at=self.clock(),
            digest=hashlib.sha256(html.encode("utf-8")).hexdigest()[:32] if html else "",
            reason=reason,
        )
        ttl = self.settings.fulltext_ttl
        await asyncio.to_thread(
            self.cache.put_article, article, expire=ttl if html else min(ttl, FAILURE_TTL)
        )
        logger.info(
            "fulltext article_url=%s status=%s chars=%d error=%s elapsed_ms=%d",
            link, status, len(html or ""), reason or "-", int((time.monotonic() - started) * 1000),
        )
        return article


def _extract_result(
    result: FetchResult, site: SiteConfig | None, selector: str | None
) -> str | None:
    text = decode_html(result.body, result.content_type)
    return extract(text, result.url, site=site, selector=selector)


def _apply(feed: Feed, ready: dict[str, StoredArticle], pending: int) -> FillResult:
    entries: list[Entry] = []
    filled: set[str] = set()
    for entry in feed.entries:
        article = ready.get(entry.link or "")
        if article is None or article.html is None:
            entries.append(entry)
            continue
        filled.add(article.url)
        # The feed's summary stays; relative URLs were resolved already, and base_url says
        # where the content now comes from.
        entries.append(dataclasses.replace(entry, content=article.html, base_url=article.final_url))
    digest = hashlib.sha256()
    for link in sorted(filled):
        digest.update(f"{link}\0{ready[link].digest}\0".encode())
    return FillResult(
        feed=dataclasses.replace(feed, entries=tuple(entries)),
        filled=frozenset(filled),
        pending=pending,
        digest=digest.hexdigest()[:32] if filled else "",
    )
