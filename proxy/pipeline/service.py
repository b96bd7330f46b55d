"""One app's feed service: a request → its job → freshness → (full text) → process → cache.

Stages never call each other; ``process`` knows their order, ``freshness`` when to ask the
upstream. This module joins the two with the cache of rendered outputs. CPU-heavy work
(parsing, cleaning, rendering) runs in a worker thread so the event loop keeps answering.
Links are the server's business: it passes ``self_path``, the one URL builder's.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Unpack

import aiohttp

from proxy import fetch, filters, memory
from proxy import output as out_stage
from proxy.backoff import Backoff
from proxy.bounded import BoundedMap
from proxy.builds import BuildSlots
from proxy.config import Settings
from proxy.errors import ProxyError
from proxy.feedconfig import FeedConfig, FeedsConfig
from proxy.fulltext.filler import FillResult, FullText
from proxy.fulltext.siteconfig import SiteConfigs
from proxy.models import Feed, FetchResult, Rendered, Validators
from proxy.pipeline import cleanedfeeds, fingerprint, jobs, process, streamed
from proxy.pipeline.cleanedfeeds import CleanedFeed
from proxy.pipeline.freshness import BodyState, Freshness
from proxy.pipeline.itemcache import ItemCache
from proxy.pipeline.jobs import FeedJob, SelfPath
from proxy.pipeline.splice import Splicer
from proxy.reload import LoadedFeeds, compile_feeds, with_tracker_lists
from proxy.store import Store, StoredFeed, StoredOutput, records

_CHECKED_URLS = 4096  # accepted upstream URLs remembered
_CHECKED_MAX_AGE = 3600.0
_HASH_INLINE_BYTES = 1024 * 1024  # bigger bodies are hashed in a thread


class Pipeline:
    """Serves cleaned feeds for one app (one session, one cache).

    Parameters:
        settings: the app's settings.
        session: the app's guarded session (``fetch.new_session``).
        cache: the store.
        key: the image-signing key (image links in outputs are signed with it).
        feeds: the named feeds and rules of the config file.
        self_path: builds each output's self link (``server.links.self_path(settings)``).
    """

    def __init__(
        self,
        settings: Settings,
        session: aiohttp.ClientSession,
        cache: Store,
        key: bytes,
        feeds: LoadedFeeds | None = None,
        *,
        self_path: SelfPath,
    ) -> None:
        self.settings = settings
        self.session = session
        self.cache = cache
        self.key = key
        self.self_path = self_path
        self.limits = fetch.Limits.of(settings)
        self.feeds = with_tracker_lists(feeds or compile_feeds(FeedsConfig()), settings.trackers())
        # Outputs embed links signed with the key: a new key must not reuse them.
        self._key_id = hashlib.sha256(key).hexdigest()[:16]
        fingerprint.code_fingerprint()  # (once, here at startup: not on a request's path)
        site_configs = SiteConfigs(settings.site_config_dir) if settings.site_config_dir else None
        self.fulltext = FullText(settings, session, cache, site_configs)
        self.freshness = Freshness(
            cache,
            stale_while_revalidate=settings.stale_while_revalidate,
            negative_ttl=settings.negative_ttl,
            fetch_timeout=settings.fetch_timeout,
        )
        self._checked_urls: BoundedMap[str, str] = BoundedMap(
            _CHECKED_URLS, _CHECKED_MAX_AGE, self._now
        )
        self._cleaned = cleanedfeeds.cleaned_feeds(self._now)
        # Cleaned items by content: a refresh cleans only the items that changed.
        self.items = ItemCache(self._now)
        # Parsed and rendered items by their upstream bytes: a refresh parses and renders
        # only the items that changed (splice.py).
        self.splicer = Splicer(self._now)
        # Stands for the public base in cleaned feeds: unguessable, so no upstream text
        # contains it, and an https URL, so every stage passes it like any image link.
        self._base = f"https://{secrets.token_hex(12)}.feedscrub.invalid"
        # Parse, clean and render run a few at a time; the rest queue (issue 9.4).
        self.builds = BuildSlots(settings.max_builds)
        self.freshness.keep_parsed = lambda: not self.builds.busy
        # Upstream URL -> the site it belongs to (the feed's own <link>), for OPML.
        self._site_links: BoundedMap[str, str] = BoundedMap(
            _CHECKED_URLS, _CHECKED_MAX_AGE, self._now
        )

    # Freshness decisions read this clock; tests move it instead of sleeping.
    @property
    def clock(self) -> Callable[[], float]:
        return self.freshness.clock

    @clock.setter
    def clock(self, value: Callable[[], float]) -> None:
        self.freshness.clock = value

    @property
    def backoff(self) -> Backoff:
        return self.freshness.backoff

    def _now(self) -> float:
        return self.clock()

    def reload(self, feeds: LoadedFeeds) -> None:
        """Swap in a new feeds config; the next request applies it, with no refetch."""
        self.feeds = with_tracker_lists(feeds, self.settings.trackers())
        self.freshness.forget_outputs()

    def named_feeds(self) -> tuple[FeedConfig, ...]:
        """The config file's named feeds, in their order."""
        return self.feeds.feeds.feeds

    async def site_link(self, config: FeedConfig) -> str | None:
        """The site a named feed belongs to (its own <link>), read from the cached upstream
        body; None until the feed has been fetched once, or when it names no site."""
        try:
            url = self._checked(config.url)
        except ProxyError:
            return None
        link = self._site_links.get(url)
        if link is None:
            stored = await self.cache.get_feed(url)
            if stored is None:
                return None
            try:
                feed = await asyncio.to_thread(
                    process.parse_body, stored.body, stored.final_url, stored.content_type
                )
            except ProxyError:
                return None
            link = feed.link or ""
            self._site_links.set(url, link)
        return link or None

    # -- jobs --------------------------------------------------------------------------------

    def job(
        self, url: str, *, fmt: str | None, public_base: str, **asked: Unpack[jobs.Asked]
    ) -> FeedJob:
        """An ad-hoc request's job (/feed, [defaults] rules; parameters: ``jobs.adhoc``)."""
        return jobs.adhoc(self.feeds, self._checked(url), fmt, public_base, **asked)

    def named_job(self, name: str, *, fmt: str | None, public_base: str) -> FeedJob:
        """The job of a named feed (its own rules over [defaults]); NotFound if unknown."""
        return jobs.named(self.feeds, name, self._checked, fmt=fmt, public_base=public_base)

    def _checked(self, url: str) -> str:
        # Host rules are checked before the cache too: a host denied after it was cached
        # is not served from the cache either. Readers poll the same URLs over and over, so
        # accepted URLs are remembered (refusals are rare and always checked afresh).
        checked = self._checked_urls.get(url)
        if checked is None:
            checked = fetch.check_url(
                url, allow_private=self.settings.allow_private, hosts=self.limits.hosts
            )
            self._checked_urls.set(url, checked)
        return checked

    async def body(self, job: FeedJob) -> BodyState:
        """The upstream body as serving has it (the preview page): the cached copy while
        fresh, no refetch; else fetched once for every request waiting on it."""
        return await self.freshness.body(job.url, self.ttl(job), lambda v: self._ask(job, v))

    async def learnt(self, job: FeedJob, stored: StoredFeed) -> dict[str, Any]:
        """A copy of what feed rules learnt about job's feed (the preview page runs them as
        serving does; the copy keeps a preview from teaching them anything)."""
        return copy.deepcopy(await self.cache.get_memory(job.name or stored.url) or {})

    def ttl(self, job: FeedJob) -> int:
        """Seconds the job's upstream body is fresh: the feed's own ttl, else FEEDSCRUB_TTL."""
        return job.options.ttl or self.settings.ttl

    # -- serving -----------------------------------------------------------------------------

    async def serve(self, job: FeedJob) -> Rendered:
        """The rendered output of ``job``: hot, cached, or built now."""
        hot = self.freshness.hot(job)
        if hot is not None:
            return hot
        ttl = self.ttl(job)
        state = await self.freshness.body(job.url, ttl, lambda v: self._ask(job, v))
        stored = state.stored
        out_fmt = job.fmt or stored.kind
        filled: FillResult | None = None
        if job.fulltext:
            filled = await self.freshness.once(
                ("fill", job, stored.fetched_at), lambda: self._fill(state, job)
            )
        clean_key = await self._clean_key(stored, job, filled)
        key = self._output_key(clean_key, job, out_fmt)
        output = await self.freshness.once(
            ("out", key), lambda: self._output(state, job, out_fmt, filled, key, clean_key)
        )
        now = self.clock()
        rendered = Rendered(
            body=output.body,
            content_type=out_stage.CONTENT_TYPES[out_fmt],
            etag=output.etag,
            last_modified=output.created_at,
            stale=state.stale_reason is not None,
            age=max(0, int(now - stored.checked_at)),
            stale_reason=state.stale_reason,
            gzip_body=output.gzip_body,
            revalidating=state.revalidating,
            fetched=state.fetched,
            ttl=int(stored.checked_at + ttl - now),
            fresh_for=ttl,
        )
        self.freshness.count(state)
        pending = filled is not None and bool(filled.pending)
        self.freshness.remember(job, rendered, state, ttl, pending)
        return rendered

    async def _ask(
        self, job: FeedJob, validators: Validators | None
    ) -> tuple[FetchResult, Feed | None]:
        headers = dict(job.options.headers)
        if job.options.user_agent:
            headers["User-Agent"] = job.options.user_agent
        result = await fetch.fetch(
            self.session, job.url, limits=self.limits, validators=validators, headers=headers
        )
        if result.status == 304:
            return result, None
        if validators is not None and validators.body and result.body == validators.body:
            # The same bytes again (an upstream without validators): a 304 in effect, so no
            # parse, and the outputs made from the stored copy stay valid.
            return result, None
        return await self.builds.run(self._parse_new, job.url, result)

    def _parse_new(self, url: str, result: FetchResult) -> tuple[FetchResult, Feed]:
        # A new body is hashed here, once (in the build thread): its keys use the digest.
        # A big one is only probed: its build streams it (streamed.py), unparsed whole.
        feed = streamed.probe(result) or self._parse(url, result)
        return dataclasses.replace(result, digest=hashlib.sha256(result.body).hexdigest()), feed

    def _parse(self, url: str, result: FetchResult) -> Feed:
        return self.splicer.parse(url, result) or self.splicer.parsed(url, result)

    async def settle(self) -> None:
        """Wait for background refreshes (tests; shutdown)."""
        await self.freshness.settle()

    async def close(self) -> None:
        await self.freshness.close()
        await self.fulltext.close()

    def _output_key(self, clean_key: str, job: FeedJob, fmt: str) -> str:
        return jobs.output_key(clean_key, job, fmt, self.self_path(job))

    async def _clean_key(self, stored: StoredFeed, job: FeedJob, filled: FillResult | None) -> str:
        # max_age filters move with the clock: let such outputs age out hourly.
        hour = str(int(self.clock() // 3600)) if job.options.max_age else ""
        digest = filled.digest if filled is not None else None
        args = (self.settings, self._key_id, stored, job, digest, hour)
        if stored.digest or len(stored.body) < _HASH_INLINE_BYTES:
            return jobs.clean_key(*args)
        # It hashes the whole body (~150 ms for 130 MB): not on the loop, every request.
        return await asyncio.to_thread(jobs.clean_key, *args)

    async def _fill(self, state: BodyState, job: FeedJob) -> FillResult:
        # Filter first: no article is fetched for an item that is filtered out or cut.
        parsed = streamed.parsed(state.feed)
        feed = await self.builds.run(self._selected, parsed, state.stored, job, job.limit)
        # One request sends at most fulltext_max_articles article fetches, for the newest
        # items; the others keep the feed's own content (issue 9.4: 20,000 items once sent
        # 20,000 requests).
        chosen = filters.newest(feed.entries, self.settings.fulltext_max_articles)
        subset = dataclasses.replace(feed, entries=tuple(feed.entries[i] for i in chosen))
        result = await self.fulltext.fill(
            subset, selector=job.options.fulltext_selector, user_agent=job.options.user_agent
        )
        if len(chosen) == len(feed.entries):
            return result
        entries = list(feed.entries)
        for i, entry in zip(chosen, result.feed.entries, strict=True):
            entries[i] = entry
        return dataclasses.replace(result, feed=dataclasses.replace(feed, entries=tuple(entries)))

    async def _output(
        self,
        state: BodyState,
        job: FeedJob,
        fmt: str,
        filled: FillResult | None,
        key: str,
        clean_key: str,
    ) -> StoredOutput:
        stored = state.stored
        cached = self.freshness.output(key) or await self.cache.get_output(key)
        if cached is not None:
            self.freshness.keep_output(key, cached)
            return cached
        made = None
        if streamed.streams(len(stored.body), stored.kind, fmt, job.fulltext, state.feed):
            made = await self._streamed(stored, job, fmt)
        if made is None:
            cleaned = self._cleaned.get(clean_key)
            if cleaned is None:
                cleaned = await self.freshness.once(
                    ("clean", clean_key), lambda: self._clean(state, job, filled, clean_key)
                )
            made = await self.builds.run(self._render, cleaned, stored, job, fmt)
        body, compressed, etag = made
        output = StoredOutput(body=body, etag=etag, created_at=self.clock(), gzip_body=compressed)
        await self.cache.put_output(key, output)
        self.freshness.keep_output(key, output)
        return output

    async def _streamed(
        self, stored: StoredFeed, job: FeedJob, fmt: str
    ) -> tuple[bytes, bytes, str] | None:
        """A big feed built a chunk of items at a time (streamed.py); None: build in full.
        What feed rules learnt is saved only from a build that went through."""
        learnt_key = job.name or stored.url
        learnt = copy.deepcopy(await self.cache.get_memory(learnt_key) or {})
        policy = process.image_policy(self.settings, self.key, self._base, job.options)
        now = datetime.fromtimestamp(self.clock(), tz=UTC)
        plan = streamed.Plan(self.recipe(job, fmt), policy, self._base, job.public_base, now)
        made = await self.builds.run(streamed.served, stored, plan, learnt)
        if made is not None:
            await self.cache.put_memory(learnt_key, learnt)
        return made

    async def _clean(
        self, state: BodyState, job: FeedJob, filled: FillResult | None, clean_key: str
    ) -> CleanedFeed:
        feed = filled.feed if filled is not None else streamed.parsed(state.feed)
        # What feed rules learnt on earlier fetches: loaded before, saved after cleaning.
        learnt_key = job.name or state.stored.url
        learnt = await self.cache.get_memory(learnt_key) or {}
        cleaned = await self.builds.run(
            self._clean_build, feed, state.stored, job, filled is not None, learnt
        )
        await self.cache.put_memory(learnt_key, learnt)
        self._cleaned.set(clean_key, cleaned)
        return cleaned

    def recipe(self, job: FeedJob, fmt: str) -> process.Recipe:
        """What ``process`` needs besides the feed, for this job."""
        return process.Recipe(
            fmt=fmt,
            policy=process.image_policy(self.settings, self.key, job.public_base, job.options),
            self_url=job.public_base + self.self_path(job),
            options=job.options,
            ruleset=job.ruleset,
            limit=job.limit,
            feed_name=job.name or job.url,
            opencc=job.opencc or job.options.opencc,
        )

    def _selected(
        self, feed: Feed | None, stored: StoredFeed, job: FeedJob, limit: int | None = None
    ) -> Feed:
        """The parsed feed (parsed now if need be) through the job's filters, and ``limit``."""
        if feed is None:
            fetched = FetchResult(stored.final_url, 200, stored.body, stored.content_type)
            feed = self._parse(stored.url, fetched)
        now = datetime.fromtimestamp(self.clock(), tz=UTC)
        recipe = dataclasses.replace(self.recipe(job, job.fmt or stored.kind), limit=limit)
        return process.select(feed, recipe, now)

    def _clean_build(
        self,
        feed: Feed | None,
        stored: StoredFeed,
        job: FeedJob,
        filtered: bool = False,
        learnt: dict[str, Any] | None = None,
    ) -> CleanedFeed:
        """Parse (unless parsed), filter (but for limit=), clean, rewrite, sanitise, with
        image links on the placeholder base."""
        if not filtered:
            feed = self._selected(feed, stored, job)
        assert feed is not None
        recipe = self.recipe(job, job.fmt or stored.kind)
        cleaned = process.transform(
            feed,
            policy=process.image_policy(self.settings, self.key, self._base, job.options),
            ruleset=job.ruleset,
            feed_name=recipe.feed_name,
            opencc=recipe.opencc,
            learnt=learnt,
            items=self.items,
        )
        return CleanedFeed(feed, cleaned, process.weight(feed, cleaned))

    def _render(
        self, kept: CleanedFeed, stored: StoredFeed, job: FeedJob, fmt: str
    ) -> tuple[bytes, bytes, str]:
        """limit= on the cleaned items, the public base in place, then render (spliced from
        the last rendering of the same output, keyed by all but the body, where it can):
        the bytes, their gzip and their ETag, all made in the build thread."""
        splice = None
        if not job.fulltext and fmt == stored.kind:
            hour = str(int(self.clock() // 3600)) if job.options.max_age else ""
            bodiless = dataclasses.replace(stored, body=b"", digest="")
            base = jobs.clean_key(self.settings, self._key_id, bodiless, job, None, hour)
            splice = self._output_key(base, job, fmt)
        original, cleaned = kept.original, kept.cleaned
        if not job.fulltext:  # full text applied the limit before fetching articles
            original, cleaned = process.cut(original, cleaned, job.limit)

        def rebase(feed: Feed) -> Feed:
            return process.rebase(feed, self._base, job.public_base)

        recipe = self.recipe(job, fmt)
        body = None
        if splice is not None:
            # Spliced, only the items rendered anew are rebased (the key holds the base).
            body = self.splicer.render(
                splice, stored.body, original, cleaned, recipe.self_url, rebase
            )
        if body is None:
            body = process.build_cleaned(
                original,
                rebase(cleaned),
                recipe,
                fallback_date=datetime.fromtimestamp(stored.fetched_at, tz=UTC),
                body=stored.body,
            )
            if splice is not None:
                self.splicer.remember(splice, stored.body, original, cleaned, body)
        compressed = process.compress(body)
        etag = records.etag_of(body)  # ~20 ms per 16 MB: here in the build thread, not the loop
        del original, cleaned
        memory.release_after(len(stored.body))
        return body, compressed, etag
