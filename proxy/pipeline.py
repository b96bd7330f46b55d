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
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import aiohttp

from proxy import clean, fetch, parse, render, rewrite, sanitize, signing
from proxy.cache import Cache, StoredFeed, StoredImage, StoredOutput
from proxy.config import Settings
from proxy.errors import BadRequest, NotAFeed, UpstreamError
from proxy.imagetype import image_type
from proxy.models import Entry, Feed, FetchResult, ImageResult, Rendered, Validators
from proxy.singleflight import SingleFlight

logger = logging.getLogger(__name__)

# Bump when cleaning or rendering changes what the same input produces, so cached outputs
# made by an older version are not served.
OUTPUT_VERSION = "1"
_HOT_ENTRIES = 512  # rendered feeds kept in memory while fresh
STALE_RETRY_SECONDS = 60  # after an upstream failure, how long the stale copy is reused


@dataclass(frozen=True, slots=True)
class BodyState:
    stored: StoredFeed
    feed: Feed | None = None  # parsed already when it was just fetched
    stale_reason: str | None = None
    stale_status: int | None = None


@dataclass(frozen=True, slots=True)
class _Hot:
    rendered: Rendered
    fresh_until: float
    checked_at: float  # when the upstream last confirmed the body (for Age)


def transform(
    feed: Feed,
    *,
    policy: rewrite.ImagePolicy,
    rule_names: Sequence[str] = clean.DEFAULT_RULES,
) -> Feed:
    """Clean, rewrite and sanitise every item's HTML; keep everything else as it was."""
    entries = tuple(_transform_entry(feed, entry, policy, rule_names) for entry in feed.entries)
    image = feed.image
    if image is not None and policy.mode in ("proxy", "template"):
        image = dataclasses.replace(image, url=rewrite.proxied_url(image.url, policy))
    return dataclasses.replace(feed, entries=entries, image=image)


def _transform_entry(
    feed: Feed, entry: Entry, policy: rewrite.ImagePolicy, rule_names: Sequence[str]
) -> Entry:
    base = entry.base_url or feed.source_url or entry.link
    context = f"feed={feed.source_url} item={entry.guid or entry.link or entry.title}"

    def one(html: str | None) -> str | None:
        if html is None:
            return None
        root = clean.clean_tree(html, rule_names, context=context)
        rewrite.rewrite_tree(root, base_url=base, policy=policy)
        return sanitize.sanitize_html(clean.serialise(root))

    return dataclasses.replace(entry, summary=one(entry.summary), content=one(entry.content))


def build_output(
    feed: Feed,
    fmt: str,
    *,
    policy: rewrite.ImagePolicy,
    self_url: str,
    fallback_date: datetime,
    rule_names: Sequence[str] = clean.DEFAULT_RULES,
) -> bytes:
    """Parsed feed → served bytes (the synchronous core, also used by `feedscrub clean`)."""
    cleaned = transform(feed, policy=policy, rule_names=rule_names)
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
        cache: Cache,
        key: bytes,
        rule_names: Sequence[str] = clean.DEFAULT_RULES,
    ) -> None:
        self.settings = settings
        self.session = session
        self.cache = cache
        self.key = key
        self.rule_names = tuple(rule_names)
        self._flights = SingleFlight()
        self._hot: OrderedDict[tuple[str, str | None, str], _Hot] = OrderedDict()
        # Freshness decisions read this clock; tests move it instead of sleeping.
        self.clock: Callable[[], float] = time.time

    def policy(self, public_base: str) -> rewrite.ImagePolicy:
        s = self.settings
        return rewrite.ImagePolicy(
            mode=s.images, public_base=public_base, key=self.key, template=s.image_template
        )

    # -- feeds -------------------------------------------------------------------------------

    async def feed(self, url: str, *, fmt: str | None, public_base: str) -> Rendered:
        """The cleaned feed for an upstream URL.

        Parameters:
            url: the upstream feed URL as the reader gave it.
            fmt: "rss", "atom", or None for the upstream's own family.
            public_base: scheme://host[:port] readers reach the proxy at (image and self links).
        """
        fmt = check_format(fmt)
        url = fetch.check_url(url, allow_private=self.settings.allow_private)
        hot_key = (url, fmt, public_base)
        hot = self._hot.get(hot_key)
        if hot is not None and hot.fresh_until > self.clock():
            self._hot.move_to_end(hot_key)
            return dataclasses.replace(hot.rendered, age=max(0, int(self.clock() - hot.checked_at)))
        state = await self._flights.run(("body", url), lambda: self._body(url))
        stored = state.stored
        out_fmt = fmt or stored.kind
        output = await self._flights.run(
            ("out", self._output_key(stored, out_fmt, public_base)),
            lambda: self._output(state, out_fmt, fmt, public_base),
        )
        now = self.clock()
        rendered = Rendered(
            body=output.body,
            content_type=render.CONTENT_TYPES[out_fmt],
            etag=output.etag,
            last_modified=output.created_at,
            stale=state.stale_reason is not None,
            age=max(0, int(now - stored.checked_at)),
            stale_reason=state.stale_reason,
            gzip_body=output.gzip_body,
        )
        fresh_until = (
            now + min(STALE_RETRY_SECONDS, self.settings.ttl)
            if rendered.stale
            else stored.checked_at + self.settings.ttl
        )
        self._remember(hot_key, _Hot(rendered, fresh_until, stored.checked_at))
        return rendered

    def _remember(self, key: tuple[str, str | None, str], hot: _Hot) -> None:
        self._hot[key] = hot
        self._hot.move_to_end(key)
        while len(self._hot) > _HOT_ENTRIES:
            self._hot.popitem(last=False)

    async def _body(self, url: str) -> BodyState:
        """The upstream body: cached while fresh, else revalidated; stale if the upstream fails."""
        stored = await asyncio.to_thread(self.cache.get_feed, url)
        started = time.monotonic()
        if stored is not None and self.clock() - stored.checked_at < self.settings.ttl:
            return BodyState(stored)
        validators = Validators(stored.etag, stored.last_modified) if stored else None
        try:
            result = await fetch.fetch(
                self.session, url, settings=self.settings, validators=validators
            )
            if result.status == 304:
                if stored is None:
                    raise NotAFeed(f"upstream answered 304 to an unconditional request ({url})")
                refreshed = dataclasses.replace(stored, checked_at=self.clock())
                await asyncio.to_thread(self.cache.put_feed, refreshed)
                logger.info("fetch feed_url=%s status=304 elapsed_ms=%d", url, _ms(started))
                return BodyState(refreshed)
            feed = await asyncio.to_thread(parse.parse, result)
        except UpstreamError as exc:
            logger.warning(
                "fetch feed_url=%s status=%s error=%s elapsed_ms=%d",
                url, exc.status, exc.message, _ms(started),
            )
            if stored is None:
                raise
            # A failed fetch never replaces the good copy: serve it, marked stale.
            return BodyState(stored, stale_reason=exc.message, stale_status=exc.status)
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
        await asyncio.to_thread(self.cache.put_feed, fresh)
        logger.info(
            "fetch feed_url=%s status=200 bytes=%d items=%d elapsed_ms=%d",
            url, len(result.body), len(feed.entries), _ms(started),
        )
        return BodyState(fresh, feed=feed)

    def _output_key(self, stored: StoredFeed, fmt: str, public_base: str) -> str:
        s = self.settings
        digest = hashlib.sha256()
        for part in (
            OUTPUT_VERSION, stored.url, stored.final_url, fmt, public_base,
            s.images, s.image_template, ",".join(self.rule_names),
        ):
            digest.update(part.encode("utf-8") + b"\0")
        digest.update(stored.body)
        return digest.hexdigest()

    async def _output(
        self, state: BodyState, fmt: str, asked_fmt: str | None, public_base: str
    ) -> StoredOutput:
        stored = state.stored
        key = self._output_key(stored, fmt, public_base)
        cached = await asyncio.to_thread(self.cache.get_output, key)
        if cached is not None:
            return cached
        feed = state.feed
        self_url = f"{public_base}/feed?url={quote(stored.url, safe='')}"
        if asked_fmt:
            self_url += f"&format={asked_fmt}"
        body, compressed = await asyncio.to_thread(
            self._build, feed, stored, fmt, public_base, self_url
        )
        output = StoredOutput(
            body=body, etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            created_at=self.clock(), gzip_body=compressed,
        )
        await asyncio.to_thread(self.cache.put_output, key, output)
        return output

    def _build(
        self, feed: Feed | None, stored: StoredFeed, fmt: str, public_base: str, self_url: str
    ) -> tuple[bytes, bytes]:
        if feed is None:
            feed = parse.parse(
                FetchResult(
                    url=stored.final_url, status=200, body=stored.body,
                    content_type=stored.content_type,
                )
            )
        body = build_output(
            feed,
            fmt,
            policy=self.policy(public_base),
            self_url=self_url,
            fallback_date=datetime.fromtimestamp(stored.fetched_at, tz=UTC),
            rule_names=self.rule_names,
        )
        # Compressed once per output; readers poll the same bytes many times.
        return body, gzip.compress(body, compresslevel=6, mtime=0)

    # -- images ------------------------------------------------------------------------------

    async def image(self, signature: str, encoded_url: str) -> ImageResult:
        """A proxied image: signature checked first, then cache, then the upstream."""
        url = signing.verify(signature, encoded_url, self.key)
        url = fetch.check_url(url, allow_private=self.settings.allow_private)
        stored = await asyncio.to_thread(self.cache.get_image, url)
        if stored is None:
            stored = await self._flights.run(("img", url), lambda: self._fetch_image(url))
        return ImageResult(body=stored.body, content_type=stored.content_type, etag=stored.etag)

    async def _fetch_image(self, url: str) -> StoredImage:
        started = time.monotonic()
        result = await fetch.fetch(
            self.session,
            url,
            settings=self.settings,
            accept=fetch.IMAGE_ACCEPT,
            max_bytes=self.settings.max_image_bytes,
        )
        kind = image_type(result.content_type, result.body, url=url)
        stored = StoredImage(
            body=result.body,
            content_type=kind,
            etag='"' + hashlib.sha256(result.body).hexdigest()[:32] + '"',
        )
        await asyncio.to_thread(self.cache.put_image, url, stored)
        logger.info(
            "fetch image_url=%s status=200 bytes=%d elapsed_ms=%d",
            url, len(result.body), _ms(started),
        )
        return stored


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
