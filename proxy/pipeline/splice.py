"""The splice path: a refresh that parses and renders only the items that changed upstream.
Part of the pipeline (no I/O); its output is byte for byte a full build's.

Most refreshes of a feed change one or two items; the rest come back as the same bytes.
``splicescan`` finds each top-level item's byte range; an item's bytes (within the same
root and channel start tags: namespaces, xml:base, xml:lang) decide what parse makes of it,
and, with its cleaned values and the feed's site link, what the in-place output makes of it.
So, per upstream URL and per output, the last build's work is kept by item bytes:

* ``parse``: only the document's head and tail and the new items are parsed (a skeleton
  document holding just those); the other items' ``Entry`` values are the ones kept.
* ``render``: the cleaned feed is rendered from a skeleton in which each item rendered
  before (same bytes, same original and cleaned values) is an empty stand-in element; the
  stand-ins' places in the serialised skeleton then get the bytes kept for them. Filtered
  items are stand-ins too, removed as a full build removes them (their whitespace included).
  Items are compared as the pipeline keeps them cleaned (links on its placeholder base, the
  public base part of the output key), so only the items rendered anew are rebased.

Cleaning is not spliced: ``process.transform`` runs over every item as before, with the
pipeline's item cache, and what it makes of each item is compared with what the kept
rendering was made from; so a change in one item that changes another's cleaning (the feed
rule's boilerplate decisions) re-renders that other item too.

Declined (None: the caller builds in full) whenever in doubt: whatever ``splicescan``
declines (DOCTYPE, namespaces declared in items, prefixed roots, RSS 1.0…), a body that was
not parsed strictly (lxml repaired it), another charset than UTF-8, other root or channel
start tags than last time, another final URL or Content-Type, another site link, a skeleton
whose items do not line up, or a refresh in which most items changed.

Everything kept is bounded (``BoundedMap``: count, bytes, age; a feed too big for a quarter
of a bound is not kept), in this process only: a replica sharing the store splices from what
it built itself, and builds in full what it has not seen.
"""

from __future__ import annotations

import dataclasses
import logging
import operator
import threading
import time
from collections.abc import Callable, Container
from dataclasses import dataclass

from proxy import memory, parse, xmldoc
from proxy.bounded import BoundedMap
from proxy.models import Entry, Feed, FetchResult
from proxy.output import inplace
from proxy.output.convert import _web_url as web_url
from proxy.pipeline.splicescan import Layout, scan

logger = logging.getLogger(__name__)

FEEDS = 256  # upstream URLs whose parsed items are kept
OUTPUTS = 256  # outputs whose rendered items are kept
PARSED_BYTES = 64 * 1024 * 1024
RENDERED_BYTES = 64 * 1024 * 1024
MAX_AGE = 6 * 3600.0
LARGEST_SHARE = 0.25  # a feed weighing more than this share of a bound is not kept
_LAYOUTS = 4  # bodies whose layout is kept between parse and render (by identity)

_FIELDS = tuple(f.name for f in dataclasses.fields(Entry) if f.name != "index")
_values = operator.attrgetter(*_FIELDS)


@dataclass(frozen=True, slots=True)
class _Body:
    """One upstream body's layout: its item bytes, and whether it parsed strictly."""

    body: bytes
    layout: Layout
    raws: tuple[bytes, ...]
    strict: bool


@dataclass(frozen=True, slots=True)
class _Parsed:
    context: bytes
    source: tuple[str, str]  # final URL, Content-Type
    entries: dict[bytes, Entry]  # item bytes -> what parse made of them
    weight: int
    quiet: dict[bytes, bool]  # item bytes -> they hold no "xmlns" (splicescan.scan's quiet)


@dataclass(frozen=True, slots=True)
class _Item:
    original: tuple[object, ...]  # the item's values (Entry fields but index)
    cleaned: tuple[object, ...]
    output: bytes  # the item's bytes in the output
    # The entries those values were read from: a refresh hands most of them back as the
    # very objects (a spliced parse and the item cache keep them; frozen, so equal values).
    entries: tuple[Entry, Entry]


@dataclass(frozen=True, slots=True)
class _Rendered:
    context: bytes
    site: str | None
    items: dict[bytes, _Item]  # upstream item bytes -> their rendering
    weight: int


class Splicer:
    """Parsed and rendered items of recent builds, by their upstream bytes (module docstring)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._parsed: BoundedMap[str, _Parsed] = BoundedMap(
            FEEDS, MAX_AGE, clock, weigh=lambda p: p.weight, max_weight=PARSED_BYTES
        )
        self._rendered: BoundedMap[str, _Rendered] = BoundedMap(
            OUTPUTS, MAX_AGE, clock, weigh=lambda r: r.weight, max_weight=RENDERED_BYTES
        )
        self._bodies: BoundedMap[int, _Body] = BoundedMap(_LAYOUTS, 600.0, clock)
        self.parses = 0  # spliced parses and renders (tests and benchmarks read them)
        self.renders = 0

    def clear(self) -> None:
        with self._lock:
            self._parsed.clear()
            self._rendered.clear()
            self._bodies.clear()

    # -- layouts -----------------------------------------------------------------------------

    def _body(self, body: bytes) -> _Body | None:
        with self._lock:
            kept = self._bodies.get(id(body))
        if kept is not None and kept.body is body:
            return kept
        return None

    def _keep(self, body: bytes, strict: bool) -> _Body | None:
        layout = scan(body)
        if layout is None or not layout.items:
            return None
        raws = tuple(body[start:end] for start, end in layout.items)
        kept = _Body(body, layout, raws, strict)
        with self._lock:
            self._bodies.set(id(body), kept)
        return kept

    # -- parse -------------------------------------------------------------------------------

    def parsed(self, url: str, result: FetchResult) -> Feed:
        """``parse.parse(result)`` in full, keeping what it made of each item for the next
        refresh of ``url`` (read off the tree parse hands over to the output stage)."""
        memory.release_after(len(result.body))
        feed = parse.parse(result)
        document = xmldoc.peek(result.body)
        if document is None or not document.strict or feed.kind not in ("rss", "atom"):
            return feed
        if not _utf8(feed.encoding) or len(feed.entries) != len(document.items):
            return feed
        kept = self._keep(result.body, strict=True)
        if kept is None or len(kept.raws) != len(feed.entries):
            return feed
        if all(e.index == k for k, e in enumerate(feed.entries)):
            self._remember_parse(url, result, kept, feed.entries)
        return feed

    def _remember_parse(
        self, url: str, result: FetchResult, kept: _Body, entries: tuple[Entry, ...]
    ) -> None:
        weight = 3 * sum(map(len, kept.raws)) + 600 * len(kept.raws)
        declares = kept.layout.declares
        memo = _Parsed(
            kept.layout.context,
            (result.url, result.content_type),
            dict(zip(kept.raws, entries, strict=True)),
            weight,
            {raw: not declares[k] for k, raw in enumerate(kept.raws)},
        )
        if weight <= PARSED_BYTES * LARGEST_SHARE:
            with self._lock:
                self._parsed.set(url, memo)

    def parse(self, url: str, result: FetchResult) -> Feed | None:
        """What ``parse.parse(result)`` returns, parsing only the items not seen in the last
        build of ``url``; None when the splice declines (see the module docstring)."""
        with self._lock:
            memo = self._parsed.get(url)
        if memo is None or memo.source != (result.url, result.content_type):
            return None
        body = result.body
        # The items seen last time are not searched through again (most come back as they were).
        before = tuple(memo.entries)
        layout = scan(body, known=before, quiet=[memo.quiet[raw] for raw in before])
        if layout is None or not layout.items or layout.context != memo.context:
            return None
        # An item found among the known ones is that bytes object (hashed once already).
        raws = tuple(
            before[k] if k >= 0 else body[start:end]
            for (start, end), k in zip(layout.items, layout.known, strict=True)
        )
        known = memo.entries
        changed = [k for k, raw in enumerate(raws) if raw not in known]
        if len(changed) == len(raws):
            return None  # every item is new: nothing to splice
        wanted = set(changed)
        parts = [body[: layout.head_end]]
        for k, (_, end) in enumerate(layout.items):
            if k in wanted:
                parts.append(raws[k])
            following = layout.items[k + 1][0] if k + 1 < len(raws) else len(body)
            parts.append(body[end:following])
        skeleton = b"".join(parts)
        fetched = dataclasses.replace(result, body=skeleton)
        try:
            partial = parse.parse(fetched)
        except Exception as exc:  # NotAFeed, or anything else: the full parse decides
            logger.debug("splice feed_url=%s declined: skeleton failed (%s)", url, exc)
            return None
        document = xmldoc.take(skeleton, partial.encoding)  # parse handed it over
        if document is None or not document.strict or not _utf8(partial.encoding):
            return None
        if len(document.items) != len(changed) or len(partial.entries) != len(changed):
            return None
        if any(e.index != k for k, e in enumerate(partial.entries)):
            return None
        new = iter(partial.entries)
        entries = []
        for k, raw in enumerate(raws):
            entry = next(new) if k in wanted else known[raw]
            entries.append(entry if entry.index == k else dataclasses.replace(entry, index=k))
        feed = dataclasses.replace(partial, entries=tuple(entries))
        kept = _Body(body, layout, raws, strict=True)
        with self._lock:
            self._bodies.set(id(body), kept)
            self.parses += 1
        self._remember_parse(url, result, kept, feed.entries)
        return feed

    # -- render ------------------------------------------------------------------------------

    def render(
        self,
        key: str,
        body: bytes,
        original: Feed,
        cleaned: Feed,
        self_url: str,
        rebase: Callable[[Feed], Feed] | None = None,
    ) -> bytes | None:
        """What ``inplace.edit(body, original, rebase(cleaned), self_url=…)`` returns,
        rendering only the items not rendered the same way in the last build of output
        ``key``; None when the splice declines. ``remember`` keeps what a build rendered,
        spliced or not (given the same ``cleaned``, before rebase). rebase: what the output
        makes of the cleaned feed (the public base in place of the placeholder, a function
        of the feed alone for a given key); items are compared before it, so only the items
        rendered anew go through it (None: cleaned as it is)."""
        kept = self._body(body)
        with self._lock:
            memo = self._rendered.get(key)
        if kept is None or memo is None or not kept.strict or original.kind == "json":
            return None
        layout = kept.layout
        if memo.context != layout.context or memo.site != _site(cleaned):
            return None
        pairs = _pairs(original, cleaned, len(kept.raws))
        if pairs is None:
            return None
        stand_in = b"<" + layout.item_tag + b"/>"
        reused: dict[int, _Item] = {}
        made: dict[int, tuple[Entry, Entry]] = {}
        parts = [body[: layout.head_end]]
        for k, (_, end) in enumerate(layout.items):
            raw = kept.raws[k]
            pair = pairs.get(k)
            if pair is None:
                parts.append(stand_in)  # filtered out: removed as a full build removes it
            else:
                item = memo.items.get(raw)
                if item is not None and _alike(item, pair):
                    reused[k] = item
                    parts.append(stand_in)
                else:
                    made[k] = pair
                    parts.append(raw)
            following = layout.items[k + 1][0] if k + 1 < len(kept.raws) else len(body)
            parts.append(body[end:following])
        if not reused:
            return None  # every item renders anew: nothing to splice
        document = xmldoc.load(b"".join(parts), original.encoding)
        if document is None or not document.strict or len(document.items) != len(kept.raws):
            return None
        placed = cleaned if rebase is None else _placed(original, cleaned, rebase, made)
        out = inplace.edit_document(
            document, original, placed, self_url=self_url, untouched=frozenset(reused)
        )
        if out is None:
            return None
        reused_bytes = {k: i.output for k, i in reused.items()}
        assembled = _assemble(out, sorted(pairs), reused_bytes, layout.item_tag)
        if assembled is None:
            return None
        spliced, ranges = assembled
        items = {kept.raws[k]: item for k, item in reused.items()}
        for k, (start, end) in ranges.items():
            if k in made:
                items[kept.raws[k]] = _item(made[k], spliced[start:end])
        self._keep_rendering(key, kept, cleaned, items)
        with self._lock:
            self.renders += 1
        return spliced

    def remember(self, key: str, body: bytes, original: Feed, cleaned: Feed, output: bytes) -> None:
        """Keep each item's output bytes of a full build of ``key`` from ``body`` (``render``
        keeps its own)."""
        kept = self._body(body)
        if kept is None or not kept.strict or original.kind == "json":
            return
        pairs = _pairs(original, cleaned, len(kept.raws))
        out_layout = scan(output)
        if pairs is None or out_layout is None or len(out_layout.items) != len(pairs):
            return
        items = {}
        for (start, end), k in zip(out_layout.items, sorted(pairs), strict=True):
            items[kept.raws[k]] = _item(pairs[k], output[start:end])
        self._keep_rendering(key, kept, cleaned, items)

    def _keep_rendering(
        self, key: str, kept: _Body, cleaned: Feed, items: dict[bytes, _Item]
    ) -> None:
        weight = sum(len(raw) + len(i.output) for raw, i in items.items()) + 400 * len(items)
        if weight > RENDERED_BYTES * LARGEST_SHARE:
            return
        memo = _Rendered(kept.layout.context, _site(cleaned), items, weight)
        with self._lock:
            self._rendered.set(key, memo)


def _item(pair: tuple[Entry, Entry], output: bytes) -> _Item:
    return _Item(_values(pair[0]), _values(pair[1]), output, pair)


def _alike(item: _Item, pair: tuple[Entry, Entry]) -> bool:
    """Whether ``pair`` (original, cleaned) holds the values ``item`` was rendered from."""
    if item.entries[0] is pair[0] and item.entries[1] is pair[1]:
        return True
    return (item.original, item.cleaned) == (_values(pair[0]), _values(pair[1]))


def _utf8(encoding: str | None) -> bool:
    return (encoding or "").lower().replace("_", "-") in ("utf-8", "utf8")


def _site(cleaned: Feed) -> str | None:
    # What the in-place edit puts in place of a bad item link (inplace._web_urls_only).
    return web_url(cleaned.link) or web_url(cleaned.source_url) or None


def _placed(
    original: Feed, cleaned: Feed, rebase: Callable[[Feed], Feed], made: Container[int]
) -> Feed:
    """``rebase(cleaned)`` for the feed's own fields and the items in ``made`` (by upstream
    position); the other items as they are (the in-place edit leaves them untouched)."""
    positions = [i for i, entry in enumerate(original.entries) if entry.index in made]
    chosen = tuple(cleaned.entries[i] for i in positions)
    part = rebase(dataclasses.replace(cleaned, entries=chosen))
    entries = list(cleaned.entries)
    for i, entry in zip(positions, part.entries, strict=True):
        entries[i] = entry
    return dataclasses.replace(part, entries=tuple(entries))


def _pairs(original: Feed, cleaned: Feed, items: int) -> dict[int, tuple[Entry, Entry]] | None:
    if len(original.entries) != len(cleaned.entries):
        return None
    pairs = {}
    for before, after in zip(original.entries, cleaned.entries, strict=True):
        if before.index is None or before.index >= items or before.index in pairs:
            return None
        pairs[before.index] = (before, after)
    return pairs


def _assemble(
    out: bytes, kept: list[int], reused: dict[int, bytes], item_tag: bytes
) -> tuple[bytes, dict[int, tuple[int, int]]] | None:
    """The serialised skeleton with each stand-in replaced by the bytes kept for it, and
    where each item now lies in it (by its upstream position)."""
    stand_in = b"<" + item_tag + b"/>"
    # Each stand-in is a known item to the scan (matched by its bytes, not searched
    # through); the check below still holds every item to where it was put.
    expected = [stand_in if k in reused else b"" for k in kept]
    layout = scan(out, empty=True, known=expected, quiet=[True] * len(expected))
    if layout is None or len(layout.items) != len(kept) or layout.item_tag != item_tag:
        return None
    for (start, end), k in zip(layout.items, kept, strict=True):
        if (k in reused) != (out[start:end] == stand_in):
            return None  # a stand-in not where it was put, or an item that looks like one
    pieces = [out[: layout.head_end]]
    ranges = {}
    at = layout.head_end
    for n, ((start, end), k) in enumerate(zip(layout.items, kept, strict=True)):
        output = reused.get(k)
        piece = out[start:end] if output is None else output
        ranges[k] = (at, at + len(piece))
        following = layout.items[n + 1][0] if n + 1 < len(kept) else len(out)
        pieces += (piece, out[end:following])
        at += len(piece) + following - end
    return b"".join(pieces), ranges
