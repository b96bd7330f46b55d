"""Per-host politeness: honour Retry-After, back off on repeated failures. No I/O.

A reader polling a feed whose host is down must not turn feedscrub into a hammer: after a
429/503 with Retry-After nothing is sent to that host until the time passes, and repeated
failures (timeouts, refused connections, 5xx) space out exponentially, with jitter so many
feeds on one host do not retry in lockstep.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from proxy.errors import (
    BodyTooLarge,
    NotAFeed,
    TooManyRedirects,
    UpstreamBackoff,
    UpstreamError,
    UpstreamStatus,
)

RETRY_AFTER_DEFAULT = 60.0  # when Retry-After is missing or unreadable on a 429/503
RETRY_AFTER_MAX = 3600.0  # an absurd Retry-After (a week) is clamped to this
BACKOFF_BASE = 10.0  # seconds after the second failure in a row; doubles after that
BACKOFF_MAX = 900.0


def parse_retry_after(value: str | None, now: float) -> float:
    """Seconds to wait: Retry-After as delta-seconds or an HTTP date; clamped to [1, max]."""
    seconds = RETRY_AFTER_DEFAULT
    if value:
        text = value.strip()
        if text.isdigit():
            seconds = float(text)
        else:
            try:
                seconds = parsedate_to_datetime(text).timestamp() - now
            except (TypeError, ValueError, IndexError, OverflowError):
                seconds = RETRY_AFTER_DEFAULT
    return min(max(seconds, 1.0), RETRY_AFTER_MAX)


@dataclass
class _HostState:
    failures: int = 0
    blocked_until: float = 0.0
    reason: str = ""


class HostBackoff:
    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.clock = clock
        self._jitter = jitter
        self._hosts: dict[str, _HostState] = {}

    @staticmethod
    def host(url: str) -> str:
        return (urlsplit(url).hostname or "").lower()

    def check(self, url: str) -> None:
        """Raise UpstreamBackoff (503) while the host is not to be asked."""
        state = self._hosts.get(self.host(url))
        if state is None:
            return
        wait = state.blocked_until - self.clock()
        if wait > 0:
            raise UpstreamBackoff(
                f"not asking {self.host(url)} for another {int(wait) + 1}s: {state.reason}",
                retry_after=int(wait) + 1,
            )

    def success(self, url: str) -> None:
        self._hosts.pop(self.host(url), None)

    def failure(self, url: str, error: UpstreamError) -> None:
        if isinstance(error, UpstreamBackoff | NotAFeed | BodyTooLarge | TooManyRedirects):
            return  # our own refusal, or the host answered fine with something unusable
        if (
            isinstance(error, UpstreamStatus)
            and error.upstream_status < 500
            and (error.upstream_status != 429)
        ):
            return  # 404 and friends are about one URL, not the host
        host = self.host(url)
        state = self._hosts.setdefault(host, _HostState())
        state.failures += 1
        now = self.clock()
        if isinstance(error, UpstreamStatus) and error.upstream_status in (429, 503):
            wait = parse_retry_after(error.retry_after, now)
            state.reason = f"it answered {error.upstream_status} with Retry-After"
        elif state.failures >= 2:
            ceiling = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (state.failures - 2))
            wait = ceiling * (0.5 + self._jitter() / 2)
            state.reason = f"{state.failures} failures in a row, the last: {error.message}"
        else:
            return  # one failure is noise; two in a row start the backoff
        state.blocked_until = max(state.blocked_until, now + wait)
