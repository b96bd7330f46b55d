"""Footnote anchors kept within the item: ids that an in-item link points at, renamed so
that no two items (nor the reader's own page) can share one. Does no I/O; called by
proxy.sanitize after nh3.

nh3 drops every `id`, which breaks footnotes (`<a href="#fn1">1</a> … <li id="fn1">`, as
WordPress, Ghost, kramdown `fn:1`/`fnref:1`, Pandoc and Hugo write them). Kept as they
came, ids would collide between items shown on one page, and an id such as `location`,
`cookie` or `forms` clobbers the DOM globals of the page that shows it. So:

- an `id` (or an `<a name>`) stays only when a link of the same item points at it, and
  becomes `fs-<8 hex digits of the item's key>-<id>`; the links pointing at it follow;
- an id no link points at is dropped, as before;
- a link to a fragment no element of the item has (`#top`, `#`, `#comments`) is left as
  the upstream wrote it (after the rewrite stage: resolved against the item's link);
- an id on an element that goes while its content stays (nh3 unwraps `<section>`,
  `<aside>`, `<font>`…; the clean stage unwraps spans outside code) moves first, onto the
  element's first kept descendant when nothing comes before it, else onto an empty
  `<a id>` put where the element began (lift_ids): the link still lands where it did.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection

from lxml.html import HtmlElement

from proxy.allowlist import ALLOWED_TAGS, CLEAN_CONTENT_TAGS
from proxy.htmltags import Tag, tags
from proxy.htmlurls import fragment_target
from proxy.mathml import MATHML_TAGS

__all__ = [
    "REMOVED",
    "STAYS",
    "UNWRAPPED",
    "Fate",
    "anchor_prefix",
    "channel_key",
    "item_key",
    "keep_anchors",
    "lift_ids",
    "may_lose_ids",
    "nh3_fate",
]


def item_key(html: str, context: str = "") -> str:
    """What names an item for its ids' prefix, as the clean stage passes it: the item's
    HTML as it came and what the feed says it is (guid or link), so the prefix is the same
    on every fetch and differs between two items even when their HTML is the same."""
    return f"{context}\x00{html}"


def channel_key(html: str, feed: str) -> str:
    """What names a feed's own description (the channel's, not an item's) for its ids'
    prefix: feed is what the pipeline calls the feed (its name, else its URL). Items'
    contexts read "feed=… item=…", so the two never share a prefix."""
    return item_key(html, f"feed={feed} channel")


def anchor_prefix(item_key: str) -> str:
    """What the kept ids of the item named item_key start with: stable across fetches."""
    digest = hashlib.blake2b(item_key.encode("utf-8", "surrogatepass"), digest_size=4)
    return f"fs-{digest.hexdigest()}-"


# Tags that may hold an anchor, or a link to one, as nh3 writes them (id="…", href="#…",
# also href=" #…": the fragment is read after leading whitespace).
_ANCHOR_OR_LINK = re.compile('[\t\n\f\r ](?:id|name)="|[\t\n\f\r ]href="[\t\n\f\r ]*#')


def _is_target(tag: Tag, name: str) -> bool:
    return name == "id" or (name == "name" and tag.name == "a")


def keep_anchors(html: str, item_key: str) -> str:
    """nh3's output (ids and <a name> let through) with only the ids in-item links point
    at, renamed with the item's prefix, and those links renamed with them.

    Idempotent: an id or link that already has the item's prefix is left as it is.
    """
    opening = [tag for tag in tags(html, having=_ANCHOR_OR_LINK) if not tag.closing]
    targets = {value for tag in opening for name, value in tag.attrs() if _is_target(tag, name)}
    pointed = set()
    if targets:
        for tag in opening:
            if tag.name == "a":
                for name, value in tag.attrs():
                    if name == "href":
                        found = fragment_target(value, targets)
                        if found is not None:
                            pointed.add(found)
    prefix = anchor_prefix(item_key)
    parts: list[str] = []
    last = 0
    for tag in opening:
        rewritten = _rewrite(tag, pointed, prefix)
        if rewritten is not None:
            parts.append(html[last : tag.start])
            parts.append(rewritten)
            last = tag.end
    if not parts:
        return html
    parts.append(html[last:])
    return "".join(parts)


def _rewrite(tag: Tag, pointed: set[str], prefix: str) -> str | None:
    """The tag with its anchors renamed or dropped; None when it has nothing to change."""
    raw = tag.raw_attrs()
    if not any(_is_target(tag, name) or name == "href" for name, _, _ in raw):
        return None
    kept: list[str] = []
    changed = False
    for name, value, escaped in raw:
        if _is_target(tag, name):
            if value not in pointed:
                changed = True
                continue
            if not value.startswith(prefix):
                escaped, changed = prefix + escaped, True
        elif name == "href" and tag.name == "a" and pointed:
            fragment = fragment_target(value, pointed)
            if fragment is not None and not value.strip()[1:].startswith(prefix):
                # The fragment as written (percent-encoded or not) after the prefix: the
                # browser decodes it to the prefixed id.
                escaped, changed = "#" + prefix + escaped.strip()[1:], True
        kept.append(f' {name}="{escaped}"')
    if not changed:
        return None
    return f"<{tag.name}{''.join(kept)}>"


# What becomes of an element in the passes after lift_ids (its fate): it stays; it is
# unwrapped (tag gone, content kept); it is removed with its content.
STAYS, UNWRAPPED, REMOVED = "stays", "unwrapped", "removed"
Fate = Callable[[HtmlElement], str]


def nh3_fate(*, math: bool, spans: Collection[HtmlElement] = ()) -> Fate:
    """What nh3 (with MathML allowed when math) does to an element of an lxml tree; spans:
    the spans the sanitiser unwraps first (those outside code)."""
    kept = ALLOWED_TAGS | MATHML_TAGS if math else ALLOWED_TAGS

    def fate(element: HtmlElement) -> str:
        tag = element.tag
        if tag in CLEAN_CONTENT_TAGS:
            return REMOVED
        if tag in kept and not (tag == "span" and element in spans):
            return STAYS
        return UNWRAPPED

    return fate


# A start tag with an id attribute, in any markup. The name is possessive (it ends where it
# ends) and the rest stops at the tag's end: linear on any input (tests/test_patterns.py).
_ID_ON_TAG = re.compile(r"<([A-Za-z][^\t\n\f\r />]*+)[^<>]*?[\t\n\f\r /\"']id[\t\n\f\r ]*=")


def may_lose_ids(html: str, *, math: bool, spans: bool) -> bool:
    """Whether html (any markup) may have an id on an element nh3 unwraps (or, with spans,
    on a span the sanitiser unwraps): cheap, never a wrong False."""
    kept = ALLOWED_TAGS | MATHML_TAGS if math else ALLOWED_TAGS
    for match in _ID_ON_TAG.finditer(html):
        name = match.group(1).lower()
        if (name not in kept and name not in CLEAN_CONTENT_TAGS) or (spans and name == "span"):
            return True
    return False


def lift_ids(root: HtmlElement, fate: Fate) -> bool:
    """Move each id a link of root points at off the elements fate(element) says will be
    UNWRAPPED, so that the link still lands.

    The id goes to the first descendant that STAYS when no text comes before it (`<section
    id="fn1"><ol>` → `<ol id="fn1">`), else to an empty `<a id>` put first in the element;
    inside a link (no <a> may nest) to that link, when it has no id of its own; else it is
    lost, as before. Returns whether root changed.
    """
    leaving: list[HtmlElement] = []
    staying: set[str] = set()  # an id an element that stays has: never given a second time
    for el in root.iter():
        value = el.get("id") if isinstance(el.tag, str) else None
        if not value:
            continue
        if fate(el) == UNWRAPPED:
            leaving.append(el)
        else:
            staying.add(value)
    if not leaving:
        return False
    ids = {str(el.get("id")) for el in leaving} - staying
    pointed = set()
    for link in root.iter("a"):
        href = link.get("href")
        found = fragment_target(href, ids) if href is not None else None
        if found is not None:
            pointed.add(found)
    changed = False
    for element in leaving:  # document order: an outer element's id is placed first
        value = str(element.get("id"))
        if value not in pointed:
            continue
        pointed.discard(value)  # the first element of an id is where its links land
        del element.attrib["id"]
        changed = True
        target = _first_staying(element, fate)
        if target is None:
            link = next(element.iterancestors("a"), None)
            if link is not None:
                if link.get("id") is None:
                    link.set("id", value)
                continue
            target = element.makeelement("a", {})
            target.tail, element.text = element.text, None
            element.insert(0, target)
        target.set("id", value)
    return changed


def _first_staying(element: HtmlElement, fate: Fate) -> HtmlElement | None:
    """The first element inside element that stays, when nothing but whitespace comes
    before it and it has no id of its own."""
    node = element
    while not (node.text or "").strip():
        child = next((c for c in node if isinstance(c.tag, str)), None)
        if child is None:
            return None
        if any((c.tail or "").strip() for c in node[: node.index(child)]):
            return None  # text after a comment comes first
        what = fate(child)
        if what == STAYS:
            return child if child.get("id") is None else None
        if what == REMOVED:
            return None
        node = child
    return None
