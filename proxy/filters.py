"""Per-feed item filters: include/exclude by field regex, max_age, limit. Does no I/O.

Runs after parse and before clean, so dropped items cost no cleaning. With no filter set,
every upstream item is served: feedscrub never truncates a feed on its own.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import regex

from proxy.feedconfig import FeedOptions, FieldFilter
from proxy.models import Entry, Feed

logger = logging.getLogger(__name__)

REGEX_SECONDS = 0.25


def _values(entry: Entry, field: str) -> list[str]:
    if field == "title":
        return [entry.title or ""]
    if field == "content":
        return [entry.content or "", entry.summary or ""]
    if field == "author":
        return [" ".join(filter(None, (p.name, p.email))) for p in entry.authors] or [""]
    if field == "category":
        return list(entry.categories) or [""]
    return [entry.link or ""]


def _matches(entry: Entry, rule: FieldFilter, feed_name: str) -> bool:
    try:
        return any(
            regex.search(rule.pattern, value, timeout=REGEX_SECONDS, concurrent=True) is not None
            for value in _values(entry, rule.field)
        )
    except TimeoutError:
        logger.warning(
            "filter feed=%s field=%s pattern=%r ran out of time; treated as no match",
            feed_name,
            rule.field,
            rule.pattern,
        )
        return False


def _date(entry: Entry) -> datetime | None:
    return entry.published or entry.updated


def filter_entries(
    feed: Feed,
    options: FeedOptions,
    *,
    now: datetime | None = None,
    limit: int | None = None,
    feed_name: str = "",
) -> Feed:
    """Keep the items the feed's filters allow, in upstream order.

    Parameters:
        feed: the parsed feed.
        options: include/exclude/max_age/limit of this feed.
        now: the reference time for max_age (default: now).
        limit: an extra limit asked for on the request (the smaller one wins).
        feed_name: for log lines.
    """
    entries: Sequence[Entry] = feed.entries
    if options.include:
        entries = [e for e in entries if any(_matches(e, f, feed_name) for f in options.include)]
    if options.exclude:
        entries = [
            e for e in entries if not any(_matches(e, f, feed_name) for f in options.exclude)
        ]
    if options.max_age:
        cutoff = (now or datetime.now(UTC)) - timedelta(seconds=options.max_age)
        # Items without a date are kept: we cannot tell their age.
        entries = [e for e in entries if (_date(e) or cutoff) >= cutoff]
    limits = [n for n in (options.limit, limit) if n]
    if limits and len(entries) > min(limits):
        chosen = set(newest(entries, min(limits)))
        entries = [e for i, e in enumerate(entries) if i in chosen]
    if len(entries) == len(feed.entries):
        return feed
    return dataclasses.replace(feed, entries=tuple(entries))


def newest(entries: Sequence[Entry], keep: int) -> list[int]:
    """Indexes of the newest ``keep`` entries by date, in upstream order (undated items count
    as newest: feeds list new items first)."""
    return newest_dates([_date(e) for e in entries], keep)


def newest_dates(dates: Sequence[datetime | None], keep: int) -> list[int]:
    """``newest`` from each entry's date alone (its published, else updated date): the
    streamed build (pipeline/streamed.py) keeps only the dates of a big feed's items."""
    if len(dates) <= keep:
        return list(range(len(dates)))
    epoch = datetime.min.replace(tzinfo=UTC)
    ranked = sorted(range(len(dates)), key=lambda i: (dates[i] is None, dates[i] or epoch, -i))
    return sorted(ranked[-keep:]) if keep > 0 else []


def item_date(entry: Entry) -> datetime | None:
    """The date ``newest`` and max_age judge an entry by."""
    return _date(entry)
