"""Process-wide counters and one histogram, written out in the Prometheus text format.

Pure Python: no aiohttp, no I/O, nothing to install. Every update takes one lock, so the
worker threads that clean and render feeds may call ``count_rule`` while the event loop
records requests. ``server/metrics.py`` serves ``render()`` at /metrics.

Counters are per process and only go up (Prometheus computes rates from them); several
apps in one process (the tests) share them, so tests compare before and after.

The API the other stages call::

    metrics.record_fetch("fresh", seconds)   # fetch.py: one upstream request, by outcome
    metrics.record_cache("hit")              # pipeline.py: served without asking the upstream
    metrics.count_rule("share")              # clean stage: a rule changed an item
    metrics.record_request("/feed", 200)     # server: one answered request
    metrics.add_image_bytes(len(body))       # server: image bytes sent to readers
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Iterator
from typing import Literal

from proxy import __version__

__all__ = [
    "CACHE_RESULTS",
    "FETCH_DURATION_BUCKETS",
    "FETCH_OUTCOMES",
    "PREFIX",
    "CacheResult",
    "FetchOutcome",
    "Registry",
    "REGISTRY",
    "add_image_bytes",
    "count_rule",
    "record_cache",
    "record_fetch",
    "record_request",
    "render",
]

PREFIX = "feedscrub_"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

FetchOutcome = Literal["fresh", "304", "error", "timeout", "refused"]
"""fresh: a 2xx body; 304: the cached body still holds; error: any other failure (status,
connection, size, not a feed…); timeout: no answer in time; refused: not asked at all (a
private address, a host outside FEEDSCRUB_ALLOW_HOSTS / inside FEEDSCRUB_DENY_HOSTS)."""
FETCH_OUTCOMES: tuple[FetchOutcome, ...] = ("fresh", "304", "error", "timeout", "refused")

CacheResult = Literal["hit", "miss", "stale"]
"""hit: served from the cache without asking the upstream; miss: the upstream had to be asked
(an expired entry that the upstream confirms with 304 is a miss too); stale: the upstream
failed and the last good copy was served."""
CACHE_RESULTS: tuple[CacheResult, ...] = ("hit", "miss", "stale")

# Seconds. Most feeds answer in well under a second; the top buckets sit around the default
# FEEDSCRUB_FETCH_TIMEOUT (20 s) so slow upstreams are told apart from dead ones.
FETCH_DURATION_BUCKETS: tuple[float, ...] = (
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    20.0,
    30.0,
)


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    if not names:
        return ""
    pairs = ",".join(f'{n}="{_escape_label(v)}"' for n, v in zip(names, values, strict=True))
    return "{" + pairs + "}"


class _Counter:
    """A counter family. Not locked itself: the Registry holds the lock."""

    def __init__(
        self,
        name: str,
        help_text: str,
        label_names: tuple[str, ...] = (),
        preset: Iterable[tuple[str, ...]] = (),
    ) -> None:
        self.name = PREFIX + name
        self.help = help_text
        self.label_names = label_names
        # Known label sets start at 0, so their series exist before the first event.
        self.values: dict[tuple[str, ...], float] = {key: 0.0 for key in preset}

    def inc(self, key: tuple[str, ...], amount: float = 1.0) -> None:
        self.values[key] = self.values.get(key, 0.0) + amount

    def lines(self) -> Iterator[str]:
        yield f"# HELP {self.name} {_escape_help(self.help)}"
        yield f"# TYPE {self.name} counter"
        for key in sorted(self.values):
            yield f"{self.name}{_labels(self.label_names, key)} {_number(self.values[key])}"


class _Histogram:
    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...]) -> None:
        self.name = PREFIX + name
        self.help = help_text
        self.buckets = tuple(sorted(buckets))
        self.counts = [0] * len(self.buckets)  # per bucket, not cumulative
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
                break
        self.count += 1
        self.sum += value

    def lines(self) -> Iterator[str]:
        yield f"# HELP {self.name} {_escape_help(self.help)}"
        yield f"# TYPE {self.name} histogram"
        cumulative = 0
        for bound, count in zip(self.buckets, self.counts, strict=True):
            cumulative += count
            yield f'{self.name}_bucket{{le="{_number(bound)}"}} {cumulative}'
        yield f'{self.name}_bucket{{le="+Inf"}} {self.count}'
        yield f"{self.name}_sum {_number(self.sum)}"
        yield f"{self.name}_count {self.count}"


class Registry:
    """Every metric feedscrub keeps. One instance per process: ``REGISTRY``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = _Counter(
            "requests_total",
            "Requests answered, by route pattern and HTTP status.",
            ("route", "status"),
        )
        self.fetches = _Counter(
            "upstream_fetches_total",
            "Upstream requests (feeds and images), by outcome: fresh, 304, error, timeout, "
            "refused.",
            ("outcome",),
            preset=((outcome,) for outcome in FETCH_OUTCOMES),
        )
        self.cache = _Counter(
            "cache_total",
            "Feed cache lookups, by result: hit, miss, stale (last good copy served after an "
            "upstream failure).",
            ("result",),
            preset=((result,) for result in CACHE_RESULTS),
        )
        self.rules = _Counter(
            "rule_hits_total", "Items a cleaning rule changed, by rule.", ("rule",)
        )
        self.image_bytes = _Counter(
            "image_bytes_total", "Image bytes sent to readers by the image proxy.", preset=[()]
        )
        self.fetch_duration = _Histogram(
            "fetch_duration_seconds",
            "Time from the start of an upstream request to its whole body (or its failure).",
            FETCH_DURATION_BUCKETS,
        )

    def record_request(self, route: str, status: int) -> None:
        with self._lock:
            self.requests.inc((route, str(status)))

    def record_fetch(self, outcome: FetchOutcome, seconds: float | None = None) -> None:
        """One upstream request's outcome; ``seconds`` goes into the duration histogram
        (None for requests refused before any I/O)."""
        with self._lock:
            self.fetches.inc((outcome,))
            if seconds is not None:
                self.fetch_duration.observe(max(0.0, seconds))

    def record_cache(self, result: CacheResult) -> None:
        with self._lock:
            self.cache.inc((result,))

    def count_rule(self, name: str, hits: int = 1) -> None:
        if hits <= 0:
            return
        with self._lock:
            self.rules.inc((name,), hits)

    def add_image_bytes(self, count: int) -> None:
        if count <= 0:
            return
        with self._lock:
            self.image_bytes.inc((), count)

    def render(self) -> str:
        """The whole registry in the Prometheus text exposition format (version 0.0.4)."""
        with self._lock:
            lines = [
                f"# HELP {PREFIX}build_info The running feedscrub version.",
                f"# TYPE {PREFIX}build_info gauge",
                f'{PREFIX}build_info{{version="{_escape_label(__version__)}"}} 1',
            ]
            for family in (self.requests, self.fetches, self.cache, self.rules, self.image_bytes):
                lines.extend(family.lines())
            lines.extend(self.fetch_duration.lines())
        return "\n".join(lines) + "\n"


REGISTRY = Registry()


def record_request(route: str, status: int) -> None:
    REGISTRY.record_request(route, status)


def record_fetch(outcome: FetchOutcome, seconds: float | None = None) -> None:
    REGISTRY.record_fetch(outcome, seconds)


def record_cache(result: CacheResult) -> None:
    REGISTRY.record_cache(result)


def count_rule(name: str, hits: int = 1) -> None:
    REGISTRY.count_rule(name, hits)


def add_image_bytes(count: int) -> None:
    REGISTRY.add_image_bytes(count)


def render() -> str:
    return REGISTRY.render()
