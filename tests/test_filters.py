"""Item filters: include/exclude by field, max_age, limit; no filter keeps every item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from proxy.feedconfig import FeedOptions, FieldFilter
from proxy.filters import filter_entries
from proxy.models import Entry, Feed, Person

NOW = datetime(2024, 6, 1, tzinfo=UTC)


def entry(i: int, **changes: object) -> Entry:
    base: dict[str, object] = dict(
        guid=str(i),
        guid_is_permalink=False,
        title=f"Title {i}",
        link=f"https://a.test/{i}",
        published=NOW - timedelta(days=i),
        content=f"<p>body {i}</p>",
        authors=(Person(name=f"Author {i % 2}"),),
        categories=(f"cat{i % 3}",),
    )
    base.update(changes)
    return Entry(**base)  # type: ignore[arg-type]


FEED = Feed(
    kind="rss",
    source_url="https://a.test/f",
    title="t",
    link=None,
    description=None,
    entries=tuple(entry(i) for i in range(6)),
)


def guids(options: FeedOptions, **kwargs: object) -> list[str]:
    return [e.guid or "" for e in filter_entries(FEED, options, now=NOW, **kwargs).entries]  # type: ignore[arg-type]


def test_no_filter_keeps_every_item() -> None:
    assert filter_entries(FEED, FeedOptions(), now=NOW) is FEED


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (FeedOptions(exclude=(FieldFilter("title", r"Title [13]"),)), ["0", "2", "4", "5"]),
        (FeedOptions(include=(FieldFilter("category", "^cat0$"),)), ["0", "3"]),
        (FeedOptions(include=(FieldFilter("author", "Author 1"),)), ["1", "3", "5"]),
        (FeedOptions(include=(FieldFilter("content", "body [45]"),)), ["4", "5"]),
        (FeedOptions(exclude=(FieldFilter("link", "/[0-3]$"),)), ["4", "5"]),
        (
            FeedOptions(
                include=(FieldFilter("title", "(?i)title"),), exclude=(FieldFilter("title", "5"),)
            ),
            ["0", "1", "2", "3", "4"],
        ),
        (FeedOptions(max_age=2 * 86400), ["0", "1", "2"]),
        (FeedOptions(limit=2), ["0", "1"]),
    ],
    ids=[
        "exclude-title",
        "include-category",
        "include-author",
        "include-content",
        "exclude-link",
        "include-and-exclude",
        "max-age",
        "limit",
    ],
)
def test_filters(options: FeedOptions, expected: list[str]) -> None:
    assert guids(options) == expected


def test_limit_keeps_newest_in_upstream_order() -> None:
    shuffled = Feed(
        kind="rss",
        source_url="",
        title="t",
        link=None,
        description=None,
        entries=(entry(3), entry(0), entry(5), entry(1)),
    )
    kept = filter_entries(shuffled, FeedOptions(limit=2), now=NOW).entries
    assert [e.guid for e in kept] == ["0", "1"]


def test_request_limit_and_config_limit_smaller_wins() -> None:
    assert guids(FeedOptions(limit=4), limit=2) == ["0", "1"]
    assert guids(FeedOptions(limit=1), limit=3) == ["0"]


def test_undated_items_survive_max_age() -> None:
    feed = Feed(
        kind="rss",
        source_url="",
        title="t",
        link=None,
        description=None,
        entries=(entry(0, published=None), entry(30)),
    )
    assert [e.guid for e in filter_entries(feed, FeedOptions(max_age=86400), now=NOW).entries] == [
        "0"
    ]
