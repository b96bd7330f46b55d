"""/metrics: the Prometheus text format (prometheus-client), and counters that move.

Each app has its own registry, so two apps in one test count apart.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from proxy import __version__, metrics
from proxy.metrics import Registry
from proxy.server import create_app
from tests.helpers import DATA, img_paths, move_clock, read_feed, seed_feed
from tests.upstream import Upstream

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
KEY = "metrics-key-0123456789abcdef"

_SAMPLE = re.compile(r"(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def parse_metrics(text: str) -> Samples:
    """A small parser for the text format: # HELP / # TYPE lines, then `name{labels} value`.

    Fails on anything else, so the test proves the output is well-formed, not just present.
    """
    assert text.endswith("\n")
    samples: Samples = {}
    typed: dict[str, str] = {}
    for line in text.splitlines():
        assert line, "no blank lines"
        if line.startswith("# HELP "):
            name, _, help_text = line[len("# HELP ") :].partition(" ")
            assert name.startswith("feedscrub_") and help_text, line
            continue
        if line.startswith("# TYPE "):
            name, kind = line[len("# TYPE ") :].split(" ")
            assert kind in ("counter", "gauge", "histogram"), line
            assert name not in typed, f"{name} typed twice"
            typed[name] = kind
            continue
        assert not line.startswith("#"), line
        match = _SAMPLE.fullmatch(line)
        assert match, f"not `name{{labels}} value`: {line!r}"
        name = match["name"]
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in typed else name
        assert family in typed, f"{name} has no # TYPE line before it"
        assert name.startswith("feedscrub_")
        labels: dict[str, str] = {}
        raw = match["labels"] or ""
        position = 0
        while position < len(raw):
            label = _LABEL.match(raw, position)
            assert label, f"bad labels in {line!r}"
            labels[label[1]] = re.sub(r"\\[\\\"n]", lambda m: _UNESCAPE[m[0]], label[2])
            position = label.end()
        value = float(match["value"])  # "+Inf" and "NaN" parse as floats too
        key = (name, frozenset(labels.items()))
        assert key not in samples, f"duplicate sample {line!r}"
        samples[key] = value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def make_client(aiohttp_client: AiohttpClient, make_settings: Any) -> MakeClient:
    async def build(**changes: Any) -> TestClient[Any, Any]:
        return await aiohttp_client(create_app(make_settings(**changes)))

    return build


async def scrape(client: TestClient[Any, Any], **params: str) -> Samples:
    response = await client.get("/metrics", params=params)
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse_metrics(await response.text())


# --- the registry on its own ------------------------------------------------------------------


def test_empty_registry_is_valid_and_lists_known_series() -> None:
    samples = parse_metrics(Registry().render())
    for outcome in metrics.FETCH_OUTCOMES:
        assert ("feedscrub_upstream_fetches_total", frozenset({("outcome", outcome)})) in samples
    for result in metrics.CACHE_RESULTS:
        assert ("feedscrub_cache_total", frozenset({("result", result)})) in samples
    assert value(samples, "feedscrub_image_bytes_total") == 0
    assert value(samples, "feedscrub_fetch_duration_seconds_count") == 0
    assert value(samples, "feedscrub_fetch_duration_seconds_bucket", le="+Inf") == 0
    assert samples[("feedscrub_build_info", frozenset({("version", __version__)}))] == 1


def test_every_api_call_moves_its_series() -> None:
    registry = Registry()
    registry.record_request("/feeds/{name}", 200)
    registry.record_request("/feeds/{name}", 200)
    registry.record_request("unmatched", 404)
    registry.record_fetch("fresh", 0.07)
    registry.record_fetch("timeout", 25.0)
    registry.record_fetch("refused")  # no I/O: counted, not timed
    registry.record_cache("hit")
    registry.record_cache("stale")
    registry.count_rule("share")
    registry.count_rule("share", 2)
    registry.count_rule("share", 0)
    registry.add_image_bytes(1234)
    registry.add_image_bytes(0)
    samples = parse_metrics(registry.render())
    assert value(samples, "feedscrub_requests_total", route="/feeds/{name}", status="200") == 2
    assert value(samples, "feedscrub_requests_total", route="unmatched", status="404") == 1
    assert value(samples, "feedscrub_upstream_fetches_total", outcome="fresh") == 1
    assert value(samples, "feedscrub_upstream_fetches_total", outcome="refused") == 1
    assert value(samples, "feedscrub_cache_total", result="hit") == 1
    assert value(samples, "feedscrub_cache_total", result="stale") == 1
    assert value(samples, "feedscrub_cache_total", result="miss") == 0
    assert value(samples, "feedscrub_rule_hits_total", rule="share") == 3
    assert value(samples, "feedscrub_image_bytes_total") == 1234
    # Histogram: cumulative buckets, +Inf equals the count, the sum adds up.
    assert value(samples, "feedscrub_fetch_duration_seconds_count") == 2
    assert value(samples, "feedscrub_fetch_duration_seconds_bucket", le="0.05") == 0
    assert value(samples, "feedscrub_fetch_duration_seconds_bucket", le="0.1") == 1
    assert value(samples, "feedscrub_fetch_duration_seconds_bucket", le="20.0") == 1
    assert value(samples, "feedscrub_fetch_duration_seconds_bucket", le="30.0") == 2
    assert value(samples, "feedscrub_fetch_duration_seconds_bucket", le="+Inf") == 2
    assert math.isclose(value(samples, "feedscrub_fetch_duration_seconds_sum"), 25.07)
    buckets = sorted(
        (float(dict(labels)["le"]), count)
        for (name, labels), count in samples.items()
        if name == "feedscrub_fetch_duration_seconds_bucket"
    )
    assert [count for _, count in buckets] == sorted(count for _, count in buckets)


def test_label_values_are_escaped() -> None:
    registry = Registry()
    registry.count_rule('remove[0] "a\\b"\nnext')
    samples = parse_metrics(registry.render())
    assert value(samples, "feedscrub_rule_hits_total", rule='remove[0] "a\\b"\nnext') == 1


def _in_eight_threads(work: Callable[[], None]) -> None:
    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_counters_are_exact_under_threads() -> None:
    registry = Registry()

    def work() -> None:
        for _ in range(5000):
            registry.count_rule("spans")
            registry.record_fetch("fresh", 0.01)

    _in_eight_threads(work)
    samples = parse_metrics(registry.render())
    assert value(samples, "feedscrub_rule_hits_total", rule="spans") == 40000
    assert value(samples, "feedscrub_upstream_fetches_total", outcome="fresh") == 40000
    assert value(samples, "feedscrub_fetch_duration_seconds_count") == 40000


def test_module_api_feeds_the_current_registry() -> None:
    mine, other = Registry(), Registry()
    with metrics.use(mine):
        metrics.count_rule("test-only-rule")
        metrics.record_cache("miss")
        assert metrics.current() is mine
    assert metrics.current() is not mine
    samples = parse_metrics(mine.render())
    assert value(samples, "feedscrub_rule_hits_total", rule="test-only-rule") == 1
    assert value(samples, "feedscrub_cache_total", result="miss") == 1
    untouched = parse_metrics(other.render())
    assert value(untouched, "feedscrub_rule_hits_total", rule="test-only-rule") == 0


async def test_two_apps_count_apart(upstream: Upstream, make_client: MakeClient) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    first, second = await make_client(), await make_client()
    assert (await first.get("/feed", params={"url": url})).status == 200
    one, two = await scrape(first), await scrape(second)
    assert value(one, "feedscrub_upstream_fetches_total", outcome="fresh") == 1
    assert value(two, "feedscrub_upstream_fetches_total", outcome="fresh") == 0
    assert value(two, "feedscrub_requests_total", route="/feed", status="200") == 0


def test_metrics_module_needs_no_aiohttp() -> None:
    source = (DATA.parent.parent / "proxy" / "metrics.py").read_text(encoding="utf-8")
    assert "aiohttp" not in re.sub(r'""".*?"""', "", source, flags=re.S)


# --- served by the app ------------------------------------------------------------------------


async def test_requests_and_fetches_are_counted(
    upstream: Upstream, make_client: MakeClient
) -> None:
    png = (DATA / "images" / "red.png").read_bytes()
    upstream.route("/seed.jpg", png, content_type="image/png")
    url = upstream.route("/rfi.xml", seed_feed(image_base=upstream.base_url), validators=True)
    gone = upstream.route("/gone.xml", b"gone", status=410, content_type="text/plain")
    client = await make_client(ttl=60, stale_while_revalidate=0)
    before = await scrape(client)

    response = await client.get("/feed", params={"url": url})  # fresh
    path = img_paths(read_feed(await response.read()).entries[0].description)[0]
    move_clock(client, 61)
    assert (await client.get("/feed", params={"url": url})).status == 200  # revalidated: 304
    assert (await client.get("/feed", params={"url": gone})).status == 502  # error
    image = await client.get(path)  # fresh (an image fetch)
    assert await image.read() == png
    assert (await client.get("/nope")).status == 404
    assert (await client.get("/feeds/nope")).status == 404

    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("feedscrub_requests_total", route="/feed", status="200") == 2
    assert delta("feedscrub_requests_total", route="/feed", status="502") == 1
    assert delta("feedscrub_requests_total", route="/img/{signature}/{encoded}", status="200") == 1
    assert delta("feedscrub_requests_total", route="unmatched", status="404") == 1
    assert delta("feedscrub_requests_total", route="/feeds/{name}", status="404") == 1
    assert delta("feedscrub_requests_total", route="/metrics", status="200") == 1  # `before`
    assert delta("feedscrub_upstream_fetches_total", outcome="fresh") == 2
    assert delta("feedscrub_upstream_fetches_total", outcome="304") == 1
    assert delta("feedscrub_upstream_fetches_total", outcome="error") == 1
    assert delta("feedscrub_fetch_duration_seconds_count") == 4
    assert delta("feedscrub_fetch_duration_seconds_bucket", le="+Inf") == 4
    assert delta("feedscrub_image_bytes_total") == len(png)


async def test_timeouts_and_refusals_are_counted(
    upstream: Upstream, make_client: MakeClient
) -> None:
    slow = upstream.route("/slow.xml", seed_feed(), delay=2)
    client = await make_client(fetch_timeout=0.2, deny_hosts="127.0.0.2")
    strict = await make_client(allow_private=False)
    before = await scrape(client)
    assert (await client.get("/feed", params={"url": slow})).status == 504
    denied = slow.replace("127.0.0.1", "127.0.0.2")
    assert (await client.get("/feed", params={"url": denied})).status == 403
    assert (await strict.get("/feed", params={"url": "http://10.0.0.1/feed"})).status == 403
    after = await scrape(client)
    fetches = "feedscrub_upstream_fetches_total"
    assert value(after, fetches, outcome="timeout") - value(before, fetches, outcome="timeout") == 1
    assert value(after, fetches, outcome="refused") - value(before, fetches, outcome="refused") == 1
    assert value(await scrape(strict), fetches, outcome="refused") == 1
    assert upstream.hits["/slow.xml"] == 1  # the refused ones never reached it


async def test_metrics_are_open_by_default(make_client: MakeClient) -> None:
    client = await make_client(access_key=KEY)
    assert (await client.get("/metrics")).status == 200


async def test_protected_metrics_need_the_key(make_client: MakeClient) -> None:
    client = await make_client(access_key=KEY, protect_metrics=True)
    for params, headers in (({}, {}), ({"key": "nope"}, {}), ({}, {"Authorization": "Bearer no"})):
        response = await client.get("/metrics", params=params, headers=headers)
        assert response.status == 401
        assert "WWW-Authenticate" not in response.headers
        assert (await response.text()).count("\n") == 1
    await scrape(client, key=KEY)
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {KEY}"})
    assert response.status == 200
    parse_metrics(await response.text())


async def test_metrics_can_be_turned_off(make_client: MakeClient) -> None:
    client = await make_client(metrics=False)
    assert (await client.get("/metrics")).status == 404


def test_counts_render_as_a_prometheus_counter_would() -> None:
    """requests and cache are ``metrics.Counts`` (cheaper per request): the same text as
    prometheus-client's own Counter with the same counts."""
    from prometheus_client import CollectorRegistry, Counter, generate_latest

    ours, theirs = CollectorRegistry(auto_describe=False), CollectorRegistry(auto_describe=False)
    counts = metrics.Counts("feedscrub_x_total", 'Help "quoted" \\ text.', ("route", "status"))
    ours.register(counts)
    counter = Counter(
        "feedscrub_x_total", 'Help "quoted" \\ text.', ["route", "status"], registry=theirs
    )
    for route, status, times in (("/feed", 200, 3), ('odd "r"\\\n', 404, 1), ("/feed", 304, 2)):
        for _ in range(times):
            counts.inc((route, status))
            counter.labels(route, str(status)).inc()
    assert generate_latest(ours) == generate_latest(theirs)
    assert counts.value("/feed", 200) == 3


def test_request_counts_are_exact_under_threads() -> None:
    registry = Registry()

    def work() -> None:
        for _ in range(5000):
            registry.record_request("/feed", 200)
            registry.record_cache("hit")

    _in_eight_threads(work)
    samples = parse_metrics(registry.render())
    assert value(samples, "feedscrub_requests_total", route="/feed", status="200") == 40000
    assert value(samples, "feedscrub_cache_total", result="hit") == 40000
