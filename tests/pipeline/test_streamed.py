"""The streamed build (proxy/pipeline/streamed.py) against full builds of the same bytes.

Differential: every feed of tests/data (corpus, feeds, boilerplate) and of the shared corpus
built as the server builds it in full (parse, filters, transform with an item cache, limit=,
the public base in place, the in-place edit) and streamed, with chunks small enough that
every feed is cut into several (one item each, and ~3 KB), twice in a row with the feed's
memory (the second build decides with what the first learnt): the same bytes, with filters,
a configured limit and limit= too. A feed that can be streamed (RSS or Atom in UTF-8,
well-formed, one that splicescan reads) must be; the others decline (None) and are built in
full. Then through the real app, with the threshold forced to 0, against the full build.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from proxy import parse, rewrite, xmldoc
from proxy.errors import ProxyError
from proxy.feedconfig import FeedOptions, FieldFilter
from proxy.models import FetchResult
from proxy.pipeline import process, streamed, streamed_clean
from proxy.pipeline.itemcache import ItemCache
from proxy.pipeline.splicescan import scan
from proxy.server import PIPELINE, create_app
from tests.corpus import xml_feed_files, xml_feed_params
from tests.helpers import DATA
from tests.upstream import Upstream

SOURCE = "https://upstream.example/feed"
PLACEHOLDER = "https://0123456789abcdef01234567.feedscrub.invalid"
PUBLIC = "https://proxy.example"
POLICY = rewrite.ImagePolicy(mode="proxy", public_base=PLACEHOLDER, key=b"k" * 32)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
FOOTER = "<p>Thanks for reading the Example Weekly, forward it to a friend today.</p>"
SEED = (DATA / "seed" / "feedx-rfi-item.html").read_text(encoding="utf-8")


def _recipe(
    fmt: str, options: FeedOptions = process.NO_OPTIONS, limit: int | None = None
) -> process.Recipe:
    return process.Recipe(
        fmt=fmt,
        policy=POLICY,
        self_url=PUBLIC + "/feed?url=x",
        options=options,
        limit=limit,
        feed_name=SOURCE,
    )


def _full(body: bytes, recipe: process.Recipe, learnt: dict[str, Any]) -> bytes:
    """What service.Pipeline builds in full (_clean_build, then _render)."""
    feed = parse.parse(FetchResult(url=SOURCE, status=200, body=body, content_type=""))
    selected = process.select(feed, dataclasses.replace(recipe, limit=None), NOW)
    cleaned = process.transform(
        selected,
        policy=POLICY,
        ruleset=recipe.ruleset,
        feed_name=recipe.feed_name,
        opencc=recipe.opencc,
        learnt=learnt,
        items=ItemCache(),
    )
    original, cleaned = process.cut(selected, cleaned, recipe.limit)
    cleaned = process.rebase(cleaned, PLACEHOLDER, PUBLIC)
    return process.build_cleaned(original, cleaned, recipe, fallback_date=NOW, body=body)


def _streamed(body: bytes, recipe: process.Recipe, learnt: dict[str, Any]) -> bytes | None:
    plan = streamed.Plan(recipe, POLICY, PLACEHOLDER, PUBLIC, NOW)
    return streamed.build(body, SOURCE, "", plan, learnt)


def _streamable(body: bytes) -> bool:
    """RSS 2.0 or Atom in UTF-8, well-formed, read by splicescan: what must stream."""
    layout = scan(body)
    if layout is None or not layout.items:
        return False
    feed = parse.parse(FetchResult(url=SOURCE, status=200, body=body, content_type=""))
    document = xmldoc.load(body, feed.encoding)
    return (
        (feed.encoding or "").lower() == "utf-8"
        and document is not None
        and document.strict
        and len(document.items) == len(feed.entries)
    )


def _items_in(body: bytes) -> int:
    layout = scan(body)
    assert layout is not None
    return len(layout.items)


def _both(body: bytes, recipe: process.Recipe) -> tuple[list[bytes], list[bytes | None]]:
    full_memory: dict[str, Any] = {}
    streamed_memory: dict[str, Any] = {}
    full = [_full(body, recipe, full_memory) for _ in range(2)]
    made = [_streamed(body, recipe, streamed_memory) for _ in range(2)]
    if made[0] is not None:
        # It learnt what a full build learns (but the clock's time stamps).
        assert _timeless(streamed_memory) == _timeless(full_memory)
    return full, made


def _timeless(value: Any) -> Any:
    if isinstance(value, float):
        return 0.0
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_timeless(v) for v in value]
    return value


OPTIONS = {
    "plain": (FeedOptions(), None),
    "filtered": (
        FeedOptions(exclude=(FieldFilter("title", "[aeiou]{2}"),), max_age=400 * 86400),
        None,
    ),
    "limits": (FeedOptions(limit=5), 3),
    "limit=": (FeedOptions(), 2),
}


# (chunk bytes, the option sets): one item per chunk for all; ~3 KB chunks for the two
# passes (limits) and the guessing pass (none), with the early items few enough that later
# chunks are guessed from them.
RUNS = [(1, tuple(OPTIONS)), (3000, ("plain", "limit="))]


@pytest.mark.parametrize("path", list(xml_feed_params()))
@pytest.mark.parametrize("chunk, names", RUNS, ids=[str(chunk) for chunk, _ in RUNS])
def test_a_feed_streamed_is_served_byte_for_byte_as_built_in_full(
    path: Path, chunk: int, names: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = path.read_bytes()
    try:
        kind = parse.parse(FetchResult(url=SOURCE, status=200, body=body, content_type="")).kind
    except ProxyError as exc:
        pytest.skip(f"not a feed to parse: {exc}")
    monkeypatch.setattr(streamed, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(streamed_clean, "EARLY_CHARS", 4000)
    must = _streamable(body)
    for name in names:
        options, limit = OPTIONS[name]
        full, made = _both(body, _recipe(kind, options, limit))
        if must and made == [None, None] and _items_in(full[0]) == 0:
            continue  # every item filtered out: declined (built in full, from no item)
        if must:
            assert made == full, name
        else:
            assert made == [None, None], name


def test_most_feeds_stream() -> None:
    # The differential compares something: most test feeds are RSS/Atom in UTF-8 (35 of
    # tests/data's 47; the shared corpus adds only files tests/data/corpus has no copy of).
    files = xml_feed_files()
    streamable = [p for p in files if _streamable(p.read_bytes())]
    assert len(streamable) >= 30
    assert len(streamable) * 3 >= len(files) * 2


def _seed_feed(items: int, footer_in: int = 0) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>t']
    parts.append("</title><link>https://bench.test/</link><description>d</description>\n")
    for i in range(items):
        html = SEED.replace("布林肯", f"布林肯{i}") + (FOOTER if i < footer_in else "")
        day = 1 + i % 28
        parts.append(
            f"  <item><title>item {i}</title><link>https://bench.test/{i}</link>"
            f'<guid isPermaLink="false">bench-{i}</guid>'
            f"<pubDate>Sun, {day:02d} Jun 2025 10:00:00 GMT</pubDate>"
            f'<enclosure url="https://bench.test/{i}.mp3" length="1" type="audio/mpeg"/>'
            f"<description><![CDATA[{html}]]></description></item>\n"
        )
    parts.append("</channel></rss>\n")
    return "".join(parts).encode("utf-8")


def test_boilerplate_is_decided_over_every_item_not_per_chunk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The footer is in 30 of 40 items: boilerplate over the feed, in no single-item chunk.
    body = _seed_feed(40, footer_in=30)
    monkeypatch.setattr(streamed, "CHUNK_BYTES", 1)
    recipe = _recipe("rss")
    made = _streamed(body, recipe, {})
    assert made is not None
    assert made == _full(body, recipe, {})
    assert b"Example Weekly" not in made
    served = parse.parse(FetchResult(url=SOURCE, status=200, body=made, content_type=""))
    assert len(served.entries) == 40  # no item lost, with its date and its enclosure
    assert all(e.published is not None and len(e.enclosures) == 1 for e in served.entries)


def test_chunks_guessed_wrong_are_made_again_with_the_decision_over_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The footer only from item 10 on: the first items' guess says it is no boilerplate,
    # the decision over all 40 (30 have it) says it is.
    body = _seed_feed(40, footer_in=40).replace(FOOTER.encode(), b"", 10)
    monkeypatch.setattr(streamed, "CHUNK_BYTES", 1)
    # Guessed beside the first 12 items: two of them have the footer.
    monkeypatch.setattr(streamed_clean, "EARLY_CHARS", 12 * len(SEED))
    again: list[list[int]] = []
    rendered = streamed._Build._rendered

    def counting(self: Any, positions: list[int]) -> bytes:
        again.append(positions)
        return rendered(self, positions)

    monkeypatch.setattr(streamed._Build, "_rendered", counting)
    recipe = _recipe("rss")
    made = _streamed(body, recipe, {})
    assert made == _full(body, recipe, {})
    assert b"Example Weekly" not in made
    assert again  # some chunks were made again, not served on a wrong guess
    assert len(again) < 40  # and those guessed right (no footer, guessed alike) were not


def _first_item_removed(body: bytes, space: bytes) -> bytes:
    return re.sub(rb"\n  <item>", space + b"<item>", body)


@pytest.mark.parametrize("space", [b"\n  ", b"", b"\r\n\t"])
def test_whitespace_around_removed_items_is_as_in_full(
    space: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Items 0, 2, 3 and the last filtered out: their tails go, or move to the previous one.
    body = _first_item_removed(_seed_feed(8), space)
    monkeypatch.setattr(streamed, "CHUNK_BYTES", 1)
    exclude = (FieldFilter("title", r"^item [0237]$"),)
    recipe = _recipe("rss", FeedOptions(exclude=exclude))
    made = _streamed(body, recipe, {})
    if space == b"":
        # The head's last element has no tail and item 0 goes: declined, not guessed.
        assert made is None
    else:
        assert made == _full(body, recipe, {})


@pytest.mark.parametrize(
    "why, body",
    [
        ("a DOCTYPE", b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "b">]>'),
        ("another charset", b'<?xml version="1.0" encoding="ISO-8859-1"?>'),
        ("repaired by lxml", b'<?xml version="1.0"?>'),
    ],
)
def test_feeds_it_cannot_promise_are_declined(why: str, body: bytes) -> None:
    text = '<rss version="2.0"><channel><title>t</title><link>https://e.test/</link>'
    item = (
        "<item><title>{}</title><link>https://e.test/{}</link><description>x</description></item>"
    )
    items = [item.format(f"item {i}", i) for i in range(4)]
    if why == "repaired by lxml":
        items[2] = items[2].replace("x</description>", "fish & chips</description>")
    whole = body + (text + "".join(items) + "</channel></rss>").encode("latin-1")
    assert _streamed(whole, _recipe("rss"), {}) is None, why


def test_a_nested_item_or_a_prefix_bound_twice_is_declined() -> None:
    head = b'<rss version="2.0"><channel><title>t</title><link>https://e.test/</link>'
    nested = head + b"<item><title>a</title><item><title>b</title></item></item></channel></rss>"
    twice = (
        head
        + b'<item xmlns:x="urn:a"><title>a</title><x:n>1</x:n></item>'
        + b'<item xmlns:x="urn:b"><title>b</title><x:n>2</x:n></item></channel></rss>'
    )
    assert _streamed(nested, _recipe("rss"), {}) is None
    assert _streamed(twice, _recipe("rss"), {}) is None


def test_a_small_body_is_probed_no_further() -> None:
    body = _seed_feed(3)
    assert streamed.probe(FetchResult(SOURCE, 200, body, "")) is None


# -- through the app ------------------------------------------------------------------------

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def make_client(aiohttp_client: AiohttpClient, make_settings: Any) -> MakeClient:
    async def build(**changes: Any) -> TestClient[Any, Any]:
        return await aiohttp_client(create_app(make_settings(**changes)))

    return build


async def _served(client: TestClient[Any, Any], url: str, **params: str) -> bytes:
    response = await client.get("/feed", params={"url": url, **params})
    body = await response.read()
    assert response.status == 200, body
    return body


@pytest.mark.parametrize(
    "name",
    [
        "boilerplate/zh-geekpark-mso-word-styles.xml",
        "feeds/feedx-rfi.xml",
        "corpus/blogger-atom-nested-spans-post-footer-ad.xml",
    ],
)
async def test_the_app_streams_a_big_feed_and_serves_what_it_serves_in_full(
    name: str,
    upstream: Upstream,
    make_client: MakeClient,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    body = (DATA / name).read_bytes()
    url = upstream.route("/feed.xml", body)
    full = await make_client(cache_dir=str(tmp_path / "full"))
    expected = [await _served(full, url), await _served(full, url, limit="2")]
    monkeypatch.setattr(streamed, "STREAM_BYTES", 0)
    monkeypatch.setattr(streamed, "CHUNK_BYTES", 1)
    built: list[bool] = []
    build = streamed.build

    def counting(*args: Any, **kwargs: Any) -> bytes | None:
        made = build(*args, **kwargs)
        built.append(made is not None)
        return made

    monkeypatch.setattr(streamed, "build", counting)
    client = await make_client(cache_dir=str(tmp_path / "streamed"))
    assert [await _served(client, url), await _served(client, url, limit="2")] == expected
    assert built == [True, True]  # both streamed, none declined
    stored = await client.app[PIPELINE].cache.get_memory(url)
    assert stored is not None  # what feed rules learnt is saved, as a full build saves it


async def test_a_conversion_of_a_big_feed_builds_in_full(
    upstream: Upstream, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    body = (DATA / "feeds" / "feedx-rfi.xml").read_bytes()
    url = upstream.route("/feed.xml", body)
    full = await make_client(cache_dir=str(tmp_path / "full"))
    expected = await _served(full, url, format="atom")
    monkeypatch.setattr(streamed, "STREAM_BYTES", 0)
    client = await make_client(cache_dir=str(tmp_path / "streamed"))
    # Probed on arrival (not parsed whole), then parsed in full for the conversion.
    assert await _served(client, url, format="atom") == expected


def test_a_bug_in_the_streamed_build_falls_back_to_the_full_build(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: Any) -> bytes:
        raise RuntimeError("a bug")

    monkeypatch.setattr(streamed._Build, "run", broken)
    assert _streamed(_seed_feed(3), _recipe("rss"), {}) is None  # None: the caller builds
    assert "built in full" in caplog.text
