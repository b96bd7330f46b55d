"""Text and media markers: what "the real corpus keeps 100% of its text markers" (issue 12)
is measured on.

A feed's item HTML goes through the clean stage twice, as the pipeline runs it (one batch per
field, so feed rules see every item): with no pack at all (what the sanitiser alone would
serve) and with every built-in pack. A *text marker* is one text run of the sanitised-only
output: the text of one lxml text node (an element's .text or .tail) that has a letter or a
digit in it. A marker is kept when it is found, in order, in the fully cleaned item's text;
whitespace is ignored on both sides, because unwrapping spans and trimming <br>s moves it
around and a reader does not see it. A *media marker* is a media element of the
sanitised-only output (MEDIA), named by tag and URL; it is kept when the cleaned item has it.

A marker that is not kept is *lost*, and is attributed to the rule that removed the element
it was in: the innermost marker <del> around it in the marked copy (clean_items(marked=…)).
A lost marker that no removal holds is attributed to "?" (a rule that edited text rather
than removing an element). The measure never calls kept text lost; it can call a removed
marker kept when the same text is still elsewhere, in order (a short "Source" or "Tweet"
that recurs): it errs on the side of keeping, so counts of junk are lower bounds. Whether a lost marker is junk is decided by reading it:
tests/test_corpus_text.py keeps the list of the rules whose removals were read as junk.

Used by tests/test_corpus_text.py (asserts) and bench/clean_corpus.py (prints).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import lxml.html
from lxml.html import HtmlElement

from proxy import clean, parse
from proxy.models import Cleaned, Feed, FetchResult

_WORD = re.compile(r"\w")
FIELDS = ("summary", "content")
# Media markers: what a reader sees that is not text.
MEDIA = ("img", "video", "audio", "iframe", "source", "embed", "object")


@dataclass(frozen=True, slots=True)
class Lost:
    """One marker of the sanitised-only output that the cleaned item no longer has."""

    feed: str  # file name
    field: str  # "summary" or "content"
    item: int  # index among the items that have this field
    kind: str  # "text" or "media"
    rule: str  # "<pack>.<name>" that removed it, "?" when no removal holds it
    text: str  # a text marker, whitespace collapsed, or a media marker "<tag> <url>"


@dataclass(frozen=True, slots=True)
class FieldRun:
    """One field of one feed through the clean stage, with what was lost."""

    feed: str
    field: str
    cleaned: tuple[Cleaned, ...]
    markers: int  # text markers in the sanitised-only output
    media: int  # media markers in the sanitised-only output
    lost: tuple[Lost, ...]  # text markers first, then media markers
    marked: tuple[str, ...]  # the HTML the marked run (the preview's) served, per item


def squeeze(text: str) -> str:
    return "".join(text.split())


def text_runs(root: HtmlElement) -> Iterator[str]:
    """Every text node under root with a letter or digit, in document order (a comment's
    text is not shown, and not a marker; its tail is)."""
    for text in root.itertext():
        if _WORD.search(text):
            yield text


def media_marker(element: HtmlElement) -> str:
    url = element.get("src") or element.get("data") or element.get("srcset") or ""
    return f"{element.tag} {url.strip()}"


def media_of(root: HtmlElement) -> list[str]:
    return [media_marker(element) for element in root.iter(*MEDIA)]


def fragment(html: str) -> HtmlElement:
    return lxml.html.fragment_fromstring(html or "", create_parent="div")


def _owner(node: HtmlElement | None) -> str | None:
    """The rule of the innermost marker <del> around node (node included)."""
    while node is not None:
        if node.tag == "del" and node.get(clean.MARK_RULE):
            return str(node.get(clean.MARK_RULE))
        node = node.getparent()
    return None


@dataclass(slots=True)
class Removed:
    """What the rules removed from one item, read from its marked copy."""

    # (depth, rule, squeezed text) of every marker <del>: a lost marker goes to the deepest
    # one whose text holds it (the rule that removed it first; a text node the sanitiser
    # merged from pieces, "<span>SIGN UP</span> FOR…", is found in the whole text).
    text: list[tuple[int, str, str]]
    media: dict[str, list[str]]  # media marker → the rules that removed such an element

    def rule_of(self, needle: str) -> str:
        holders = [(depth, rule) for depth, rule, text in self.text if needle in text]
        if not holders:
            return "?"
        deepest = max(depth for depth, _ in holders)
        return ",".join(sorted({rule for depth, rule in holders if depth == deepest}))


def removed(tree: HtmlElement) -> Removed:
    text: list[tuple[int, str, str]] = []
    media: dict[str, list[str]] = {}
    for element in tree.iter():
        if element.tag == "del" and element.get(clean.MARK_RULE):
            depth = sum(1 for _ in element.iterancestors())
            text.append(
                (depth, str(element.get(clean.MARK_RULE)), squeeze(str(element.text_content())))
            )
        elif isinstance(element.tag, str) and element.tag in MEDIA:
            owner = _owner(element)
            if owner:
                media.setdefault(media_marker(element), []).append(owner)
    return Removed(text, media)


def _kept_in_order(needles: Sequence[str], kept: str) -> set[int]:
    """Indexes of needles found in kept as non-overlapping, in-order substrings, choosing the
    placement that keeps the most characters (a weighted longest increasing chain). Greedy
    first matches are not enough: a removed line that recurs further down would swallow
    everything before its twin."""
    size = len(kept) + 2
    tree: list[tuple[int, int]] = [(0, -1)] * (size + 1)  # Fenwick prefix max: (score, node)

    def query(end: int) -> tuple[int, int]:  # best chain ending at or before end
        best, i = (0, -1), end + 1
        while i > 0:
            best = max(best, tree[i])
            i -= i & -i
        return best

    def update(end: int, value: tuple[int, int]) -> None:
        i = end + 1
        while i <= size:
            if value > tree[i]:
                tree[i] = value
            i += i & -i

    nodes: list[tuple[int, int]] = []  # (needle index, previous node)
    best = (0, -1)
    for index, needle in enumerate(needles):
        found: list[tuple[int, tuple[int, int]]] = []
        start = kept.find(needle)
        while start >= 0:
            score, previous = query(start)
            nodes.append((index, previous))
            found.append((start + len(needle), (score + len(needle), len(nodes) - 1)))
            start = kept.find(needle, start + 1)
        for end, value in found:  # after every query: one needle is placed once
            update(end, value)
            best = max(best, value)
    chosen: set[int] = set()
    node = best[1]
    while node >= 0:
        chosen.add(nodes[node][0])
        node = nodes[node][1]
    return chosen


def lost_markers(
    bare: Cleaned, cleaned: Cleaned, gone: Removed
) -> tuple[int, int, list[tuple[str, str, str]]]:
    """(text markers, media markers, [(kind, rule, marker) for each lost one]) for one item."""
    before, after = fragment(bare.html), fragment(cleaned.html)
    kept = squeeze(" ".join(text_runs(after)))
    runs = list(text_runs(before))
    chosen = _kept_in_order([squeeze(run) for run in runs], kept)
    lost: list[tuple[str, str, str]] = []
    # Text a rule cut out of an element's .text or .tail, or gathered into an element of its
    # own before removing it (a line of boilerplate), has no <del> in the marked tree (only
    # elements of the parsed tree are marked): it is found in the removals, by its text
    # (cut at 200 characters).
    cuts = [
        (squeeze(r.text).removesuffix("…"), r.rule)
        for r in cleaned.removals
        if r.action != "unwrap"
    ]
    for index, run in enumerate(runs):
        if index not in chosen:
            rule = gone.rule_of(squeeze(run))
            if rule == "?":
                rule = next((r for text, r in cuts if text and text in squeeze(run)), rule)
            lost.append(("text", rule, " ".join(run.split())))
    media = media_of(before)
    missing = Counter(media) - Counter(media_of(after))
    for marker, count in sorted(missing.items()):
        rules = gone.media.get(marker, [])
        for i in range(count):
            lost.append(("media", rules[i] if i < len(rules) else "?", marker))
    return len(runs), len(media), lost


def load(path: Path) -> Feed:
    body = path.read_bytes()
    return parse.parse(
        FetchResult(url="https://upstream.example/feed", status=200, body=body, content_type="")
    )


def run_feed(path: Path, feed: Feed | None = None) -> list[FieldRun]:
    """Both fields of one corpus feed through the clean stage, as the pipeline runs them."""
    feed = feed if feed is not None else load(path)
    runs: list[FieldRun] = []
    for field in FIELDS:
        htmls: Sequence[str] = [getattr(e, field) for e in feed.entries if getattr(e, field)]
        if not htmls:
            continue
        bare = clean.clean_items(htmls, clean.Ruleset(packs=()))
        marked: dict[int, Removed] = {}

        def show(i: int, tree: HtmlElement, marked: dict[int, Removed] = marked) -> None:
            marked[i] = removed(tree)

        # A fresh memory each time: what a first fetch of the feed does. The markers are read
        # on what is served (no marking); the marked run, as the preview makes it, says who
        # removed what, and must serve the very same HTML (FieldRun.marked).
        served = clean.clean_items(htmls, feed=clean.FeedContext(feed_key=path.name, memory={}))
        context = clean.FeedContext(feed_key=path.name, memory={})
        marked_run = clean.clean_items(htmls, feed=context, marked=show)
        cleaned = served
        texts = media = 0
        lost: list[Lost] = []
        for i, (before, after) in enumerate(zip(bare, cleaned, strict=True)):
            t, m, gone = lost_markers(before, after, marked.get(i, Removed([], {})))
            texts, media = texts + t, media + m
            lost.extend(Lost(path.name, field, i, *marker) for marker in gone)
        runs.append(
            FieldRun(
                path.name,
                field,
                tuple(cleaned),
                texts,
                media,
                tuple(lost),
                tuple(c.html for c in marked_run),
            )
        )
    return runs
