"""The cleaned-item cache (proxy/pipeline/itemcache.py) against fresh cold builds.

Differential: for every feed of tests/data/corpus and tests/data/feeds, a sequence of
refreshes (unchanged, one item changed, one added, one removed, reordered, a footer that
spreads to most items so the boilerplate decision flips, and back) is built twice, once
through a cache that lives across the sequence and once cold (no cache), each with its own
learnt memory. Every build must give the same cleaned items, the same removals and the same
served bytes, and the cache must clean only what changed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from proxy import metrics, rewrite
from proxy.clean import DEFAULT_RULESET, Ruleset, compile_ruleset
from proxy.clean.registry import make_rule
from proxy.feedconfig import FeedOptions, Replacement
from proxy.models import Cleaned, Entry, Feed
from proxy.pipeline import process
from proxy.pipeline.itemcache import ItemCache
from tests.helpers import DATA

FEEDS = sorted(
    [p for p in (DATA / "corpus").iterdir() if p.suffix in (".xml", ".json")]
    + [p for p in (DATA / "feeds").iterdir() if p.suffix == ".xml"]
    + [p for p in (DATA / "boilerplate").iterdir() if p.suffix == ".xml"]
)
SOURCE = "https://upstream.example/feed"
POLICY = rewrite.ImagePolicy(mode="proxy", public_base="https://proxy.example", key=b"k" * 32)
WHEN = datetime(2026, 1, 1, tzinfo=UTC)
# A footer no built-in rule names: only auto.boilerplate removes it, and only once it is in
# more than half of the items.
FOOTER = "<p>Thanks for reading the Example Weekly, forward it to a friend today.</p>"

Step = tuple[str, Callable[[Feed], Feed]]


def _entries(feed: Feed, entries: list[Entry]) -> Feed:
    return dataclasses.replace(feed, entries=tuple(entries))


def _edited(entry: Entry, edit: Callable[[str], str]) -> Entry:
    if entry.content:
        return dataclasses.replace(entry, content=edit(entry.content))
    return dataclasses.replace(entry, summary=edit(entry.summary or ""))


def changed(at: int) -> Callable[[Feed], Feed]:
    def step(feed: Feed) -> Feed:
        entries = list(feed.entries)
        if entries:
            k = at % len(entries)
            entries[k] = _edited(entries[k], lambda html: html + "<p>An update, added later.</p>")
        return _entries(feed, entries)

    return step


def added(feed: Feed) -> Feed:
    if not feed.entries:
        return feed
    new = dataclasses.replace(
        feed.entries[0],
        guid="new-item",
        link="https://upstream.example/new",
        title="New",
        summary="<p>A new item with its <a href='/rel'>own link</a>.</p>",
        content=None,
    )
    return _entries(feed, [new, *feed.entries])


def removed(feed: Feed) -> Feed:
    return _entries(feed, list(feed.entries[1:]))


def reordered(feed: Feed) -> Feed:
    return _entries(feed, list(reversed(feed.entries)))


def footer(share: float) -> Callable[[Feed], Feed]:
    """The footer appended to the first ``share`` of the items."""

    def step(feed: Feed) -> Feed:
        count = int(len(feed.entries) * share)
        return _entries(
            feed,
            [
                _edited(e, lambda h: h + FOOTER) if i < count else e
                for i, e in enumerate(feed.entries)
            ],
        )

    return step


def steps() -> list[Step]:
    return [
        ("cold", lambda feed: feed),
        ("unchanged", lambda feed: feed),
        ("one changed", changed(3)),
        ("another changed", changed(5)),
        ("one added", added),
        ("one removed", removed),
        ("reordered", reordered),
        ("footer in a few", footer(0.3)),
        ("footer in most", footer(0.8)),  # the boilerplate decision flips for old items
        ("footer in a few again", footer(0.3)),
        ("unchanged again", lambda feed: feed),
    ]


def feeds() -> Iterator[Any]:
    for path in FEEDS:
        yield pytest.param(path, id=f"{path.parent.name}/{path.name}")


def _parsed(path: Path) -> Feed:
    return process.parse_body(path.read_bytes(), SOURCE, "")


def _build(feed: Feed, learnt: dict[str, Any], items: ItemCache | None, ruleset: Ruleset) -> Feed:
    return process.transform(
        feed, policy=POLICY, ruleset=ruleset, feed_name=SOURCE, learnt=learnt, items=items
    )


def _same(cold: Feed, cached: Feed) -> None:
    assert [(e.summary, e.content) for e in cached.entries] == [
        (e.summary, e.content) for e in cold.entries
    ]
    assert cached == cold


@pytest.mark.parametrize("path", list(feeds()))
def test_cached_rebuilds_match_cold_builds(path: Path) -> None:
    original = _parsed(path)
    cache = ItemCache()
    cold_memory: dict[str, Any] = {}
    cached_memory: dict[str, Any] = {}
    feed = original
    for name, step in steps():
        feed = step(original if name == "cold" else feed)
        before = cache.misses
        cold = _build(feed, cold_memory, None, DEFAULT_RULESET)
        cached = _build(feed, cached_memory, cache, DEFAULT_RULESET)
        _same(cold, cached)
        if name.startswith("unchanged"):
            assert cache.misses == before, f"{name}: an unchanged feed cleaned items again"
    assert _strip_times(cached_memory) == _strip_times(cold_memory)


def _strip_times(memory: dict[str, Any]) -> Any:
    """What the feed rule learnt, without the time stamps (the two builds ran apart)."""
    return {
        field: {
            key: {item: value[1] for item, value in record["items"].items()}
            for key, record in learnt.items()
        }
        for field, learnt in memory.items()
    }


def _footer_feed(count: int, with_footer: int) -> Feed:
    entries = tuple(
        Entry(
            guid=f"g{i}",
            guid_is_permalink=False,
            link=f"https://upstream.example/{i}",
            title=f"t{i}",
            summary=f"<p>Item {i} says something of its own, number {i}.</p>" * 4
            + (FOOTER if i < with_footer else ""),
        )
        for i in range(count)
    )
    return Feed(
        kind="rss",
        source_url=SOURCE,
        title="t",
        link="https://upstream.example/",
        description=None,
        entries=entries,
    )


def test_footer_spreading_flips_cached_items() -> None:
    """An item whose HTML did not change is cleaned again when the feed's verdict on its
    footer changes; the others are reused."""
    cache = ItemCache()
    memory: dict[str, Any] = {}
    first = _build(_footer_feed(10, 3), memory, cache, DEFAULT_RULESET)
    assert all(FOOTER[3:30] in (e.summary or "") for e in first.entries[:3])
    misses = cache.misses
    spread = _build(_footer_feed(10, 8), memory, cache, DEFAULT_RULESET)
    # Five items gained the footer (new HTML) and three kept theirs but lost it now.
    assert not any(FOOTER[3:30] in (e.summary or "") for e in spread.entries)
    assert cache.misses - misses == 8
    cold = _build(_footer_feed(10, 8), {k: v for k, v in memory.items()}, None, DEFAULT_RULESET)
    assert [e.summary for e in spread.entries] == [e.summary for e in cold.entries]


def test_one_changed_item_is_the_only_one_cleaned() -> None:
    cache = ItemCache()
    memory: dict[str, Any] = {}
    feed = _parsed(DATA / "feeds" / "feedx-rfi.xml")
    _build(feed, memory, cache, DEFAULT_RULESET)
    misses, hits = cache.misses, cache.hits
    _build(changed(1)(feed), memory, cache, DEFAULT_RULESET)
    fields = sum(1 for e in feed.entries for h in (e.summary, e.content) if h)
    assert cache.misses - misses == 1
    assert cache.hits - hits == fields - 1


def test_key_covers_ruleset_policy_and_opencc() -> None:
    cache = ItemCache()
    feed = _parsed(DATA / "feeds" / "feedx-rfi.xml")
    share_only = compile_ruleset(FeedOptions(rules=("share",)), ())
    base = _build(feed, {}, cache, DEFAULT_RULESET)
    other_rules = _build(feed, {}, cache, share_only)
    assert other_rules == _build(feed, {}, None, share_only)
    assert other_rules != base
    other_key = dataclasses.replace(POLICY, key=b"j" * 32)
    resigned = process.transform(feed, policy=other_key, learnt={}, items=cache)
    assert resigned == process.transform(feed, policy=other_key, learnt={})
    converted = process.transform(feed, policy=POLICY, opencc="s2t", learnt={}, items=cache)
    assert converted == process.transform(feed, policy=POLICY, opencc="s2t", learnt={})
    assert converted != base


def test_observer_sees_every_item_with_a_warm_cache() -> None:
    """The preview page and `feedscrub explain` get every item's removals and marked tree,
    however warm the cache is."""
    cache = ItemCache()
    feed = _parsed(DATA / "feeds" / "feedx-rfi.xml")
    _build(feed, {}, cache, DEFAULT_RULESET)
    seen: list[tuple[str, int, Cleaned]] = []
    process.transform(
        feed,
        policy=POLICY,
        learnt={},
        items=cache,
        observe=lambda field, i, cleaned, _tree: seen.append((field, i, cleaned)),
    )
    fields = sum(1 for e in feed.entries for h in (e.summary, e.content) if h)
    assert len(seen) == fields
    assert all(cleaned.removals for _, _, cleaned in seen)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bounded_in_count_bytes_and_age() -> None:
    clock = Clock()
    cache = ItemCache(clock, results=25, result_bytes=10**9, summaries=25, max_age=100)
    for n in range(4):  # four feeds of ten items (their own links: their own results)
        feed = dataclasses.replace(_footer_feed(10, 0), source_url=f"{SOURCE}/{n}")
        _build(feed, {}, cache, DEFAULT_RULESET)
        assert len(cache) <= 25
    small = ItemCache(clock, result_bytes=17_000)
    for n in range(3):  # ten results of ~1.2 KB each per feed (2 bytes a character)
        feed = dataclasses.replace(_footer_feed(10, 0), source_url=f"{SOURCE}/{n}")
        _build(feed, {}, small, DEFAULT_RULESET)
    assert 10 <= len(small) < 30  # not all thirty: the bytes bound dropped the oldest
    clock.now += 101
    assert len(cache) == 0  # none lives past max_age
    misses = cache.misses
    _build(_footer_feed(10, 0), {}, cache, DEFAULT_RULESET)
    assert cache.misses - misses == 10


def test_a_feed_too_big_for_the_cache_is_not_kept() -> None:
    cache = ItemCache(results=8)  # a feed of more than half of it would only evict itself
    feed = _footer_feed(10, 0)
    assert _build(feed, {}, cache, DEFAULT_RULESET) == _build(feed, {}, None, DEFAULT_RULESET)
    assert len(cache) == 0


def test_an_item_a_rule_failed_on_is_not_kept() -> None:
    def boom(root: Any) -> None:
        """Fails on one item."""
        if "number 3" in root.text_content():
            raise RuntimeError("boom")

    ruleset = Ruleset(
        packs=DEFAULT_RULESET.packs, custom_rules=(make_rule("custom", "boom", boom, "r"),)
    )
    cache = ItemCache()
    feed = _footer_feed(6, 0)
    first = _build(feed, {}, cache, ruleset)
    assert first == _build(feed, {}, None, ruleset)
    assert "number 3" in (first.entries[3].summary or "")  # left as it came, sanitised
    misses = cache.misses
    _build(feed, {}, cache, ruleset)
    assert cache.misses - misses == 1  # the failed one is cleaned again, the others reused


CUSTOM = compile_ruleset(
    FeedOptions(
        remove=("div.feedflare", "p.wp-caption-text"),
        remove_text=("Read more",),
        replace=(Replacement(r"\bthe\b", "THE"),),
        unwrap=("font",),
    ),
    DEFAULT_RULESET.packs,
)
NO_AUTO = compile_ruleset(FeedOptions(auto_boilerplate=False), DEFAULT_RULESET.packs)
VARIANTS = [
    pytest.param(CUSTOM, POLICY, None, id="custom-rules"),
    pytest.param(NO_AUTO, POLICY, None, id="auto-off"),
    pytest.param(DEFAULT_RULESET, rewrite.ImagePolicy(mode="absolute"), "s2t", id="absolute-s2t"),
    pytest.param(
        DEFAULT_RULESET,
        rewrite.ImagePolicy(mode="template", template="https://i.example/?u={url_encoded}"),
        None,
        id="template",
    ),
]
SOME = [
    DATA / "corpus" / name
    for name in (
        "feedburner-techcrunch-feedflare.xml",
        "wordpress-codehollow-appeared-first-on.xml",
        "zh-cdt-wordpress-promo-footer.xml",
        "atom-neverworkintheory-empty-divs-relative.xml",
    )
]


@pytest.mark.parametrize(("ruleset", "policy", "opencc"), VARIANTS)
@pytest.mark.parametrize("path", SOME, ids=[p.name for p in SOME])
def test_cached_rebuilds_match_cold_builds_under_other_settings(
    path: Path, ruleset: Ruleset, policy: rewrite.ImagePolicy, opencc: str | None
) -> None:
    original = _parsed(path)
    cache = ItemCache()
    cold_memory: dict[str, Any] = {}
    cached_memory: dict[str, Any] = {}
    feed = original
    for name, step in steps():
        feed = step(original if name == "cold" else feed)

        def build(memory: dict[str, Any], items: ItemCache | None, feed: Feed = feed) -> Feed:
            return process.transform(
                feed,
                policy=policy,
                ruleset=ruleset,
                feed_name=SOURCE,
                opencc=opencc,
                learnt=memory,
                items=items,
            )

        _same(build(cold_memory, None), build(cached_memory, cache))


def _rule_hits() -> dict[str, float]:
    found = re.findall(
        r'^feedscrub_rule_hits_total\{rule="([^"]*)"\} (\S+)$', metrics.render(), re.M
    )
    return {rule: float(value) for rule, value in found}


def _hits_of(build: Callable[[], object]) -> dict[str, float]:
    before = _rule_hits()
    build()
    after = _rule_hits()
    return {
        rule: after[rule] - before.get(rule, 0)
        for rule in after
        if after[rule] != before.get(rule, 0)
    }


def test_rule_hits_are_counted_for_kept_items_too() -> None:
    """feedscrub_rule_hits_total moves by as much for a rebuild from the cache as for a cold
    build: the counter says what was removed from what readers get."""
    feed = _parsed(DATA / "feeds" / "feedx-rfi.xml")
    cache = ItemCache()
    cold = _hits_of(lambda: _build(feed, {}, None, DEFAULT_RULESET))
    assert cold.get("feedx.footer", 0) > 0
    _build(feed, {}, cache, DEFAULT_RULESET)
    hits = cache.hits
    warm = _hits_of(lambda: _build(feed, {}, cache, DEFAULT_RULESET))
    assert cache.hits > hits
    assert warm == cold


def test_what_memory_learnt_flips_items_whose_html_did_not_change() -> None:
    """The same items, byte for byte, after fetches that taught the feed's memory that the
    footer is boilerplate: the cache cleans them again, as a cold build with that memory."""

    def items(start: int, with_footer: int) -> Feed:
        feed = _footer_feed(start + 10, start + with_footer)
        return dataclasses.replace(feed, entries=feed.entries[start:])

    cache = ItemCache()
    cached_memory: dict[str, Any] = {}
    cold_memory: dict[str, Any] = {}
    fetches = [items(0, 2), items(10, 10), items(20, 10), items(0, 2)]
    outputs = []
    for feed in fetches:
        cold = _build(feed, cold_memory, None, DEFAULT_RULESET)
        outputs.append(_build(feed, cached_memory, cache, DEFAULT_RULESET))
        _same(cold, outputs[-1])
    first, last = outputs[0], outputs[-1]
    assert FOOTER[3:30] in (first.entries[0].summary or "")
    assert FOOTER[3:30] not in (last.entries[0].summary or "")  # learnt since


def test_finished_entries_are_reused_only_for_entries_alike() -> None:
    """transform keeps each finished entry (attachments, links, text) beside the cleaned
    items: an item alike in every field, with the same cleaned HTML and policy, is reused
    (with its index now); any other difference finishes it again, as a cold build does."""
    original = _parsed(DATA / "feeds" / "feedx-rfi.xml")
    dated = [i for i, e in enumerate(original.entries) if e.published is not None]
    assert len(original.entries) > 1 and dated
    cache = ItemCache()
    cold_memory: dict[str, Any] = {}
    cached_memory: dict[str, Any] = {}

    def check(feed: Feed, *, reused: int, policy: rewrite.ImagePolicy = POLICY) -> Feed:
        before = cache.reused
        cold = process.transform(feed, policy=policy, feed_name=SOURCE, learnt=cold_memory)
        cached = process.transform(
            feed, policy=policy, feed_name=SOURCE, learnt=cached_memory, items=cache
        )
        _same(cold, cached)
        assert cache.reused - before == reused
        return cached

    check(original, reused=0)
    check(original, reused=len(original.entries))
    # A new first item moves every other one: reused, with its index now.
    new = dataclasses.replace(
        original.entries[0], guid="new", link="https://upstream.example/new", title="New",
        summary="<p>New.</p>", content=None,
    )
    shifted = [new, *(dataclasses.replace(e, index=(e.index or 0) + 1) for e in original.entries)]
    check(_entries(original, [dataclasses.replace(new, index=0), *shifted[1:]]),
          reused=len(original.entries))
    # The same instant at another offset is another date as written: finished again.
    k = dated[0]
    published = original.entries[k].published
    assert published is not None
    offset = published.astimezone(timezone(timedelta(hours=8)))
    entries = list(original.entries)
    entries[k] = dataclasses.replace(entries[k], published=offset)
    cached = check(_entries(original, entries), reused=len(entries) - 1)
    assert cached.entries[k].published is not None
    assert cached.entries[k].published.utcoffset() == timedelta(hours=8)
    # Another signing key signs other image links: nothing is reused.
    other = dataclasses.replace(POLICY, key=b"o" * 32)
    check(original, reused=0, policy=other)


def test_finished_entries_in_use_outlive_their_age() -> None:
    """An item finished once and reused on every refresh stays kept (set again now and then,
    as cleaned items are); one left unused ages out."""
    feed = _parsed(DATA / "feeds" / "feedx-rfi.xml")
    now = [0.0]
    cache = ItemCache(lambda: now[0], max_age=100.0)
    memory: dict[str, Any] = {}

    def reused() -> int:
        before = cache.reused
        process.transform(feed, policy=POLICY, feed_name=SOURCE, learnt=memory, items=cache)
        return cache.reused - before

    assert reused() == 0
    for _ in range(4):  # 4 × 30 s: past the age of the first set, always in use
        now[0] += 30.0
        assert reused() == len(feed.entries)
    now[0] += 101.0
    assert reused() == 0
