"""Politeness without collateral: back off per feed URL, per host and port only when the host
says so. No I/O.

A reader polling a feed that keeps failing must not turn feedscrub into a hammer, and one dead
feed must not take its neighbours down with it (a republisher serves dozens of feeds from one
host). So:

* errors of one URL (5xx, timeouts, DNS failures, a 429/503 *without* Retry-After) back off
  that URL: after the second failure in a row, exponentially, with jitter so many feeds do not
  retry in lockstep;
* the host itself saying so (a 429/503 *with* Retry-After, connection refused, a TLS failure)
  backs off every URL on that host *and port* (another port is another server).

The 503 this answers names at most a host and port, never a URL: another reader's URL may
carry a private feed's token. Both maps are bounded in size and age (``BoundedMap``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from yarl import URL

from proxy.bounded import BoundedMap
from proxy.errors import (
    BodyTooLarge,
    HostUnreachable,
    NotAFeed,
    TooManyRedirects,
    UpstreamBackoff,
    UpstreamError,
    UpstreamStatus,
    UpstreamTimeout,
)

RETRY_AFTER_DEFAULT = 60.0  # when Retry-After is missing or unreadable on a 429/503
RETRY_AFTER_MAX = 3600.0  # an absurd Retry-After (a week) is clamped to this
BACKOFF_BASE = 10.0  # seconds after the second failure in a row; doubles after that
BACKOFF_MAX = 900.0
MAX_ENTRIES = 10_000  # URLs (and, apart, hosts) remembered; the oldest go first
# A failure streak older than the longest wait is forgotten: the next failure starts afresh.
MAX_AGE = 2 * RETRY_AFTER_MAX


def parse_retry_after(value: str | None, now: float) -> float:
    """Seconds to wait: Retry-After as delta-seconds or an HTTP date; clamped to [1, max]."""
    seconds = RETRY_AFTER_DEFAULT
    if value:
        text = value.strip()
        if text.isascii() and text.isdigit():
            seconds = float(text[:12])  # 5,000 digits would be a float overflow
        else:
            try:
                seconds = parsedate_to_datetime(text).timestamp() - now
            except (TypeError, ValueError, IndexError, OverflowError):
                seconds = RETRY_AFTER_DEFAULT
    return min(max(seconds, 1.0), RETRY_AFTER_MAX)


def backoff_key(url: str) -> str:
    """host:port of a URL (lower-case host, default port filled in): one upstream server."""
    try:
        parsed = URL(url)
        host = parsed.raw_host or ""
        port = parsed.port
    except ValueError:
        return url
    if ":" in host:
        host = f"[{host}]"
    return f"{host.lower()}:{port}"


@dataclass
class _State:
    failures: int = 0
    blocked_until: float = 0.0
    reason: str = ""


class Backoff:
    """Who not to ask for now. One per app; ``check`` before a fetch, then ``success`` or
    ``failure`` after it.

    Parameters:
        clock: wall-clock seconds (tests pass one they can move).
        jitter: a number in [0, 1); the wait is ceiling × (0.5 + jitter / 2).
        max_entries: URLs remembered, and hosts remembered, at most.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.clock = clock
        self._jitter = jitter
        self._urls: BoundedMap[str, _State] = BoundedMap(max_entries, MAX_AGE, clock)
        self._hosts: BoundedMap[str, _State] = BoundedMap(max_entries, MAX_AGE, clock)

    @property
    def size(self) -> int:
        """URLs and hosts remembered (for tests of the bound)."""
        return len(self._urls) + len(self._hosts)

    def check(self, url: str) -> None:
        """Raise UpstreamBackoff (503) while this URL, or its host and port, is not to be
        asked."""
        now = self.clock()
        host = backoff_key(url)
        state = self._hosts.get(host)
        if state is not None and state.blocked_until > now:
            wait = int(state.blocked_until - now) + 1
            raise UpstreamBackoff(
                f"not asking {host} for another {wait}s: {state.reason}", retry_after=wait
            )
        state = self._urls.get(url)
        if state is not None and state.blocked_until > now:
            wait = int(state.blocked_until - now) + 1
            raise UpstreamBackoff(
                f"not asking the upstream of this feed for another {wait}s: {state.reason}",
                retry_after=wait,
            )

    def success(self, url: str) -> None:
        self._urls.pop(url)
        self._hosts.pop(backoff_key(url))

    def failure(self, url: str, error: UpstreamError) -> None:
        if isinstance(error, UpstreamBackoff | NotAFeed | BodyTooLarge | TooManyRedirects):
            return  # our own refusal, or the host answered fine with something unusable
        now = self.clock()
        if isinstance(error, UpstreamStatus):
            status = error.upstream_status
            if status < 500 and status != 429:
                return  # 404 and friends: the negative cache remembers those
            if status in (429, 503):
                wait = parse_retry_after(error.retry_after, now)
                if error.retry_after is not None:
                    # The host asked every client to wait: every feed on it waits.
                    self._block(
                        self._hosts,
                        backoff_key(url),
                        now + wait,
                        f"it answered {status} with Retry-After",
                    )
                else:
                    self._block(self._urls, url, now + wait, f"it answered {status}")
                return
            self._streak(self._urls, url, now, f"it answered {status}")
        elif isinstance(error, HostUnreachable):
            host = backoff_key(url)
            self._streak(self._hosts, host, now, f"{host} {error.what}")
        elif isinstance(error, UpstreamTimeout):
            self._streak(self._urls, url, now, "it did not answer in time")
        else:
            self._streak(self._urls, url, now, "it could not be reached")

    # -- shared between replicas (pipeline stores these beside the feed; see store/) -----------

    def shared(self, url: str) -> dict[str, list[Any] | None]:
        """This URL's state ("url") and its host and port's ("host"), JSON-able, for the
        store; None where nothing is held against them."""
        found = {}
        for kind in ("url", "host"):
            states, key = self._states(url, kind)
            state = states.get(key)
            found[kind] = [state.failures, state.blocked_until, state.reason] if state else None
        return found

    def adopt(self, url: str, kind: str, record: list[Any] | None) -> None:
        """Take the state the last fetch on any replica left ("url" or "host"; None: clear)."""
        states, key = self._states(url, kind)
        if record is None:
            states.pop(key)
            return
        failures, until, reason = record
        states.set(key, _State(int(failures), float(until), str(reason)))

    def _states(self, url: str, kind: str) -> tuple[BoundedMap[str, _State], str]:
        return (self._urls, url) if kind == "url" else (self._hosts, backoff_key(url))

    def _block(self, states: BoundedMap[str, _State], key: str, until: float, reason: str) -> None:
        state = states.get(key) or _State()
        state.failures += 1
        state.blocked_until = max(state.blocked_until, until)
        state.reason = reason
        states.set(key, state)

    def _streak(self, states: BoundedMap[str, _State], key: str, now: float, reason: str) -> None:
        state = states.get(key) or _State()
        state.failures += 1
        if state.failures >= 2:  # one failure is noise; two in a row start the backoff
            ceiling = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** min(state.failures - 2, 32))
            wait = ceiling * (0.5 + self._jitter() / 2)
            state.blocked_until = max(state.blocked_until, now + wait)
            state.reason = f"{state.failures} failures in a row, the last: {reason}"
        states.set(key, state)
