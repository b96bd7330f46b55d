"""What feedscrub counts, kept in prometheus-client's registry: one ``Metrics`` per app.

No aiohttp, no I/O. prometheus-client's counters are thread-safe, so the worker threads that
clean and render feeds may count rules while the event loop records requests.
``server/metrics.py`` serves ``Metrics.render()`` at /metrics.

Which ``Metrics`` a call feeds is the one ``use`` made current: the server does that for each
request (tasks and worker threads started from it inherit it, as context variables do), so
two apps in one process (the tests) never share counts. Outside an app (the CLI) a
process-wide default is current.

The API the other stages call::

    metrics.record_fetch("fresh", seconds)   # fetch/: one upstream request, by outcome
    metrics.record_cache("hit")              # pipeline: served without asking the upstream
    metrics.count_rule("share")              # clean stage: a rule changed an item
    metrics.record_request("/feed", 200)     # server: one answered request
    metrics.add_image_bytes(len(body))       # server: image bytes sent to readers
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar, Token
from typing import Literal

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from proxy import __version__

__all__ = [
    "CACHE_RESULTS",
    "CONTENT_TYPE",
    "FETCH_DURATION_BUCKETS",
    "FETCH_OUTCOMES",
    "PREFIX",
    "CacheResult",
    "Counts",
    "FetchOutcome",
    "Metrics",
    "Registry",
    "activate",
    "add_image_bytes",
    "count_rule",
    "current",
    "deactivate",
    "record_cache",
    "record_fetch",
    "record_request",
    "render",
    "use",
]

PREFIX = "feedscrub_"
# The text format prometheus-client writes (generate_latest); its CONTENT_TYPE_LATEST may name
# a newer version than the bytes it writes here.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Counters only: the *_created series prometheus-client adds by default would double every
# family for a timestamp no dashboard of ours reads. (A process-wide switch of the library.)
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]

Child = Counter  # what ``Counter.labels(...)`` returns: the counter of one label set

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
_HIT = ("hit",)

# Seconds. Most feeds answer in well under a second; the top buckets sit around the default
# FEEDSCRUB_FETCH_TIMEOUT (20 s) so slow upstreams are told apart from dead ones.
FETCH_DURATION_BUCKETS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)


class Counts(Collector):
    """A counter family kept as plain numbers under a lock, shown to the registry as the
    same family a prometheus-client ``Counter`` would be (name, help, labels, values).

    For the counts taken on every request: ``inc`` is one dict update under a lock, where
    a ``Counter`` child's costs four Python calls and a lock (about 0.5 µs of a cached
    request's ~75). Label values are anything ``str`` spells as the label (a status 200).
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        labels: tuple[str, ...],
        known: Iterable[tuple[object, ...]] = (),
        lock: threading.Lock | None = None,
    ) -> None:
        self.name = name.removesuffix("_total")
        self.documentation = documentation
        self.labels = labels
        self._counts: dict[tuple[object, ...], float] = dict.fromkeys(known, 0.0)
        # ``lock``: shared with another family, so that ``Metrics.record_hit`` counts in
        # both under one acquisition.
        self._lock = lock or threading.Lock()

    def inc(self, values: tuple[object, ...], amount: float = 1.0) -> None:
        with self._lock:
            self._counts[values] = self._counts.get(values, 0.0) + amount

    def value(self, *values: object) -> float:
        """The count of one label set (0 when never counted)."""
        with self._lock:
            return self._counts.get(values, 0.0)

    def describe(self) -> list[Metric]:
        return [CounterMetricFamily(self.name, self.documentation, labels=self.labels)]

    def collect(self) -> list[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        with self._lock:
            counted = list(self._counts.items())
        for values, count in counted:
            family.add_metric([str(value) for value in values], count)
        return [family]


class Metrics:
    """Every metric feedscrub keeps, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        build = Gauge(
            PREFIX + "build_info",
            "The running feedscrub version.",
            ["version"],
            registry=self.registry,
        )
        build.labels(__version__).set(1)
        # Counted on every request: plain numbers (``Counts``), not prometheus-client's
        # Counter, whose child costs four Python calls and a lock per inc. One lock for
        # requests and cache: a hot hit counts in both (``record_hit``).
        self._lock = threading.Lock()
        self.requests = Counts(
            PREFIX + "requests_total",
            "Requests answered, by route pattern and HTTP status.",
            ("route", "status"),
            lock=self._lock,
        )
        self.registry.register(self.requests)
        self.fetches = Counter(
            PREFIX + "upstream_fetches_total",
            "Upstream requests (feeds and images), by outcome: fresh, 304, error, timeout, "
            "refused.",
            ["outcome"],
            registry=self.registry,
        )
        self.cache = Counts(
            PREFIX + "cache_total",
            "Feed cache lookups, by result: hit, miss, stale (last good copy served after an "
            "upstream failure).",
            ("result",),
            # Known label sets start at 0, so their series exist before the first event.
            known=[(result,) for result in CACHE_RESULTS],
            lock=self._lock,
        )
        self._request_counts = self.requests._counts
        self._cache_counts = self.cache._counts
        self.registry.register(self.cache)
        self.rules = Counter(
            PREFIX + "rule_hits_total",
            "Items a cleaning rule changed, by rule.",
            ["rule"],
            registry=self.registry,
        )
        self.image_bytes = Counter(
            PREFIX + "image_bytes_total",
            "Image bytes sent to readers by the image proxy.",
            registry=self.registry,
        )
        self.fetch_duration = Histogram(
            PREFIX + "fetch_duration_seconds",
            "Time from the start of an upstream request to its whole body (or its failure).",
            buckets=FETCH_DURATION_BUCKETS,
            registry=self.registry,
        )
        # The child of each label set, kept: ``labels()`` validates and joins the labels
        # under a lock on every call. Every key is bounded: rules and outcomes are names
        # from our code and config.
        self._rule_children: dict[str, Child] = {}
        # Known label sets start at 0, so their series exist before the first event.
        self._fetch_children: dict[str, Child] = {
            outcome: self.fetches.labels(outcome) for outcome in FETCH_OUTCOMES
        }

    def record_request(self, route: str, status: int) -> None:
        # Bounded: routes are patterns (not paths), statuses HTTP codes.
        self.requests.inc((route, status))

    def record_hit(self, request: tuple[str, int]) -> None:
        """A request of ``request`` = (route, status) answered from a hot copy: the request
        and the cache hit counted at once (the server's short path, server/warm.py)."""
        with self._lock:
            counts = self._request_counts
            counts[request] = counts.get(request, 0.0) + 1.0
            self._cache_counts[_HIT] += 1.0

    def record_fetch(self, outcome: FetchOutcome, seconds: float | None = None) -> None:
        """One upstream request's outcome; ``seconds`` goes into the duration histogram
        (None for requests refused before any I/O)."""
        child = self._fetch_children.get(outcome)
        if child is None:  # not one of FETCH_OUTCOMES: the library checks it
            child = self.fetches.labels(outcome)
        child.inc()
        if seconds is not None:
            self.fetch_duration.observe(max(0.0, seconds))

    def record_cache(self, result: CacheResult) -> None:
        self.cache.inc((result,))

    def count_rule(self, name: str, hits: int = 1) -> None:
        if hits > 0:
            child = self._rule_children.get(name)
            if child is None:
                child = self._rule_children.setdefault(name, self.rules.labels(name))
            child.inc(hits)

    def add_image_bytes(self, count: int) -> None:
        if count > 0:
            self.image_bytes.inc(count)

    def render(self) -> str:
        """The whole registry in the Prometheus text exposition format (version 0.0.4)."""
        return prometheus_client.generate_latest(self.registry).decode("utf-8")


Registry = Metrics  # the name earlier callers used

_DEFAULT = Metrics()
_current: ContextVar[Metrics] = ContextVar("feedscrub_metrics", default=_DEFAULT)


def current() -> Metrics:
    """The Metrics that calls in this context feed."""
    return _current.get()


@contextlib.contextmanager
def use(target: Metrics) -> Iterator[None]:
    """Make ``target`` current for this block (and tasks and threads started in it)."""
    token = _current.set(target)
    try:
        yield
    finally:
        _current.reset(token)


# ``use`` without the context manager, for the server's per-request wrapper (where the
# generator machinery cost more than the counting): ``token = activate(target)``, then
# ``deactivate(token)``. The context variable's own methods: no Python frame of ours.
activate: Callable[[Metrics], Token[Metrics]] = _current.set
deactivate: Callable[[Token[Metrics]], None] = _current.reset


def record_request(route: str, status: int) -> None:
    _current.get().requests.inc((route, status))  # Metrics.record_request, one call less


def record_fetch(outcome: FetchOutcome, seconds: float | None = None) -> None:
    _current.get().record_fetch(outcome, seconds)


def record_cache(result: CacheResult) -> None:
    _current.get().cache.inc((result,))  # Metrics.record_cache, one call less (every hit)


def count_rule(name: str, hits: int = 1) -> None:
    _current.get().count_rule(name, hits)


def add_image_bytes(count: int) -> None:
    _current.get().add_image_bytes(count)


def render() -> str:
    return _current.get().render()
