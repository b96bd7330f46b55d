"""When the upstream is asked: hot copies, TTL, stale-while-revalidate, the stale copy,
the negative cache, backoff and single flight. No HTTP of its own: ``ask`` does the asking.

For one upstream URL (``body``):

* cached and younger than its TTL: the cached body, the upstream is not asked;
* past the TTL but within FEEDSCRUB_STALE_WHILE_REVALIDATE: the cached body at once, and
  exactly one background refresh;
* older, or not cached: one conditional request (however many readers wait for it), a 304
  refreshing the cached copy's age;
* the upstream fails: the last good copy, marked stale (``stale_reason``), retried after
  ``STALE_RETRY_SECONDS``; with no copy, the error. A 404/410 is remembered for
  FEEDSCRUB_NEGATIVE_TTL and a failing URL or host is backed off (``backoff.py``).

Across replicas on a shared store (``store/flight.py``), one of them asks the upstream and
the others take the body, or the failure, it stored; backoff and 404/410 records travel with
the store too, so every replica leaves a failing upstream alone.

Rendered outputs are kept hot in memory while fresh (``hot`` / ``remember``), keyed by what
shapes them. Every map is bounded in size and age. Decisions read ``clock``; tests move it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from proxy import memory, metrics
from proxy.backoff import Backoff, backoff_key
from proxy.bounded import BoundedMap
from proxy.errors import NotAFeed, UpstreamError, UpstreamStatus
from proxy.models import Feed, FetchResult, Rendered, Validators
from proxy.singleflight import SingleFlight
from proxy.store import Store, StoredFeed, StoredOutput, flight

logger = logging.getLogger(__name__)

T = TypeVar("T")

HOT_ENTRIES = 512  # rendered feeds kept in memory while fresh
HOT_BYTES = 128 * 1024 * 1024  # ... and their bytes at most (a 9 MB feed is 9 MB here)
HOT_MAX_AGE = 24 * 3600.0  # past any fresh_until of a sane TTL: stale entries go anyway
# Recent outputs by output key, so a refresh that ends at an output built before (the same
# bytes again, a 304) does not read it back from the store. Outputs are immutable under
# their key; most share their bytes with a hot copy. One bigger than a quarter is not kept.
RECENT_OUTPUTS = 256
RECENT_BYTES = 64 * 1024 * 1024
RECENT_MAX_AGE = 3600.0
GONE_ENTRIES = 10_000  # upstream URLs remembered as 404/410 (~2 KB each at most)
STALE_RETRY_SECONDS = 60  # after an upstream failure, how long the stale copy is reused
# The fetch lock lives FEEDSCRUB_FETCH_TIMEOUT plus this (parse and store the body): a replica
# dying mid-fetch holds up the others no longer than that.
FLIGHT_MARGIN_SECONDS = 5.0
SHARED_STATE_SECONDS = 2 * 3600  # backoff records kept in the store (the longest backoff)

Ask = Callable[[Validators | None], Awaitable[tuple[FetchResult, Feed | None]]]
"""One conditional upstream request: the result, and the parsed feed (None on a 304)."""


@dataclass(frozen=True, slots=True)
class BodyState:
    """The upstream body one request is served from, and how it was got."""

    stored: StoredFeed
    feed: Feed | None = None  # parsed already when it was just fetched
    stale_reason: str | None = None
    stale_status: int | None = None
    revalidating: bool = False  # past its TTL, served while a background refresh runs
    asked_upstream: bool = False  # this request went to the upstream (200 or 304)
    fetched: bool = False  # a new body came from the upstream (200)


@dataclass(slots=True)
class _Hot:
    rendered: Rendered
    fresh_until: float
    checked_at: float  # when the upstream last confirmed the body (for Age)
    ttl: int
    # The last answer ``hot`` made of it: requests within the same second share it (Age and
    # ttl are whole seconds), so a cached request builds no Rendered of its own.
    served: Rendered | None = None


class Freshness:
    """The freshness decisions of one app.

    Parameters:
        store: where upstream bodies are kept.
        stale_while_revalidate: FEEDSCRUB_STALE_WHILE_REVALIDATE seconds.
        negative_ttl: FEEDSCRUB_NEGATIVE_TTL seconds (0: 404/410 are not remembered).
        fetch_timeout: FEEDSCRUB_FETCH_TIMEOUT seconds (the fetch lock lives a little longer).
    """

    def __init__(
        self,
        store: Store,
        *,
        stale_while_revalidate: int,
        negative_ttl: int,
        fetch_timeout: float = 20.0,
    ) -> None:
        self.store = store
        self.lock_seconds = fetch_timeout + FLIGHT_MARGIN_SECONDS
        self.stale_while_revalidate = stale_while_revalidate
        self.negative_ttl = negative_ttl
        self.clock: Callable[[], float] = time.time
        self.backoff = Backoff(clock=self._now)
        self.flights = SingleFlight()
        # URL -> (message, status) for upstreams that answered 404/410.
        self.gone: BoundedMap[str, tuple[str, int]] = BoundedMap(
            GONE_ENTRIES, max(negative_ttl, 1), self._now
        )
        self._hot: BoundedMap[Hashable, _Hot] = BoundedMap(
            HOT_ENTRIES,
            HOT_MAX_AGE,
            self._now,
            weigh=lambda hot: len(hot.rendered.body) + len(hot.rendered.gzip_body),
            max_weight=HOT_BYTES,
        )
        self._outputs: BoundedMap[str, StoredOutput] = BoundedMap(
            RECENT_OUTPUTS,
            RECENT_MAX_AGE,
            self._now,
            weigh=lambda output: len(output.body) + len(output.gzip_body),
            max_weight=RECENT_BYTES,
        )
        self._background: set[asyncio.Future[None]] = set()
        # Whether a big feed, parsed to check it is one, may be kept for its build (the
        # service says no while builds queue, so parsed feeds do not pile up in memory).
        self.keep_parsed: Callable[[], bool] = lambda: True

    def _now(self) -> float:
        return self.clock()  # read late: tests replace self.clock

    async def once(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> T:
        """``work`` run once for every concurrent caller with the same key."""
        return await self.flights.run(key, work)

    # -- hot copies of rendered outputs ----------------------------------------------------

    def hot(self, key: Hashable) -> Rendered | None:
        """The rendered output kept for ``key`` while it is fresh, with its Age and ttl now
        (counted as a cache hit)."""
        served = self.peek(key)
        if served is not None:
            metrics.record_cache("hit")
        return served

    def peek(self, key: Hashable) -> Rendered | None:
        """``hot`` without counting the hit: for the server's short path (server/warm.py),
        which counts it with the request, under one lock."""
        now = self.clock()
        hot = self._hot.get(key, now)
        if hot is None or hot.fresh_until <= now:
            return None
        age = max(0, int(now - hot.checked_at))
        ttl = int(hot.checked_at + hot.ttl - now)
        served = hot.served
        if served is not None and served.age == age and served.ttl == ttl:
            return served
        # Once per second and feed at most: the copy shares the bytes of the kept one.
        served = hot.served = dataclasses.replace(hot.rendered, age=age, fetched=False, ttl=ttl)
        return served

    def remember(
        self, key: Hashable, rendered: Rendered, state: BodyState, ttl: int, pending: bool
    ) -> None:
        """Keep ``rendered`` hot for as long as it stays what a new request would get."""
        now = self.clock()
        if rendered.stale:
            fresh_until = now + min(STALE_RETRY_SECONDS, ttl)
        elif state.revalidating or pending:
            # A refresh or article fetches may land any moment: look again next time.
            fresh_until = 0.0
        else:
            fresh_until = state.stored.checked_at + ttl
        self._hot.set(key, _Hot(rendered, fresh_until, state.stored.checked_at, ttl))

    def output(self, key: str) -> StoredOutput | None:
        """The output kept under ``key`` (``keep_output``), if still in memory."""
        return self._outputs.get(key)

    def keep_output(self, key: str, output: StoredOutput) -> None:
        if len(output.body) + len(output.gzip_body) <= RECENT_BYTES // 4:
            self._outputs.set(key, output)

    def forget_outputs(self) -> None:
        """Drop every hot copy (a new feeds config changes what they would be)."""
        self._hot.clear()

    @staticmethod
    def count(state: BodyState) -> None:
        if state.stale_reason is not None:
            metrics.record_cache("stale")
        elif state.asked_upstream:
            metrics.record_cache("miss")
        else:
            metrics.record_cache("hit")

    # -- upstream bodies -------------------------------------------------------------------

    async def body(self, url: str, ttl: int, ask: Ask) -> BodyState:
        """The upstream body for ``url``, as the rules in the module docstring decide."""
        return await self.flights.run(("body", url), lambda: self._body(url, ttl, ask))

    async def _body(self, url: str, ttl: int, ask: Ask) -> BodyState:
        stored = await self.store.get_feed(url)
        if stored is not None:
            age = self.clock() - stored.checked_at
            if age < ttl:
                return BodyState(stored)
            if age < ttl + self.stale_while_revalidate:
                self._refresh_in_background(url, stored, ask)
                return BodyState(stored, revalidating=True)
        return await self.flights.run(("fetch", url), lambda: self._fetch_once(url, stored, ask))

    async def _fetch_once(self, url: str, stored: StoredFeed | None, ask: Ask) -> BodyState:
        """One upstream request across replicas: the store lock's holder fetches; the others
        wait and take the body (or the failure) it left in the store."""
        asked = time.time()  # compared across replicas: the wall clock, not self.clock

        async def newer() -> BodyState | None:
            again = await self.store.get_feed(url)
            if again is not None and (stored is None or again.checked_at > stored.checked_at):
                return BodyState(again)
            return None

        async def work() -> BodyState:
            # Another replica may have fetched between our look at the store and the lock.
            return await newer() or await self._fetch(url, stored, ask)

        async def settled() -> BodyState | None:
            if (state := await newer()) is not None:
                return state
            failed = await self.store.get_state("failed:" + url)
            if failed is None or failed.get("at", 0) < asked:
                return None  # the holder left nothing (it died): take the lock ourselves
            if stored is None:
                raise _shared_failure(failed)
            return BodyState(stored, stale_reason=failed["message"], stale_status=failed["status"])

        return await flight.once(
            self.store,
            "fetch:" + url,
            ttl=self.lock_seconds,
            work=work,
            settled=settled,
        )

    def _refresh_in_background(self, url: str, stored: StoredFeed, ask: Ask) -> None:
        async def refresh() -> None:
            try:
                await self.flights.run(("fetch", url), lambda: self._fetch_once(url, stored, ask))
            except Exception as exc:  # logged by _fetch for upstream errors
                logger.debug("refresh feed_url=%s failed: %s", url, exc)

        if ("fetch", url) in self.flights:
            return  # exactly one refresh per URL
        task = asyncio.ensure_future(refresh())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _fetch(self, url: str, stored: StoredFeed | None, ask: Ask) -> BodyState:
        started = time.monotonic()
        validators = Validators(stored.etag, stored.last_modified, stored.body) if stored else None
        gone = await self._adopt_shared(url)
        try:
            if gone is not None:
                # A dead feed polled by a reader: answer from memory for a few minutes.
                raise UpstreamStatus(gone[0], gone[1])
            self.backoff.check(url)
            result, feed = await ask(validators)
            if result.status == 304 or feed is None:
                if stored is None:
                    raise NotAFeed(f"upstream answered 304 to an unconditional request ({url})")
                refreshed = dataclasses.replace(stored, checked_at=self.clock())
                if result.status != 304:
                    # The same bytes again in a 200 (``ask`` did not parse them): a 304 in
                    # effect, but the validators are the ones this answer came with.
                    refreshed = dataclasses.replace(
                        refreshed, etag=result.etag, last_modified=result.last_modified
                    )
                # The body is the stored one: only the check is written, not the body again.
                await self.store.confirm_feed(refreshed)
                self.backoff.success(url)
                logger.info(
                    "fetch feed_url=%s status=%d%s elapsed_ms=%d",
                    url,
                    result.status,
                    "" if result.status == 304 else " unchanged=1",
                    _ms(started),
                )
                return BodyState(refreshed, asked_upstream=True)
        except UpstreamError as exc:
            # For the replicas waiting on this fetch (see _fetch_once): they answer the same.
            failure = {"at": time.time(), "message": exc.message, "status": exc.status}
            await self.store.put_state("failed:" + url, failure, FLIGHT_MARGIN_SECONDS * 2)
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
                    and self.negative_ttl
                ):
                    self.gone.set(url, (exc.message, exc.upstream_status))
                await self._share(url)
            if stored is None:
                raise
            # A failed fetch never replaces the good copy: serve it, marked stale.
            return BodyState(stored, stale_reason=exc.message, stale_status=exc.status)
        self.backoff.success(url)
        self.gone.pop(url)
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
            digest=result.digest,
        )
        await self.store.put_feed(fresh)
        logger.info(
            "fetch feed_url=%s status=200 bytes=%d items=%d elapsed_ms=%d",
            url,
            len(result.body),
            len(feed.entries),
            _ms(started),
        )
        if len(result.body) >= memory.BIG_BODY_BYTES and not self.keep_parsed():
            # Builds are queueing (builds.py): a big parsed feed is not held while this request
            # waits for a slot; the build parses it again within its slot.
            del feed
            memory.release_after(len(result.body))
            return BodyState(fresh, asked_upstream=True, fetched=True)
        return BodyState(fresh, feed=feed, asked_upstream=True, fetched=True)

    async def _adopt_shared(self, url: str) -> tuple[str, int] | None:
        """Backoff and negative-cache state as the last fetch on any replica left it (before
        a fetch); returns the 404/410 remembered, if any. Times are in this clock."""
        names = (f"backoff:{url}", f"backoff-host:{backoff_key(url)}", f"gone:{url}")
        by_url, by_host, gone = await asyncio.gather(*map(self.store.get_state, names))
        for kind, record in (("url", by_url), ("host", by_host)):
            if record is not None:
                self.backoff.adopt(url, kind, record.get("state"))
        if gone is not None and gone.get("until", 0) > self.clock():
            self.gone.set(url, (str(gone["message"]), int(gone["status"])))
        return self.gone.get(url)

    async def _share(self, url: str) -> None:
        """After a fetch: what the other replicas must know before they ask this upstream."""
        states = self.backoff.shared(url)
        for name, kind in ((f"backoff:{url}", "url"), (f"backoff-host:{backoff_key(url)}", "host")):
            await self.store.put_state(name, {"state": states[kind]}, SHARED_STATE_SECONDS)
        gone = self.gone.get(url)
        until = self.clock() + self.negative_ttl if gone is not None else 0.0
        record = {"message": gone[0], "status": gone[1], "until": until} if gone else {"until": 0}
        await self.store.put_state(f"gone:{url}", record, max(self.negative_ttl, 1))

    async def settle(self) -> None:
        """Wait for background refreshes (tests; shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*list(self._background), return_exceptions=True)


def _shared_failure(failed: dict[str, Any]) -> UpstreamError:
    """The error another replica's fetch met, with the status it answered."""
    error = UpstreamError(str(failed.get("message", "upstream failed on another replica")))
    error.status = int(failed.get("status", UpstreamError.status))
    return error


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
