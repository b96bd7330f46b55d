"""Feed → RSS/Atom: what each item keeps, XML-forbidden characters, stable output."""

from __future__ import annotations

from datetime import UTC, datetime

import feedparser
import pytest

from proxy.models import Enclosure, Entry, Feed, Person
from proxy.output.convert import render

WHEN = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def sample(**changes: object) -> Feed:
    entry = Entry(
        guid="  tag:example.org,2024:1  ",
        guid_is_permalink=False,
        title="Title \x0bwith a control character",
        link="https://example.org/1",
        published=WHEN,
        authors=(Person(name="Ada", email="ada@example.org"), Person(name="Bob")),
        categories=("news", "zh"),
        summary="<p>summary</p>",
        content="<p>content\x00</p>",
        enclosures=(
            Enclosure("https://example.org/a.mp3", "10", "audio/mpeg"),
            Enclosure("https://example.org/b.mp3", "20", "audio/mpeg"),
        ),
    )
    feed = Feed(
        kind="rss",
        source_url="https://example.org/feed",
        title="Example",
        link="https://example.org/",
        description="An example",
        language="en",
        entries=(
            entry,
            Entry(
                guid=None,
                guid_is_permalink=None,
                title=None,
                link="https://example.org/2",
                summary="<p>no title</p>",
            ),
        ),
    )
    return Feed(**{**{f: getattr(feed, f) for f in feed.__dataclass_fields__}, **changes})


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_round_trip(fmt: str) -> None:
    body = render(sample(), fmt, self_url="http://proxy.test/feed?url=x", fallback_date=WHEN)
    parsed = feedparser.parse(body)
    assert not parsed.bozo
    first = parsed.entries[0]
    assert first.id.strip() == "tag:example.org,2024:1"
    assert first.title == "Title with a control character"
    assert first.link == "https://example.org/1"
    assert [t.term for t in first.tags] == ["news", "zh"]
    assert first.published_parsed[:6] == (2024, 1, 2, 3, 4, 5)
    hrefs = [e.href for e in first.enclosures]
    assert hrefs == (
        ["https://example.org/a.mp3", "https://example.org/b.mp3"]
        if fmt == "atom"
        else ["https://example.org/a.mp3"]
    )
    assert parsed.feed.title == "Example"
    assert parsed.feed.language == "en"
    assert len(parsed.entries) == 2


def test_guid_kept_byte_for_byte_in_rss() -> None:
    body = render(sample(), "rss", self_url="http://p/", fallback_date=WHEN)
    assert b'<guid isPermaLink="false">  tag:example.org,2024:1  </guid>' in body
    assert b"<dc:creator>Bob</dc:creator>" in body
    assert b"ada@example.org (Ada)" in body


def test_output_is_stable() -> None:
    one = render(sample(), "atom", self_url="http://p/", fallback_date=WHEN)
    two = render(sample(), "atom", self_url="http://p/", fallback_date=WHEN)
    assert one == two


def test_feed_without_title_or_link_still_renders() -> None:
    feed = sample(title=None, link=None, description=None, source_url="")
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(render(feed, fmt, self_url="http://p/self", fallback_date=WHEN))
        assert not parsed.bozo
        assert parsed.feed.title == "http://p/self"
