"""Filling a feed: fetch each item's link within a time budget, extract, cache the article.

``FullText.fill`` takes a parsed feed and returns it with each item's content replaced by the
raw article HTML it could get. A reader never waits long and never gets a truncated feed (the
most common complaint about morss, which fetches 5–10 items and drops the rest): ``fill``
waits at most a time budget, serves the items not ready yet with the feed's own content, and
lets their fetches run on in the background, storing into the cache so the next request has
them. Articles are cached by URL (``FEEDSCRUB_FULLTEXT_TTL``); failures are cached for an hour
so a dead link is not fetched on every request. Fetches are bounded overall and per host.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from proxy import fetch
from proxy.config import Settings
from proxy.errors import ProxyError
from proxy.fulltext.decode import decode_html, is_html
from proxy.fulltext.extract import EXTRACTOR_VERSION, extract
from proxy.fulltext.siteconfig import SiteConfig, SiteConfigs
from proxy.models import Entry, Feed, FetchResult
from proxy.store import Store, StoredArticle

logger = logging.getLogger(__name__)

ARTICLE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
# A failed link (404, not HTML, nothing extracted) is retried after this long, not on every
# request; a successful article lives FEEDSCRUB_FULLTEXT_TTL.
FAILURE_TTL = 3600
# Extractions at once. to_thread shares the loop's default executor with cache reads and
# feed parsing; a 100-item feed must not queue 100 readability runs in front of them.
EXTRACT_THREADS = 4


@dataclass(frozen=True, slots=True)
class FillResult:
    """A feed with the full text that was ready in time."""

    feed: Feed  # entries whose article is ready carry it as content (raw, uncleaned)
    filled: frozenset[str]  # item links whose article is in this result
    pending: int  # articles still being fetched in the background (0 = complete)
    # Names the exact articles in ``feed`` (link + content hash): part of an output cache key,
    # so a partial result and the complete one are never confused.
    digest: str = ""


@dataclass(frozen=True, slots=True)
class _Wanted:
    """One article to fetch, and how to extract it."""

    link: str
    recipe: str  # names the extraction (version, selector, site rules): part of the cache key
    site: SiteConfig | None
    selector: str | None
    user_agent: str | None


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
        cache: Store,
        site_configs: SiteConfigs | None = None,
    ) -> None:
        self.settings = settings
        self.limits = fetch.Limits.of(settings)
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
        ready, plans = self._lookup(links, selector, await self.cache.get_articles(links))
        waiting: dict[str, asyncio.Task[StoredArticle]] = {}
        if not self._closed:
            for link in links:
                if link not in ready:
                    recipe, site = plans[link]
                    waiting[link] = self._start(_Wanted(link, recipe, site, selector, user_agent))
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
            feed.source_url,
            len(feed.entries),
            len(result.filled),
            pending,
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
        self, links: Iterable[str], selector: str | None, cached: dict[str, StoredArticle]
    ) -> tuple[dict[str, StoredArticle], dict[str, tuple[str, SiteConfig | None]]]:
        """Cached articles still fresh for this recipe, and the plan for the rest."""
        now = self.clock()
        ttl = self.settings.fulltext_ttl
        ready: dict[str, StoredArticle] = {}
        plans: dict[str, tuple[str, SiteConfig | None]] = {}
        for link in links:
            site = self.site_configs.for_url(link)
            recipe = _recipe(selector, site)
            plans[link] = (recipe, site)
            stored = cached.get(link)
            if stored is None or stored.recipe != recipe:
                continue
            lifetime = ttl if stored.html is not None else min(ttl, FAILURE_TTL)
            if now - stored.fetched_at < lifetime:
                ready[link] = stored
        return ready, plans

    def _start(self, wanted: _Wanted) -> asyncio.Task[StoredArticle]:
        key = (wanted.link, wanted.recipe)
        task = self._tasks.get(key)
        if task is None:
            # Held in self._tasks until done: a task nobody references can be collected.
            task = asyncio.create_task(self._article(wanted), name=f"fulltext {wanted.link[:100]}")
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
            slot = self._hosts[host] = _HostSlot(asyncio.Semaphore(self.settings.fulltext_per_host))
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

    async def _article(self, wanted: _Wanted) -> StoredArticle:
        link, site = wanted.link, wanted.site
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
                    limits=self.limits,
                    accept=ARTICLE_ACCEPT,
                    headers=self._headers(site, wanted.user_agent),
                )
            final_url, status = result.url, str(result.status)
            if not is_html(result):
                reason = f"not an HTML page ({result.content_type or 'no type'})"
            else:
                async with self._extracting:
                    html = await asyncio.to_thread(_extract_result, result, site, wanted.selector)
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
            recipe=wanted.recipe,
            fetched_at=self.clock(),
            digest=hashlib.sha256(html.encode("utf-8")).hexdigest()[:32] if html else "",
            reason=reason,
        )
        ttl = self.settings.fulltext_ttl
        await self.cache.put_article(article, expire=ttl if html else min(ttl, FAILURE_TTL))
        logger.info(
            "fulltext article_url=%s status=%s chars=%d error=%s elapsed_ms=%d",
            link,
            status,
            len(html or ""),
            reason or "-",
            int((time.monotonic() - started) * 1000),
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
