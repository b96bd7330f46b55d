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
  the upstream wrote it (after the rewrite stage: resolved against the item's link).
"""

from __future__ import annotations

import hashlib
import re

from proxy.htmltags import Tag, tags
from proxy.htmlurls import fragment_target

__all__ = ["anchor_prefix", "channel_key", "item_key", "keep_anchors"]


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
