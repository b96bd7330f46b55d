"""The output stage: a cleaned feed as the bytes readers get. Does no I/O.

Same format in and out (the default): the upstream document edited in place
(``inplace``, ``jsonfeed.edit``), so everything the cleaner has no reason to touch leaves as
it came. Another format: a faithful conversion (``convert`` for RSS/Atom, ``jsonfeed`` for
JSON Feed 1.1). A document that cannot be edited in place — not readable as XML even after
repair, or its items do not line up with the parser's — is rebuilt by the conversion in
its own format; what the model does not carry is then lost (the layout, comments,
processing instructions, extension elements: parse keeps those only for items that line up).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime

from lxml import etree

from proxy.models import Feed
from proxy.output import convert, inplace, jsonfeed

logger = logging.getLogger(__name__)

FORMATS = ("rss", "atom", "json")
CONTENT_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}

Transform = Callable[[Feed], Feed]


def build_output(
    body: bytes | None,
    feed: Feed,
    transform: Transform,
    fmt: str,
    *,
    self_url: str,
    fallback_date: datetime,
) -> bytes:
    """The served bytes for one feed.

    Parameters:
        body: the raw upstream body ``feed`` was parsed from (None: convert only).
        feed: the parsed feed, after filters (a missing item is removed from the output).
        transform: the pipeline's cleaning of the whole feed (each item's HTML, links,
            attachments; the feed's image, link, description); keeps entries and their order.
        fmt: "rss", "atom" or "json".
        self_url: the URL readers fetch this output from.
        fallback_date: where a format needs a date the upstream never gave (the time the
            body was fetched: stable while the body is).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    cleaned = transform(feed)
    if body is not None and fmt == feed.kind:
        edited = (
            jsonfeed.edit(body, feed, cleaned, self_url=self_url)
            if fmt == "json"
            else inplace.edit(body, feed, cleaned, self_url=self_url)
        )
        if edited is not None:
            return edited
        logger.info(
            "output feed_url=%s cannot be edited in place; rebuilt as %s", feed.source_url, fmt
        )
    cleaned = _carry_rewritten_urls(feed, cleaned)
    if fmt == "json":
        # Readers open these URLs as they are: only web URLs, as in RSS and Atom.
        return jsonfeed.render(convert.web_urls_only(cleaned), self_url=self_url)
    return convert.render(cleaned, fmt, self_url=self_url, fallback_date=fallback_date)


def _carry_rewritten_urls(original: Feed, cleaned: Feed) -> Feed:
    """Carried extension elements get the image URLs the rewrite stage gave their item."""
    entries = []
    for before, after in zip(original.entries, cleaned.entries, strict=True):
        mapping = inplace.url_map(before, after)
        if not mapping or not after.extensions:
            entries.append(after)
            continue
        rewritten = []
        for markup in after.extensions:
            try:
                element = etree.fromstring(markup)
            except etree.XMLSyntaxError:
                rewritten.append(markup)
                continue
            inplace.rewrite_urls(element, mapping)
            rewritten.append(etree.tostring(element, encoding="unicode"))
        entries.append(dataclasses.replace(after, extensions=tuple(rewritten)))
    return dataclasses.replace(cleaned, entries=tuple(entries))
