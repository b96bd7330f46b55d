"""Frozen values passed between pipeline stages. Imports nothing else from ``proxy``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Validators:
    """What a conditional GET sends back to the upstream."""

    etag: str | None = None
    last_modified: str | None = None
    # The stored body these came with: a 200 with the same bytes is as good as a 304 (it
    # is not parsed again). Not sent, not compared.
    body: bytes = field(default=b"", compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One upstream response, read whole and within limits."""

    url: str  # the final URL, after redirects
    status: int  # 200, or 304 when the validators matched (body is then b"")
    body: bytes
    content_type: str  # the raw Content-Type header ("" when absent)
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: float = 0.0  # time.time() when the response arrived
    # sha256 (hex) of body when known ("": not computed): hashed once per fetch, in the
    # thread that parses it, and kept with the stored body for the keys made from it.
    digest: str = ""


@dataclass(frozen=True, slots=True)
class Person:
    name: str | None = None
    email: str | None = None
    uri: str | None = None


@dataclass(frozen=True, slots=True)
class Enclosure:
    """An RSS ``<enclosure>`` or Atom ``rel="enclosure"`` link: a podcast episode, mostly.
    Length and type are kept as the upstream wrote them (text), never recomputed."""

    url: str
    length: str | None = None
    type: str | None = None


@dataclass(frozen=True, slots=True)
class Media:
    """A Media RSS ``media:thumbnail`` or ``media:content`` of an item."""

    url: str
    kind: str  # "thumbnail" or "content"
    type: str | None = None  # MIME type (content only)
    medium: str | None = None  # image | audio | video | document | executable (content only)
    width: str | None = None
    height: str | None = None
    file_size: str | None = None  # fileSize, bytes (content only)
    duration: str | None = None  # seconds (content only)


@dataclass(frozen=True, slots=True)
class Image:
    """The feed's own image (RSS ``<image>``, Atom ``<logo>``)."""

    url: str
    title: str | None = None
    link: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One item. ``summary`` and ``content`` are raw HTML fragments until cleaned."""

    guid: str | None  # byte for byte as upstream wrote it
    guid_is_permalink: bool | None
    title: str | None
    link: str | None
    published: datetime | None = None
    updated: datetime | None = None
    authors: tuple[Person, ...] = ()
    categories: tuple[str, ...] = ()
    summary: str | None = None
    content: str | None = None
    enclosures: tuple[Enclosure, ...] = ()
    base_url: str | None = None  # xml:base of the item HTML, for relative URLs
    comments: str | None = None
    media: tuple[Media, ...] = ()  # media:content, then media:thumbnail, each in order
    # Position among the upstream document's top-level items (None: not from an XML tree);
    # the output stage edits that item in place.
    index: int | None = None
    # The item's extension elements (iTunes, Media RSS, Podlove…) as XML, carried into
    # another format as foreign markup.
    extensions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Feed:
    kind: str  # "rss", "atom" or "json": the family the upstream was written in
    source_url: str  # where it was fetched from (after redirects)
    title: str | None
    link: str | None
    description: str | None
    language: str | None = None
    image: Image | None = None
    updated: datetime | None = None
    entries: tuple[Entry, ...] = field(default_factory=tuple)
    feed_id: str | None = None  # Atom <id>
    authors: tuple[Person, ...] = ()  # the feed-level author(s)
    extensions: tuple[str, ...] = ()  # feed-level extension elements as XML
    encoding: str | None = None  # the upstream document's charset, as the parser read it


# weakref_slot: the server remembers the last answer it built headers for without keeping
# its bytes alive (server/keys.py Remembered).
@dataclass(frozen=True, slots=True, weakref_slot=True)
class Rendered:
    """A served feed: bytes plus what the server needs for caching headers."""

    body: bytes
    content_type: str
    etag: str
    last_modified: float  # unix time the output last changed
    gzip_body: bytes = b""  # the same bytes gzip-compressed once, for readers that accept it
    revalidating: bool = False  # past its TTL; one background refresh is on its way
    fetched: bool = False  # this request brought a new body from the upstream (a cache miss)
    stale: bool = False  # served from cache because the upstream failed
    age: int = 0  # seconds since the upstream body was fetched
    stale_reason: str | None = None
    # Seconds of freshness left when served, negative once past the TTL (RFC 9211 ttl).
    ttl: int | None = None
    fresh_for: int = 0  # the feed's TTL (its own ttl, else FEEDSCRUB_TTL); 0 when unknown


# --- what the clean stage did (proxy.clean.clean); read by metrics, preview and explain ----

REMOVED_TEXT_CHARS = 200  # Removal.text is cut here (with "…"): enough to recognise a block
REMOVAL_KINDS = ("element", "line", "text")  # Removal.kind: a closed set (bounded labels)


@dataclass(frozen=True, slots=True)
class Removal:
    """One part a cleaning rule took out of an item (or, with action "unwrap", an element
    whose tag it dropped while keeping the text, counted once per item).

    kind says what the part was, for people (explain, preview): "element" (tag names it),
    "line" (the text and inline elements between two <br>s of a block, boilerplate_lines.py;
    tag is ""), or "text" (text cut out of an element's text or tail; tag is "")."""

    rule: str  # "<pack>.<name>": "share.endpoint_links", "custom.remove_text", "auto.boilerplate"
    pack: str  # "share", "custom", "auto"
    tag: str  # the element's tag name ("" for a line or text)
    text: str  # its text, whitespace collapsed, at most REMOVED_TEXT_CHARS characters
    reason: str  # one sentence: why this rule removes such parts
    action: str = "remove"  # "remove" | "unwrap"
    count: int = 1  # elements this entry stands for (unwraps are summed per item)
    kind: str = "element"  # "element" | "line" | "text" (REMOVAL_KINDS)


@dataclass(frozen=True, slots=True)
class LinkChange:
    """A link a rule rewrote: tracking parameters stripped, a redirect wrapper unwrapped."""

    rule: str
    pack: str
    old: str
    new: str
    reason: str


@dataclass(frozen=True, slots=True)
class Cleaned:
    """One item's HTML after the clean stage (rules, rewrite hook, sanitiser), and why."""

    html: str  # serialised and sanitised: what goes into the feed
    removals: tuple[Removal, ...] = ()
    links: tuple[LinkChange, ...] = ()
    failed: str | None = None  # the rule that failed; the item was then left as it came

    def hits(self) -> dict[str, int]:
        """Elements removed or changed per rule, for feedscrub_rule_hits_total."""
        counts: dict[str, int] = {}
        for removal in self.removals:
            counts[removal.rule] = counts.get(removal.rule, 0) + removal.count
        for link in self.links:
            counts[link.rule] = counts.get(link.rule, 0) + 1
        return counts
