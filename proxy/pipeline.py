"""The only composer: cache → fetch (conditional) → parse → clean → rewrite → render → cache.

Stages never call each other; this module knows their order. CPU-heavy work (parsing,
cleaning, rendering) runs in a worker thread so the event loop keeps answering.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import aiohttp
from lxml.html import HtmlElement

from proxy import (
    access,
    clean,
    fetch,
    filters,
    memory,
    metrics,
    parse,
    render,
    rewrite,
)
from proxy.backoff import Backoff, backoff_key
from proxy.bounded import BoundedMap
from proxy.config import Settings
from proxy.errors import BadRequest, NotAFeed, NotFound, UpstreamError, UpstreamStatus
from proxy.feedconfig import FeedOptions, FeedsConfig
from proxy.fulltext import FillResult, FullText
from proxy.imageproxy import ImageProxy
from proxy.models import Feed, FetchResult, ImageResult, Rendered, Validators
from proxy.reload import LoadedFeeds, compile_feeds
from proxy.singleflight import SingleFlight
from proxy.siteconfig import SiteConfigs
from proxy.store import Store, StoredFeed, StoredOutput, flight

logger = logging.getLogger(__name__)

# Bump when cleaning or rendering changes what the same input produces, so cached outputs
# made by an older version are not served.
OUTPUT_VERSION = "4"  # 4: platform and tracking packs
_HOT_ENTRIES = 512  # rendered feeds kept in memory while fresh
_HOT_BYTES = 128 * 1024 * 1024  # ... and their bytes at most (a 9 MB feed is 9 MB here)
_HOT_MAX_AGE = 24 * 3600.0  # past any fresh_until of a sane TTL: stale entries go anyway
_CHECKED_URLS = 4096  # accepted upstream URLs remembered
_CHECKED_MAX_AGE = 3600.0
_GONE_ENTRIES = 10_000  # upstream URLs remembered as 404/410 (~2 KB each at most)
STALE_RETRY_SECONDS = 60  # after an upstream failure, how long the stale copy is reused
# The fetch lock lives FEEDSCRUB_FETCH_TIMEOUT plus this (parse and store the body): a replica
# dying mid-fetch holds up the others no longer than that.
FLIGHT_MARGIN_SECONDS = 5.0
SHARED_STATE_SECONDS = 2 * 3600  # backoff records kept in the store (the longest backoff)


@dataclass(frozen=True, slots=True)
class BodyState:
    stored: StoredFeed
    feed: Feed | None = None  # parsed already when it was just fetched
    stale_reason: str | None = None
    stale_status: int | None = None
    revalidating: bool = False  # past its TTL, served while a background refresh runs
    asked_upstream: bool = False  # this request went to the upstream (200 or 304)


@dataclass(frozen=True, slots=True)
class _Hot:
    rendered: Rendered
    fresh_until: float
    checked_at: float  # when the upstream last confirmed the body (for Age)


@dataclass(frozen=True, slots=True)
class FeedJob:
    """One request for a cleaned feed, with everything that shapes its output."""

    url: str  # the normalised upstream URL
    fmt: str | None  # None: the upstream's family
    public_base: str
    options: FeedOptions
    ruleset: clean.Ruleset
    limit: int | None = None  # asked for on an ad-hoc request
    name: str = ""  # the named feed, or "" for ad-hoc /feed
    fulltext: bool = False  # replace item content with the article behind each link
    signature: str = ""  # sig= for the self link, when an access key guards this feed

    @property
    def self_path(self) -> str:
        if self.name:
            path = f"/feeds/{self.name}" + (f".{self.fmt}" if self.fmt else "")
            return path + (f"?sig={self.signature}" if self.signature else "")
        path = f"/feed?url={quote(self.url, safe='')}"
        if self.signature:
            path += f"&sig={self.signature}"
        if self.fmt:
            path += f"&format={self.fmt}"
        if self.limit:
            path += f"&limit={self.limit}"
        if self.fulltext:
            path += "&fulltext=1"
        return path


DEFAULT_RULESET = clean.DEFAULT_RULESET


def transform(
    feed: Feed,
    *,
    policy: rewrite.ImagePolicy,
    ruleset: clean.Ruleset = DEFAULT_RULESET,
    feed_name: str = "",
) -> Feed:
    """Clean, rewrite and sanitise every item's HTML, rewrite its enclosures and media like
    its images; keep everything else as it was."""
    # Per item: proxy links carry the item link's origin (a Referer the proxy may need).
    policies = [rewrite.for_item(policy, entry.link or feed.link) for entry in feed.entries]
    summaries = _clean_field(feed, "summary", policies, ruleset, feed_name)
    contents = _clean_field(feed, "content", policies, ruleset, feed_name)
    entries = tuple(
        rewrite.rewrite_attachments(
            dataclasses.replace(entry, summary=summaries[i], content=contents[i]),
            policies[i],
            base_url=feed.source_url or entry.link,
        )
        for i, entry in enumerate(feed.entries)
    )
    image = feed.image
    if image is not None and policy.mode in ("proxy", "template"):
        feed_policy = rewrite.for_item(policy, feed.link)
        image = dataclasses.replace(image, url=rewrite.proxied_url(image.url, feed_policy))
    return dataclasses.replace(feed, entries=entries, image=image)


def _clean_field(
    feed: Feed,
    field: str,
    policies: list[rewrite.ImagePolicy],
    ruleset: clean.Ruleset,
    feed_name: str,
) -> list[str | None]:
    """Every item's summary (or content) through the clean stage, as one batch: feed rules
    compare the items' summaries with each other, and their contents with each other."""
    htmls: list[str] = []
    owners: list[int] = []
    for i, entry in enumerate(feed.entries):
        html = getattr(entry, field)
        if html is not None:
            htmls.append(html)
            owners.append(i)
    if not htmls:
        return [None] * len(feed.entries)
    entries = feed.entries

    def hook(k: int, root: HtmlElement) -> None:
        entry = entries[owners[k]]
        base = entry.base_url or feed.source_url or entry.link
        rewrite.rewrite_tree(root, base_url=base, policy=policies[owners[k]])

    label = feed_name or feed.source_url
    contexts = [
        f"feed={label} item={entries[i].guid or entries[i].link or entries[i].title}"
        for i in owners
    ]
    results = clean.clean_items(
        htmls,
        ruleset,
        rewrite=hook,
        contexts=contexts,
        feed=clean.FeedContext(feed_key=label, options=ruleset.options),
    )
    out: list[str | None] = [None] * len(feed.entries)
    for i, cleaned in zip(owners, results, strict=True):
        out[i] = cleaned.html
    return out


def build_output(
    feed: Feed,
    fmt: str,
    *,
    policy: rewrite.ImagePolicy,
    self_url: str,
    fallback_date: datetime,
    ruleset: clean.Ruleset = DEFAULT_RULESET,
    feed_name: str = "",
) -> bytes:
    """Parsed feed → served bytes (the synchronous core, also used by `feedscrub clean`)."""
    cleaned = transform(feed, policy=policy, ruleset=ruleset, feed_name=feed_name)
    return render.render(cleaned, fmt, self_url=self_url, fallback_date=fallback_date)


def check_format(fmt: str | None) -> str | None:
    if fmt in (None, ""):
        return None
    lowered = fmt.lower()
    if lowered not in render.FORMATS:
        raise BadRequest(f"format must be rss or atom, not {fmt!r}")
    return lowered


class Pipeline:
    """Serves cleaned feeds and proxied images for one app (one session, one cache)."""

    def __init__(
        self,
        settings: Settings,
        session: aiohttp.ClientSession,
        cache: Store,
        key: bytes,
        feeds: LoadedFeeds | None = None,
        previous_keys: tuple[bytes, ...] = (),
    ) -> None:
        self.settings = settings
        self.session = session
        self.cache = cache
        self.key = key
        self.feeds = feeds or compile_feeds(FeedsConfig())
        self.images = ImageProxy(settings, session, cache, key, previous_keys=previous_keys)
        # Outputs embed links signed with the key: a new key must not reuse them.
        self._key_id = hashlib.sha256(key).hexdigest()[:16]
        site_configs = SiteConfigs(settings.site_config_dir) if settings.site_config_dir else None
        self.fulltext = FullText(settings, session, cache, site_configs)
        self.backoff = Backoff(clock=self._now)
        self._background: set[asyncio.Future[None]] = set()
        # Freshness decisions read this clock; tests move it instead of sleeping.
        self.clock: Callable[[], float] = time.time
        # Every map keyed by what readers or upstreams choose is bounded in size and age.
        # URL -> (message, status) for upstreams that answered 404/410, for negative_ttl.
        self._gone: BoundedMap[str, tuple[str, int]] = BoundedMap(
            _GONE_ENTRIES, max(settings.negative_ttl, 1), self._now
        )
        self._flights = SingleFlight()
        self._hot: BoundedMap[FeedJob, _Hot] = BoundedMap(
            _HOT_ENTRIES,
            _HOT_MAX_AGE,
            self._now,
            weigh=lambda hot: len(hot.rendered.body) + len(hot.rendered.gzip_body),
            max_weight=_HOT_BYTES,
        )
        self._checked_urls: BoundedMap[str, str] = BoundedMap(
            _CHECKED_URLS, _CHECKED_MAX_AGE, self._now
        )

    def _now(self) -> float:
        return self.clock()  # read late: tests replace self.clock

    def reload(self, feeds: LoadedFeeds) -> None:
        """Swap in a new feeds config; the next request applies it, with no refetch."""
        self.feeds = feeds
        self._hot.clear()

    def policy(
        self, public_base: str, mode: str | None = None, referer: str | None = None
    ) -> rewrite.ImagePolicy:
        s = self.settings
        return rewrite.ImagePolicy(
            mode=mode or s.images,
            public_base=public_base,
            key=self.key,
            template=s.image_template,
            referer=referer or "",
            proxy_media=s.proxy_media,
        )

    # -- feeds -------------------------------------------------------------------------------

    async def feed(
        self,
        url: str,
        *,
        fmt: str | None,
        public_base: str,
        limit: int | None = None,
        fulltext: bool = False,
    ) -> Rendered:
        """The cleaned feed for an upstream URL (ad-hoc /feed, with the [defaults] rules).

        Parameters:
            url: the upstream feed URL as the reader gave it.
            fmt: "rss", "atom", or None for the upstream's own family.
            public_base: scheme://host[:port] readers reach the proxy at (image and self links).
            limit: keep only the newest N items.
            fulltext: replace each item's content with the article behind its link.
        """
        loaded = self.feeds
        job = FeedJob(
            url=self._checked(url),
            fmt=check_format(fmt) or loaded.feeds.defaults.format,
            public_base=public_base,
            options=loaded.feeds.defaults,
            ruleset=loaded.defaults,
            limit=limit,
            fulltext=fulltext or bool(loaded.feeds.defaults.fulltext),
        )
        if self.settings.access_key:
            # The self link a reader sees must work without the key.
            job = dataclasses.replace(
                job, signature=access.feed_signature(job.url, self.settings.access_key)
            )
        return await self._serve(job)

    async def named_feed(self, name: str, *, fmt: str | None, public_base: str) -> Rendered:
        """A feed from the config file, by name."""
        loaded = self.feeds
        config = loaded.feeds.get(name)
        if config is None:
            names = ", ".join(loaded.feeds.names) or "none are configured"
            raise NotFound(f"no feed named {name!r}; the named feeds are: {names}")
        job = FeedJob(
            url=self._checked(config.url),
            fmt=check_format(fmt) or config.options.format,
            public_base=public_base,
            options=config.options,
            ruleset=loaded.rulesets[name],
            name=name,
            fulltext=bool(config.options.fulltext),
        )
        if self.settings.access_key and self.settings.protect_named:
            job = dataclasses.replace(
                job, signature=access.named_signature(name, self.settings.access_key)
            )
        return await self._serve(job)

    def _checked(self, url: str) -> str:
        # Host rules are checked before the cache too: a host denied after it was cached
        # is not served from the cache either. Readers poll the same URLs over and over, so
        # accepted URLs are remembered (refusals are rare and always checked afresh).
        checked = self._checked_urls.get(url)
        if checked is None:
            checked = fetch.check_url(
                url,
                allow_private=self.settings.allow_private,
                hosts=access.host_rules(self.settings),
            )
            self._checked_urls.set(url, checked)
        return checked

    def _ttl(self, job: FeedJob) -> int:
        return job.options.ttl or self.settings.ttl

    async def _serve(self, job: FeedJob) -> Rendered:
        hot = self._hot.get(job)
        if hot is not None and hot.fresh_until > self.clock():
            metrics.record_cache("hit")
            now = self.clock()
            return dataclasses.replace(
                hot.rendered,
                age=max(0, int(now - hot.checked_at)),
                fetched=False,
                ttl=int(hot.checked_at + self._ttl(job) - now),
            )
        state = await self._flights.run(("body", job.url), lambda: self._body(job))
        stored = state.stored
        out_fmt = job.fmt or stored.kind
        filled: FillResult | None = None
        if job.fulltext:
            filled = await self._flights.run(
                ("fill", job, stored.fetched_at), lambda: self._fill(state, job)
            )
        key = self._output_key(stored, job, out_fmt, filled.digest if filled else "")
        output = await self._flights.run(
            ("out", key), lambda: self._output(state, job, out_fmt, filled, key)
        )
        now = self.clock()
        ttl = self._ttl(job)
        rendered = Rendered(
            body=output.body,
            content_type=render.CONTENT_TYPES[out_fmt],
            etag=output.etag,
            last_modified=output.created_at,
            stale=state.stale_reason is not None,
            age=max(0, int(now - stored.checked_at)),
            stale_reason=state.stale_reason,
            gzip_body=output.gzip_body,
            revalidating=state.revalidating,
            fetched=state.feed is not None,
            ttl=int(stored.checked_at + ttl - now),
        )
        if rendered.stale:
            metrics.record_cache("stale")
        elif state.asked_upstream:
            metrics.record_cache("miss")
        else:
            metrics.record_cache("hit")
        if rendered.stale:
            fresh_until = now + min(STALE_RETRY_SECONDS, ttl)
        elif rendered.revalidating or (filled is not None and filled.pending):
            # A refresh or article fetches may land any moment: look again next time.
            fresh_until = 0.0
        else:
            fresh_until = stored.checked_at + ttl
        self._remember(job, _Hot(rendered, fresh_until, stored.checked_at))
        return rendered

    def _remember(self, key: FeedJob, hot: _Hot) -> None:
        self._hot.set(key, hot)

    async def _body(self, job: FeedJob) -> BodyState:
        """The upstream body: cached while fresh; past the TTL served at once while one
        background refresh runs (stale-while-revalidate); older than that, revalidated
        before answering; stale-marked if the upstream fails."""
        url = job.url
        stored = await self.cache.get_feed(url)
        if stored is not None:
            age = self.clock() - stored.checked_at
            ttl = self._ttl(job)
            if age < ttl:
                return BodyState(stored)
            if age < ttl + self.settings.stale_while_revalidate:
                self._refresh_in_background(job, stored)
                return BodyState(stored, revalidating=True)
        return await self._flights.run(("fetch", url), lambda: self._fetch_once(job, stored))

    async def _fetch_once(self, job: FeedJob, stored: StoredFeed | None) -> BodyState:
        """One upstream request across replicas: the store lock's holder fetches; the others
        wait and take the body (or the failure) it left in the store."""
        url = job.url
        asked = time.time()  # compared across replicas: the wall clock, not self.clock

        async def settled() -> BodyState | None:
            again = await self.cache.get_feed(url)
            if again is not None and (stored is None or again.checked_at > stored.checked_at):
                return BodyState(again)
            failed = await self.cache.get_state("failed:" + url)
            if failed is None or failed.get("at", 0) < asked:
                return None  # the holder left nothing (it died): take the lock ourselves
            if stored is None:
                raise _shared_failure(failed)
            return BodyState(stored, stale_reason=failed["message"], stale_status=failed["status"])

        return await flight.once(
            self.cache,
            "fetch:" + url,
            ttl=self.settings.fetch_timeout + FLIGHT_MARGIN_SECONDS,
            work=lambda: self._fetch_body(job, stored),
            settled=settled,
        )

    def _refresh_in_background(self, job: FeedJob, stored: StoredFeed) -> None:
        async def refresh() -> None:
            try:
                await self._flights.run(("fetch", job.url), lambda: self._fetch_once(job, stored))
            except Exception as exc:  # logged by _fetch_body for upstream errors
                logger.debug("refresh feed_url=%s failed: %s", job.url, exc)

        if ("fetch", job.url) in self._flights:
            return  # exactly one refresh per URL
        task = asyncio.ensure_future(refresh())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def settle(self) -> None:
        """Wait for background refreshes (tests; shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*list(self._background), return_exceptions=True)
        await self.images.aclose()
        await self.fulltext.close()

    async def _fetch_body(self, job: FeedJob, stored: StoredFeed | None) -> BodyState:
        url = job.url
        started = time.monotonic()
        validators = Validators(stored.etag, stored.last_modified) if stored else None
        headers = dict(job.options.headers)
        if job.options.user_agent:
            headers["User-Agent"] = job.options.user_agent
        gone = await self._adopt_shared(url)
        try:
            if gone is not None:
                # A dead feed polled by a reader: answer from memory for a few minutes.
                raise UpstreamStatus(gone[0], gone[1])
            self.backoff.check(url)
            result = await fetch.fetch(
                self.session, url, settings=self.settings, validators=validators, headers=headers
            )
            if result.status == 304:
                if stored is None:
                    raise NotAFeed(f"upstream answered 304 to an unconditional request ({url})")
                refreshed = dataclasses.replace(stored, checked_at=self.clock())
                await self.cache.put_feed(refreshed)
                self.backoff.success(url)
                logger.info("fetch feed_url=%s status=304 elapsed_ms=%d", url, _ms(started))
                return BodyState(refreshed, asked_upstream=True)
            feed = await asyncio.to_thread(parse.parse, result)
        except UpstreamError as exc:
            # For the replicas waiting on this fetch (see _fetch_once): they answer the same.
            failure = {"at": time.time(), "message": exc.message, "status": exc.status}
            await self.cache.put_state("failed:" + url, failure, FLIGHT_MARGIN_SECONDS * 2)
            if not (gone is not None and exc.message == gone[0]):
                logger.warning(
                    "fetch feed_url=%s status=%s error=%s elapsed_ms=%d",
                    url,
                    exc.status,
                    exc.message,
                    _ms(started),
                )
                self.backoff.failure(url, exc)
                if (
                    isinstance(exc, UpstreamStatus)
                    and exc.upstream_status in (404, 410)
                    and self.settings.negative_ttl
                ):
                    self._gone.set(url, (exc.message, exc.upstream_status))
                await self._share(url)
            if stored is None:
                raise
            # A failed fetch never replaces the good copy: serve it, marked stale.
            return BodyState(stored, stale_reason=exc.message, stale_status=exc.status)
        self.backoff.success(url)
        self._gone.pop(url)
        await self._share(url)
        now = self.clock()
        fresh = StoredFeed(
            url=url,
            final_url=result.url,
            body=result.body,
            content_type=result.content_type,
            kind=feed.kind,
            etag=result.etag,
            last_modified=result.last_modified,
            fetched_at=now,
            checked_at=now,
        )
        await self.cache.put_feed(fresh)
        logger.info(
            "fetch feed_url=%s status=200 bytes=%d items=%d elapsed_ms=%d",
            url,
            len(result.body),
            len(feed.entries),
            _ms(started),
        )
        return BodyState(fresh, feed=feed, asked_upstream=True)

    async def _adopt_shared(self, url: str) -> tuple[str, int] | None:
        """Backoff and negative-cache state as the last fetch on any replica left it (before
        a fetch); returns the 404/410 remembered, if any. Times are in this pipeline's clock."""
        names = (f"backoff:{url}", f"backoff-host:{backoff_key(url)}", f"gone:{url}")
        by_url, by_host, gone = await asyncio.gather(*map(self.cache.get_state, names))
        for kind, record in (("url", by_url), ("host", by_host)):
            if record is not None:
                self.backoff.adopt(url, kind, record.get("state"))
        if gone is not None and gone.get("until", 0) > self.clock():
            self._gone.set(url, (str(gone["message"]), int(gone["status"])))
        return self._gone.get(url)

    async def _share(self, url: str) -> None:
        """After a fetch: what the other replicas must know before they ask this upstream."""
        states = self.backoff.shared(url)
        for name, kind in ((f"backoff:{url}", "url"), (f"backoff-host:{backoff_key(url)}", "host")):
            await self.cache.put_state(name, {"state": states[kind]}, SHARED_STATE_SECONDS)
        gone = self._gone.get(url)
        until = self.clock() + self.settings.negative_ttl if gone is not None else 0.0
        record = {"message": gone[0], "status": gone[1], "until": until} if gone else {"until": 0}
        await self.cache.put_state(f"gone:{url}", record, max(self.settings.negative_ttl, 1))

    def _output_key(self, stored: StoredFeed, job: FeedJob, fmt: str, articles: str) -> str:
        s = self.settings
        # max_age filters move with the clock: let such outputs age out hourly.
        hour = str(int(self.clock() // 3600)) if job.options.max_age else ""
        digest = hashlib.sha256()
        for part in (
            OUTPUT_VERSION,
            stored.url,
            stored.final_url,
            fmt,
            job.public_base,
            job.self_path,
            s.images,
            s.image_template,
            str(s.proxy_media),
            self._key_id,
            job.ruleset.fingerprint,
            str(job.limit),
            hour,
            # Which articles full text filled in: a partial result never passes for the whole.
            articles,
        ):
            digest.update(part.encode("utf-8") + b"\0")
        digest.update(stored.body)
        return digest.hexdigest()

    async def _fill(self, state: BodyState, job: FeedJob) -> FillResult:
        # Filter first: no article is fetched for an item that is filtered out or cut.
        feed = await asyncio.to_thread(self._filtered, state.feed, state.stored, job)
        return await self.fulltext.fill(
            feed, selector=job.options.fulltext_selector, user_agent=job.options.user_agent
        )

    async def _output(
        self, state: BodyState, job: FeedJob, fmt: str, filled: FillResult | None, key: str
    ) -> StoredOutput:
        stored = state.stored
        cached = await self.cache.get_output(key)
        if cached is not None:
            return cached
        feed = filled.feed if filled is not None else None
        body, compressed = await asyncio.to_thread(
            self._build, feed or state.feed, stored, job, fmt, feed is not None
        )
        output = StoredOutput(
            body=body,
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            created_at=self.clock(),
            gzip_body=compressed,
        )
        await self.cache.put_output(key, output)
        return output

    def _filtered(self, feed: Feed | None, stored: StoredFeed, job: FeedJob) -> Feed:
        if feed is None:
            # Before a big parse too: what earlier builds freed is reused, not added to.
            memory.release_after(len(stored.body))
            feed = parse.parse(
                FetchResult(
                    url=stored.final_url,
                    status=200,
                    body=stored.body,
                    content_type=stored.content_type,
                )
            )
        return filters.filter_entries(
            feed,
            job.options,
            now=datetime.fromtimestamp(self.clock(), tz=UTC),
            limit=job.limit,
            feed_name=job.name or job.url,
        )

    def _build(
        self, feed: Feed | None, stored: StoredFeed, job: FeedJob, fmt: str, filtered: bool = False
    ) -> tuple[bytes, bytes]:
        if not filtered:
            feed = self._filtered(feed, stored, job)
        assert feed is not None
        body = build_output(
            feed,
            fmt,
            policy=self.policy(job.public_base, job.options.images, job.options.image_referer),
            self_url=job.public_base + job.self_path,
            fallback_date=datetime.fromtimestamp(stored.fetched_at, tz=UTC),
            ruleset=job.ruleset,
            feed_name=job.name,
        )
        # Compressed once per output; readers poll the same bytes many times.
        compressed = gzip.compress(body, compresslevel=6, mtime=0)
        del feed
        memory.release_after(len(stored.body))
        return body, compressed

    # -- images ------------------------------------------------------------------------------

    async def image(self, signature: str, encoded_url: str) -> ImageResult:
        """A proxied image (see imageproxy.py)."""
        return await self.images.get(signature, encoded_url)


def _shared_failure(failed: dict[str, Any]) -> UpstreamError:
    """The error another replica's fetch met, with the status it answered."""
    error = UpstreamError(str(failed.get("message", "upstream failed on another replica")))
    error.status = int(failed.get("status", UpstreamError.status))
    return error


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
