"""The streamed build: a big RSS 2.0 or Atom feed built in its own format a chunk of items
at a time, so no structure of every item (parsed entries, HTML trees, the document's tree)
is ever alive at once (issue 15.5: 20,000 items peaked at 2.4 times the memory budget of
2 x the body + 80 MB). Part of the pipeline; no I/O. Its output is byte for byte a full
build's (tests/pipeline/test_streamed.py, over tests/data and the shared corpus).

``splicescan`` finds each top-level item's byte range. A chunk (about CHUNK_BYTES of items)
is parsed as a skeleton document: the head, the chunk's items with the whitespace after each,
the tail (the splice path's parse, ``splice``). Two passes:

1. Each chunk parsed, its items through the feed's filters (but limit), each one's date
   kept, and each field's items through the rules before the feed rule (``auto.boilerplate``)
   and its analysis: only its summary is kept (the blocks at the item's edges, fingerprinted).
   With a configured limit the filtered items' dates decide which items are cleaned, and
   those are analysed in a pass of their own.
2. The feed rule decides over every summary, as it does over a whole feed; then each chunk
   (of the items served: limit= is applied here, after cleaning as in a full build) is
   parsed again, cleaned with those decisions (``process.transform`` itself, with
   ``streamed_clean.Decided`` as its item cache), edited in place, and its items' bytes
   appended to the output (``streamed_render``).

Each item's tree is made twice (the first pass's analysis, the second's cleaning): extra CPU,
for feeds over STREAM_BYTES only. Declined (None: the caller builds in full) whenever a
chunk could differ from the whole: whatever ``splicescan`` declines (a DOCTYPE, namespaces
bound twice, RSS 1.0...), a chunk that does not parse strictly (a document lxml repairs),
another charset than UTF-8, items that do not line up with the parser's (an empty item
parse drops), feed values or a head or tail that come out otherwise in some chunk, and any
failure of the feed rule (a full build sends every item back then). A decline can come late;
the build then starts again in full, having lost only time.
"""

from __future__ import annotations

import dataclasses
import logging
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from proxy import clean, filters, memory, parse, rewrite, xmldoc
from proxy.models import Entry, Feed, FetchResult
from proxy.output import inplace
from proxy.pipeline import process
from proxy.pipeline.splicescan import Layout, scan
from proxy.pipeline.streamed_clean import FIELDS, Decided, Declined, Field, item_context
from proxy.pipeline.streamed_render import Assembler
from proxy.store import StoredFeed, records

logger = logging.getLogger(__name__)

# Bodies of this many bytes or more are built streamed. A streamed build keeps no cleaned
# feed behind it, so every new limit=, format= or Host of it cleans every item again (a
# 100,000-item, 10 MB feed: 20 s each instead of 0.5, bench/relimit.py); below this size a
# full build's peak (~5x the body) is the smaller cost, and its cleaned feed is kept. The
# size is over the default body limit (FEEDSCRUB_MAX_BODY_BYTES, 10 MB) and at least twice
# the clean stage's threshold for cleaning in turn (clean.IN_TURN_CHARS), the size from
# which parse no longer hands its tree over (xmldoc.HAND_OVER_MAX_BYTES), and past what the
# splice path keeps for a refresh (splice.LARGEST_SHARE: ~5 MB bodies).
STREAM_BYTES = max(32 * 1024 * 1024, 2 * clean.IN_TURN_CHARS)
# Item bytes per chunk: a chunk's entries, trees and output weigh ~10-20 times this.
CHUNK_BYTES = 1024 * 1024
# While the guessing pass's chunk outputs move into the output, the heap is trimmed after
# every this many bytes: freed, they stay in malloc's arenas, the output grows elsewhere.
TRIM_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Plan:
    """What a streamed build needs besides the body: the output's recipe (its self link on
    the public base, filters, rules, the request's limit), the image policy cleaning runs
    with (on the pipeline's placeholder base, as the full build's), and the two bases."""

    recipe: process.Recipe
    policy: rewrite.ImagePolicy
    placeholder: str
    public_base: str
    now: datetime  # what max_age is judged against


@dataclass(frozen=True, slots=True)
class Unparsed(Feed):
    """What the fetch makes of a body the build will stream: the feed's own values, no
    entries (``items`` says how many the body holds). Not a parsed feed (``parsed``)."""

    items: int = 0


def parsed(feed: Feed | None) -> Feed | None:
    """``feed`` when it is a parsed feed, None for a probe's stand-in."""
    return None if isinstance(feed, Unparsed) else feed


def streams(size: int, kind: str, fmt: str, fulltext: bool, feed: Feed | None) -> bool:
    """Whether a build of a body of ``size`` bytes in ``kind`` to ``fmt`` is tried streamed
    (not when the fetch parsed it in full already: the probe declined it)."""
    return (
        size >= STREAM_BYTES
        and kind == fmt
        and kind in ("rss", "atom")
        and not fulltext
        and parsed(feed) is None
    )


def probe(result: FetchResult) -> Feed | None:
    """For a big body, instead of parsing it whole on arrival: its layout, and its head,
    first item and tail parsed (it is a feed, of what kind); an ``Unparsed``. None: parse it
    in full (small, or the streamed build would decline it)."""
    if len(result.body) < STREAM_BYTES or parse.is_json(result):
        return None
    layout = scan(result.body)
    if layout is None or not layout.items:
        return None
    try:
        feed, _ = _parse(result.body, result.url, result.content_type, layout, [0])
    except Declined:
        return None
    values = {f.name: getattr(feed, f.name) for f in dataclasses.fields(Feed)}
    return Unparsed(**{**values, "entries": ()}, items=len(layout.items))


def served(
    stored: StoredFeed, plan: Plan, learnt: dict[str, Any] | None
) -> tuple[bytes, bytes, str] | None:
    """``build`` of a stored body, with its gzip and ETag (all in the build thread)."""
    body = build(stored.body, stored.final_url, stored.content_type, plan, learnt)
    memory.release_after(len(stored.body))
    if body is None:
        return None
    return body, process.compress(body), records.etag_of(body)


def build(
    body: bytes, url: str, content_type: str, plan: Plan, learnt: dict[str, Any] | None
) -> bytes | None:
    """The served bytes of ``body`` (fetched from ``url`` with ``content_type``) in its own
    format, streamed; None when the streamed build declines (see the module docstring).
    learnt: what feed rules learnt about the feed (updated in place: on a decline, the
    caller's copy is spoilt)."""
    layout = scan(body)
    if layout is None or not layout.items:
        return None
    try:
        return _Build(body, url, content_type, layout, plan, learnt).run()
    except Declined as exc:
        logger.info("streamed feed_url=%s declined: %s; built in full", url, exc)
        return None
    except Exception:  # a bug here must not fail the request: the full build still can
        logger.exception("streamed feed_url=%s failed; built in full", url)
        return None


class _Build:
    def __init__(
        self,
        body: bytes,
        url: str,
        content_type: str,
        layout: Layout,
        plan: Plan,
        learnt: dict[str, Any] | None,
    ) -> None:
        self.body, self.url, self.content_type = body, url, content_type
        self.layout = layout
        self.plan = plan
        self.learnt = learnt
        self.head: Feed | None = None  # the feed's own values, alike in every chunk
        self.fields: dict[str, Field] = {}

    def run(self) -> bytes:
        recipe = self.plan.recipe
        options = recipe.options
        items = self.layout.items
        if not options.limit and not recipe.limit:
            return self._guessing()
        # Pass 1: filters, dates, and (without a configured limit) the summaries.
        unlimited = dataclasses.replace(options, limit=None)
        dated = bool(options.limit or recipe.limit)  # (else no date is needed)
        dates: dict[int, datetime | None] = {}
        for chunk in _chunks(items, range(len(items))):
            feed, _ = self._chunk(chunk)
            kept = filters.filter_entries(
                feed, unlimited, now=self.plan.now, feed_name=recipe.feed_name
            )
            for entry in kept.entries:
                dates[chunk[_index(entry)]] = filters.item_date(entry) if dated else None
            if not options.limit:
                self._analyse(chunk, kept.entries)
        cleaned = list(dates)  # what a full build cleans: the filtered items, limit applied
        if options.limit and len(cleaned) > options.limit:
            chosen = filters.newest_dates(list(dates.values()), options.limit)
            cleaned = [cleaned[i] for i in chosen]
        if options.limit:
            for chunk in _chunks(items, cleaned):
                feed, _ = self._chunk(chunk)
                self._analyse(chunk, feed.entries)
        among = set(cleaned)
        for field in self.fields.values():
            field.decide(among)
        # The decision unpacked every summary at once: give back what it freed (glibc).
        memory.release_after(len(self.body))
        served = cleaned  # limit= on the request, after cleaning (process.cut)
        if recipe.limit and len(cleaned) > recipe.limit:
            chosen = filters.newest_dates([dates[p] for p in cleaned], recipe.limit)
            served = [cleaned[i] for i in chosen]
        # Pass 2: clean, render and append, chunk by chunk.
        out = Assembler(self.body, items, set(served))
        for chunk in _chunks(items, served):
            out.add(self._rendered(chunk), chunk)
        return out.result()

    def _guessing(self) -> bytes:
        """Without a limit: one pass that also finishes each chunk on a guessed decision
        (the decision over the first items and the chunk's, ``Field.guess``) and keeps its
        output; once every item is analysed, a chunk whose guesses were all right goes out
        as it is, the others are cleaned and rendered again with the decision over all
        (most boilerplate shows in the first items: most chunks are made once)."""
        recipe = self.plan.recipe
        items = self.layout.items
        pending: list[tuple[list[int], list[int], bytes, list[dict[int, Any]]] | None] = []
        served: set[int] = set()
        for chunk in _chunks(items, range(len(items))):
            feed, document = self._chunk(chunk)
            kept = filters.filter_entries(
                feed, recipe.options, now=self.plan.now, feed_name=recipe.feed_name
            )
            positions = [chunk[_index(entry)] for entry in kept.entries]
            served.update(positions)
            guesses = []
            for field, found in self._found(chunk, kept.entries):
                field.analyse(found, keep=True)
                guesses.append(field.guess(list(found)))
            edited = self._edited(feed, document, kept, chunk)
            # Compressed while it waits (~4 times smaller: the decision, next, unpacks every
            # summary while these wait; level 1 costs ~1 % of the build).
            pending.append((chunk, positions, zlib.compress(edited, 1), guesses))
            del edited
        for field in self.fields.values():
            field.decide(served)
        memory.release_after(len(self.body))  # (as in run)
        decisions = [field.decisions for field in self.fields.values()]
        out = Assembler(self.body, items, served)
        moved = 0
        for k, made in enumerate(pending):
            assert made is not None
            pending[k] = None  # each chunk's output let go as it is copied out...
            chunk, positions, packed, guesses = made
            edited = zlib.decompress(packed)
            moved += len(edited)
            if moved >= TRIM_BYTES:  # ...and given back, not kept beside the output (glibc)
                memory.release_after(moved)
                moved = 0
            right = all(
                all(d[p] == g for p, g in guessed.items())
                for d, guessed in zip(decisions, guesses, strict=False)
            )
            if right:
                out.add(edited, chunk)
            elif positions:
                out.add(self._rendered(positions), positions)
        return out.result()

    def _rendered(self, positions: list[int]) -> bytes:
        """These items' skeleton parsed, cleaned with the decisions made, edited in place."""
        feed, document = self._chunk(positions)
        return self._edited(feed, document, feed, positions)

    def _edited(
        self, feed: Feed, document: xmldoc.Document, kept: Feed, positions: list[int]
    ) -> bytes:
        """A chunk's skeleton edited in place: its ``kept`` entries cleaned (transform, with
        each field's decisions as they stand), the others left untouched (not served)."""
        recipe = self.plan.recipe
        decided = Decided(self.fields)
        decided.expect([positions[_index(e)] for e in kept.entries], kept.entries, self._label())
        made = process.transform(
            kept,
            policy=self.plan.policy,
            ruleset=recipe.ruleset,
            feed_name=recipe.feed_name,
            opencc=recipe.opencc,
            learnt=self.learnt,
            items=decided,
        )
        decided.done()
        made = process.rebase(made, self.plan.placeholder, self.plan.public_base)
        untouched: frozenset[int] = frozenset()
        if len(kept.entries) != len(feed.entries):
            cleaned = {_index(e): c for e, c in zip(kept.entries, made.entries, strict=True)}
            untouched = frozenset(_index(e) for e in feed.entries if _index(e) not in cleaned)
            entries = tuple(cleaned.get(_index(e), e) for e in feed.entries)
            made = dataclasses.replace(made, entries=entries)
        edited = inplace.edit_document(
            document, feed, made, self_url=recipe.self_url, untouched=untouched
        )
        if edited is None:
            raise Declined("a chunk cannot be edited in place")
        return edited

    def _label(self) -> str:
        assert self.head is not None
        return self.plan.recipe.feed_name or self.head.source_url

    def _chunk(self, positions: list[int]) -> tuple[Feed, xmldoc.Document]:
        feed, document = _parse(self.body, self.url, self.content_type, self.layout, positions)
        head = dataclasses.replace(feed, entries=())
        if self.head is None:
            self.head = head
            self._make_fields()
        elif head != self.head:
            raise Declined("the feed's own values differ between chunks")
        return feed, document

    def _make_fields(self) -> None:
        ruleset = self.plan.recipe.ruleset
        for name in FIELDS:
            memory = None if self.learnt is None else self.learnt.setdefault(name, {})
            context = clean.FeedContext(
                feed_key=self._label(), options=ruleset.options, memory=memory
            )
            self.fields[name] = Field(name, len(self.layout.items), ruleset, context)

    def _analyse(self, positions: list[int], entries: Sequence[Entry]) -> None:
        for field, found in self._found(positions, entries):
            field.analyse(found)

    def _found(
        self, positions: list[int], entries: Sequence[Entry]
    ) -> list[tuple[Field, dict[int, tuple[str, str]]]]:
        """Per field, these entries' HTML and log context by position in the feed."""
        label = self._label()
        return [
            (
                field,
                {
                    positions[_index(e)]: (html, item_context(label, e))
                    for e in entries
                    if (html := getattr(e, name)) is not None
                },
            )
            for name, field in self.fields.items()
        ]


def _index(entry: Entry) -> int:
    assert entry.index is not None  # (_parse checked every entry's)
    return entry.index


def _chunks(items: tuple[tuple[int, int], ...], positions: Iterable[int]) -> list[list[int]]:
    """The positions in runs of about CHUNK_BYTES of item bytes (one item at least)."""
    chunks: list[list[int]] = []
    chunk: list[int] = []
    size = 0
    for position in positions:
        start, end = items[position]
        if chunk and size + end - start > CHUNK_BYTES:
            chunks.append(chunk)
            chunk, size = [], 0
        chunk.append(position)
        size += end - start
    if chunk:
        chunks.append(chunk)
    return chunks


def _parse(
    body: bytes, url: str, content_type: str, layout: Layout, positions: list[int]
) -> tuple[Feed, xmldoc.Document]:
    """The skeleton of these items parsed (entries indexed 0.. in it) and its tree."""
    items = layout.items
    parts = [body[: layout.head_end]]
    for n, position in enumerate(positions):
        start, end = items[position]
        parts.append(body[start:end])
        if n + 1 < len(positions):
            following = items[position + 1][0] if position + 1 < len(items) else end
            parts.append(body[end:following])  # the item's own whitespace after it
    parts.append(body[items[-1][1] :])  # the tail, after the last item of the document
    skeleton = b"".join(parts)
    del parts
    fetched = FetchResult(url=url, status=200, body=skeleton, content_type=content_type)
    try:
        feed = parse.parse(fetched)
    except Exception as exc:  # NotAFeed, or anything else: the full build decides
        raise Declined(f"a chunk did not parse ({type(exc).__name__})") from None
    document = xmldoc.take(skeleton, feed.encoding)  # parse handed it over
    if document is None or not document.strict:
        raise Declined("a chunk is not well-formed XML")
    if feed.kind not in ("rss", "atom") or not _utf8(feed.encoding):
        raise Declined(f"not RSS or Atom in UTF-8 ({feed.kind}, {feed.encoding})")
    if len(document.items) != len(positions) or len(feed.entries) != len(positions):
        raise Declined("a chunk's items do not line up with the parser's")
    if any(entry.index != k for k, entry in enumerate(feed.entries)):
        raise Declined("a chunk's items do not line up with the parser's")
    return feed, document


def _utf8(encoding: str | None) -> bool:
    return (encoding or "").lower().replace("_", "-") in ("utf-8", "utf8")
