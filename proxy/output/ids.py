"""Entry ids for converted output: absolute IRIs, stable across requests, the same in every
format. Part of the output stage; no I/O.

An upstream guid/id that is already an absolute IRI (``https://…``, ``tag:…``, ``urn:…``) is
kept byte for byte (trimmed of surrounding whitespace, which RFC 3987 does not allow).
Anything else (``seed-local-img``, a bare number, a post path) becomes a name-based UUID
(RFC 9562 v5) of the feed URL and that guid: the same item always gets the same id, and two
feeds using the same bare guid do not collide. An item with no guid at all is named by its
link, else its title and dates (never its content, which cleaning rules change).
"""

from __future__ import annotations

import re
import uuid

from proxy.models import Entry, Feed

# scheme ":" then something; no whitespace or control characters anywhere (RFC 3987).
_IRI = re.compile(r"\A[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f<>\"{}|\\^`]+\Z")
_WEB = re.compile(r"(?i)https?://[^/?#\s]+")


def is_iri(value: str | None) -> bool:
    return bool(value) and _IRI.fullmatch(value.strip()) is not None  # type: ignore[union-attr]


def is_web_url(value: str | None) -> bool:
    return bool(value) and _WEB.match(value.strip()) is not None  # type: ignore[union-attr]


def feed_key(feed: Feed) -> str:
    return feed.source_url or feed.link or feed.feed_id or feed.title or ""


def entry_id(feed: Feed, entry: Entry) -> str:
    guid = (entry.guid or "").strip()
    if is_iri(guid):
        return guid
    if guid:
        name = "guid\n" + guid
    elif entry.link:
        name = "link\n" + entry.link.strip()
    else:
        when = entry.published or entry.updated
        name = "title\n" + (entry.title or "") + "\n" + (when.isoformat() if when else "")
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, feed_key(feed) + "\n" + name))


def feed_id(feed: Feed, self_url: str) -> str:
    if is_iri(feed.feed_id):
        return (feed.feed_id or "").strip()
    for candidate in (feed.link, feed.source_url):
        if is_web_url(candidate):
            return (candidate or "").strip()
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, feed_key(feed) or self_url))
