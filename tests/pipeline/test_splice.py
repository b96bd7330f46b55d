"""The splice path (proxy/pipeline/splice.py) against full builds of the same bytes.

Differential: every feed of tests/data (corpus, feeds, boilerplate) and of the shared corpus
goes through a random sequence of upstream edits made on its bytes (an item changed, one
added, one removed, the items reordered, the head changed, a namespace declared on an item,
an item's date dropped, a footer that spreads to most items so the boilerplate decision
flips), each body built twice: in full (parse, transform, in-place edit; its own item cache
and learnt memory) and through a Splicer that lives across the sequence. Both must give the
same parsed Feed and the same served bytes, with filters and limit= too; and the splice must
actually be taken where nothing calls for declining.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from proxy import parse, rewrite
from proxy.clean import DEFAULT_RULESET
from proxy.errors import NotAFeed
from proxy.feedconfig import FeedOptions, FieldFilter
from proxy.models import Feed, FetchResult
from proxy.pipeline import process
from proxy.pipeline.itemcache import ItemCache
from proxy.pipeline.splice import Splicer
from proxy.pipeline.splicescan import scan
from tests.corpus import xml_feed_files, xml_feed_params
from tests.helpers import DATA

SOURCE = "https://upstream.example/feed"
SELF = "https://proxy.example/feed?url=x"
POLICY = rewrite.ImagePolicy(mode="proxy", public_base="https://proxy.example", key=b"k" * 32)
WHEN = datetime(2026, 1, 1, tzinfo=UTC)
FOOTER = "<p>Thanks for reading the Example Weekly, forward it to a friend today.</p>"
KEY = "output"
# As the server keeps cleaned feeds: image links on a placeholder base, the public one put
# in place per output (process.rebase; the splice rebases only the items it renders).
PLACEHOLDER = "https://0123456789abcdef01234567.feedscrub.invalid"


Edit = Callable[[bytes, random.Random], bytes]


def _items(body: bytes) -> list[tuple[int, int]] | None:
    layout = scan(body)
    return list(layout.items) if layout is not None and layout.items else None


def _item_edit(edit: Callable[[bytes], bytes]) -> Edit:
    def step(body: bytes, rng: random.Random) -> bytes:
        items = _items(body)
        if not items:
            return body
        start, end = items[rng.randrange(len(items))]
        return body[:start] + edit(body[start:end]) + body[end:]

    return step


def _retitled(item: bytes) -> bytes:
    # A changed title (an edit upstream), else a category added before the end tag.
    if b"</title>" in item:
        return item.replace(b"</title>", b" (updated)</title>", 1)
    close = item.rindex(b"</")
    return item[:close] + b"<category>updated</category>" + item[close:]


def _footed(item: bytes) -> bytes:
    for field in (b"description", b"content:encoded", b"content", b"summary"):
        cdata = b"]]></" + field + b">"
        if cdata in item:
            return item.replace(cdata, FOOTER.encode() + cdata, 1)
        closing = b"</" + field + b">"
        if closing in item:
            escaped = FOOTER.replace("<", "&lt;").replace(">", "&gt;").encode()
            return item.replace(closing, escaped + closing, 1)
    return item


def _undated(item: bytes) -> bytes:
    return re.sub(rb"<(pubDate|published|updated|dc:date)>[^<]*</\1>", b"", item)


def _namespaced(uri: bytes) -> Callable[[bytes], bytes]:
    """A namespace declared on the item and used inside it (x:note), as WordPress.com and
    Blogger do; two of them with two URIs for one prefix make the splice decline."""

    def edit(item: bytes) -> bytes:
        name = item[1 : re.search(rb"[\s>/]", item[1:]).start() + 1]  # type: ignore[union-attr]
        close = item.rindex(b"</")
        item = item[:close] + b"<x:note>n</x:note>" + item[close:]
        return b"<" + name + b' xmlns:x="' + uri + b'"' + item[1 + len(name) :]

    return edit


def _added(body: bytes, rng: random.Random) -> bytes:
    items = _items(body)
    if not items:
        return body
    start, end = items[rng.randrange(len(items))]
    copy = _retitled(body[start:end])
    copy = re.sub(rb"(<(?:guid|id)[^>]*>)", rb"\1new-", copy, count=1)
    first = items[0][0]
    return body[:first] + copy + body[first:]


def _removed(body: bytes, rng: random.Random) -> bytes:
    items = _items(body)
    if not items or len(items) < 2:
        return body
    start, end = items[rng.randrange(len(items))]
    return body[:start] + body[end:]


def _reordered(body: bytes, rng: random.Random) -> bytes:
    items = _items(body)
    if not items:
        return body
    raws = [body[s:e] for s, e in items]
    rng.shuffle(raws)
    parts = [body[: items[0][0]]]
    for k, (_, end) in enumerate(items):
        parts.append(raws[k])
        parts.append(body[end : items[k + 1][0] if k + 1 < len(items) else len(body)])
    return b"".join(parts)


def _head(body: bytes, rng: random.Random) -> bytes:
    items = _items(body)
    if not items:
        return body
    stamp = f"Mon, 0{rng.randrange(1, 9)} Jun 2026 10:00:00 GMT".encode()
    first = items[0][0]
    if re.search(rb"<rss", body[:first]):
        element = b"<lastBuildDate>" + stamp + b"</lastBuildDate>"
    else:
        element = b"<!-- built " + stamp + b" -->"
    return body[:first] + element + body[first:]


def _footer_in(share: float) -> Edit:
    """The footer in the first ``share`` of the items (those that have it keep their bytes:
    once most items have it, the boilerplate decision flips for them too)."""

    def step(body: bytes, rng: random.Random) -> bytes:
        items = _items(body)
        if not items:
            return body
        parts = [body[: items[0][0]]]
        for k, (start, end) in enumerate(items):
            raw = body[start:end]
            if k < share * len(items) and FOOTER.encode() not in raw and b"Weekly," not in raw:
                raw = _footed(raw)
            parts.append(raw)
            parts.append(body[end : items[k + 1][0] if k + 1 < len(items) else len(body)])
        return b"".join(parts)

    return step


EDITS: dict[str, Edit] = {
    "same": lambda body, rng: body,
    "changed": _item_edit(_retitled),
    "added": _added,
    "removed": _removed,
    "reordered": _reordered,
    "head": _head,
    "undated": _item_edit(_undated),
    "footer": _item_edit(_footed),
    "footer in a few": _footer_in(0.3),
    "footer in most": _footer_in(1.0),
    "namespaced": _item_edit(_namespaced(b"urn:x")),
    "namespaced apart": _item_edit(_namespaced(b"urn:y")),
}


class _Builder:
    """One way of building a body into served bytes (in full, or through a Splicer)."""

    def __init__(
        self,
        splicer: Splicer | None,
        options: FeedOptions,
        limit: int | None,
        rebased: bool = False,
    ) -> None:
        self.splicer = splicer
        self.rebased = rebased
        self.items = ItemCache()
        self.learnt: dict[str, Any] = {}
        self.recipe = process.Recipe(
            fmt="", policy=POLICY, self_url=SELF, options=options, limit=None, feed_name=SOURCE
        )
        self.limit = limit

    def parse(self, body: bytes) -> Feed:
        result = FetchResult(url=SOURCE, status=200, body=body, content_type="")
        if self.splicer is not None:
            feed = self.splicer.parse(SOURCE, result)
            if feed is not None:
                return feed
        if self.splicer is not None:
            return self.splicer.parsed(SOURCE, result)
        return parse.parse(result)

    def build(self, body: bytes) -> tuple[Feed, bytes]:
        feed = self.parse(body)
        recipe = dataclasses.replace(self.recipe, fmt=feed.kind)
        selected = process.select(feed, recipe, WHEN)
        policy = dataclasses.replace(POLICY, public_base=PLACEHOLDER) if self.rebased else POLICY
        cleaned = process.transform(
            selected,
            policy=policy,
            ruleset=DEFAULT_RULESET,
            feed_name=SOURCE,
            learnt=self.learnt,
            items=self.items,
        )
        original, cleaned = process.cut(selected, cleaned, self.limit)

        def rebase(feed: Feed) -> Feed:
            return process.rebase(feed, PLACEHOLDER, POLICY.public_base)

        out = None
        if self.splicer is not None:
            out = self.splicer.render(
                KEY, body, original, cleaned, SELF, rebase if self.rebased else None
            )
        if out is None:
            placed = rebase(cleaned) if self.rebased else cleaned
            out = process.build_cleaned(original, placed, recipe, fallback_date=WHEN, body=body)
            if self.splicer is not None:
                self.splicer.remember(KEY, body, original, cleaned, out)
        return feed, out


def _run(
    path: Path, options: FeedOptions, limit: int | None, seed: int, rebased: bool = False
) -> Splicer:
    body = path.read_bytes()
    try:
        parse.parse(FetchResult(url=SOURCE, status=200, body=body, content_type=""))
    except NotAFeed:
        # tests/data also holds HTML pages and broken bodies; test_parse covers their errors.
        pytest.skip(f"{path.name} is not a feed parse reads (tested in test_parse)")
    rng = random.Random(seed)
    names = list(EDITS)
    sequence = ["same", "same", "changed", "head", "changed", "namespaced", "changed"]
    sequence += ["namespaced apart", "changed"]
    sequence += [rng.choice(names) for _ in range(6)]
    sequence += ["footer in a few", "footer in most", "same", "changed"]
    splicer = Splicer()
    full = _Builder(None, options, limit, rebased)
    spliced = _Builder(splicer, options, limit, rebased)
    for name in sequence:
        body = EDITS[name](body, rng)
        full_feed, full_out = full.build(body)
        splice_feed, splice_out = spliced.build(body)
        assert splice_feed == full_feed, f"{path.name} after {name}: parsed feeds differ"
        assert splice_out == full_out, f"{path.name} after {name}: served bytes differ"
        assert PLACEHOLDER.encode() not in splice_out, f"{path.name} after {name}: not rebased"
    return splicer


@pytest.mark.parametrize("path", list(xml_feed_params()))
def test_spliced_refreshes_serve_what_full_builds_serve(path: Path) -> None:
    _run(path, FeedOptions(), None, seed=len(path.name))


@pytest.mark.parametrize("path", list(xml_feed_params())[::3])
def test_spliced_refreshes_with_filters_and_limit(path: Path) -> None:
    options = FeedOptions(exclude=(FieldFilter("title", "(?i)updated"),))
    _run(path, options, 3, seed=7 * len(path.name))


@pytest.mark.parametrize("path", list(xml_feed_params())[1::3])
def test_spliced_refreshes_of_feeds_kept_on_a_placeholder_base(path: Path) -> None:
    # The server's way: the splice compares items before rebase and rebases only the items
    # it renders anew; the bytes are still a full build's of the rebased feed.
    _run(path, FeedOptions(), None, seed=3 * len(path.name), rebased=True)


def test_a_rebased_splice_is_taken_and_proxies_images_on_the_public_base() -> None:
    splicer = _run(DATA / "feeds" / "feedx-rfi.xml", FeedOptions(), None, seed=2, rebased=True)
    assert splicer.parses >= 5 and splicer.renders >= 5, (splicer.parses, splicer.renders)
    built = _Builder(None, FeedOptions(), None, rebased=True)
    _, out = built.build((DATA / "feeds" / "feedx-rfi.xml").read_bytes())
    assert (POLICY.public_base + "/img/").encode() in out


def test_the_splice_is_taken_on_a_plain_feed() -> None:
    # The seed feed (feedx.net's RFI, RSS 2.0, CDATA items): parse and render both spliced
    # on every refresh after the first.
    splicer = _run(DATA / "feeds" / "feedx-rfi.xml", FeedOptions(), None, seed=1)
    assert splicer.parses >= 5 and splicer.renders >= 5, (splicer.parses, splicer.renders)


def _footer_body(count: int, with_footer: int) -> bytes:
    items = "".join(
        f"<item><title>t{i}</title><link>https://upstream.example/{i}</link>"
        f'<guid isPermaLink="false">g{i}</guid><description>'
        + (f"<p>Item {i} says something of its own, number {i}.</p>" * 4).replace("<", "&lt;")
        + (FOOTER.replace("<", "&lt;") if i < with_footer else "")
        + "</description></item>\n"
        for i in range(count)
    )
    head = "<rss version='2.0'><channel><title>t</title><link>https://upstream.example/</link>"
    return (head + items + "</channel></rss>").encode()


def test_a_footer_spreading_re_renders_the_items_it_flips() -> None:
    """Items whose bytes did not change but whose footer the feed rule now calls
    boilerplate are rendered again (not taken from the last build); the rest are spliced."""
    splicer = Splicer()
    full = _Builder(None, FeedOptions(), None)
    spliced = _Builder(splicer, FeedOptions(), None)
    for body in (_footer_body(10, 3), _footer_body(10, 8)):
        renders = splicer.renders
        full_feed, full_out = full.build(body)
        splice_feed, splice_out = spliced.build(body)
        assert splice_feed == full_feed
        assert splice_out == full_out
    assert splicer.renders == renders + 1  # the last build was spliced
    assert b"Example Weekly" not in full_out  # and the three old footers went with it


@pytest.mark.parametrize("path", list(xml_feed_params()))
def test_a_scan_knowing_the_last_items_finds_the_layout_a_fresh_scan_finds(path: Path) -> None:
    """splicescan.scan(known=the last version's items) skips searching through items it
    knows; through every edit, and with items of an unrelated feed as known, it finds what
    a scan knowing nothing finds (or declines alike); told which known items hold no
    namespace declaration (quiet: not searched for one), too."""
    rng = random.Random(path.name)
    body = path.read_bytes()
    strangers = [body[s:e] for s, e in _items(xml_feed_files()[0].read_bytes()) or []]
    for name, edit in [*EDITS.items(), *EDITS.items()]:
        before = scan(body)
        known = [body[s:e] for s, e in before.items] if before is not None else []
        quiet = [not d for d in before.declares] if before is not None else []
        assert quiet == [b"xmlns" not in raw for raw in known]
        body = edit(body, rng)
        fresh = scan(body)
        again = scan(body, known=known)
        assert again == fresh, name
        told = scan(body, known=known, quiet=quiet)
        assert told == fresh, name
        if fresh is not None:
            assert told is not None and told.declares == fresh.declares, name
        if again is not None:
            for (start, end), k in zip(again.items, again.known, strict=True):
                assert k < 0 or known[k] == body[start:end], name
            if name == "same":
                assert again.known == tuple(range(len(known)))
        assert scan(body, known=strangers + known[::-1]) == fresh, name
        assert scan(body, known=[b"", *known]) == fresh, name
