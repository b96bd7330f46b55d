"""Feed → RSS 2.0 or Atom 1.0 bytes. The only module importing feedgen; does no I/O.

Per item it keeps the guid/id byte for byte, title, link, dates, authors, categories,
enclosures and order; per feed the title, link, description, language and image. The self
link points at the proxy; upstream WebSub hubs are not copied (they would notify readers
about the upstream, not about us).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from feedgen.ext.base import BaseEntryExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from proxy import __version__, urlscheme
from proxy.models import Enclosure, Entry, Feed, Media

FORMATS = ("rss", "atom")
CONTENT_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
}
# Characters XML 1.0 forbids; one of them in one title would make feedgen refuse the feed.
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class _AtomEnclosures(BaseEntryExtension):  # type: ignore[misc]
    """Writes Atom rel="enclosure" links itself.

    feedgen 1.0 drops rel/type/length from every entry <link> in Atom output (the loop
    variable shadows the link data), which would turn podcast enclosures into plain links.
    """

    def __init__(self) -> None:
        self.enclosures: tuple[Enclosure, ...] = ()

    def extend_atom(self, entry: Any) -> Any:
        for enclosure in self.enclosures:
            link = xml_elem("link", entry, href=enclosure.url, rel="enclosure")
            if enclosure.type:
                link.attrib["type"] = enclosure.type
            if enclosure.length:
                link.attrib["length"] = enclosure.length
        return entry


# A URL's scheme as the most lenient reader reads it (Unicode spaces and format characters
# removed first): urlscheme.py, shared with the sanitiser.
_web_url = urlscheme.web_url


def _web_urls_only(feed: Feed) -> Feed:
    """Drop URLs with other schemes from the fields readers open as they are (research §D6).

    The sanitiser only sees item HTML; item links, enclosures, comment and author links and
    the feed's link and logo go to the reader untouched, and a javascript: link there runs
    when clicked. Such a link or enclosure is dropped (the feed link falls back to the
    upstream URL); a guid is kept byte for byte but no longer claims to be a permalink.
    Readers take an item's link from its guid/id when it has none, so an item left without a
    link whose guid is not a web URL links to the feed's site instead.
    """
    site = _web_url(feed.link) or _web_url(feed.source_url)
    image = feed.image
    if image is not None:
        image = (
            None
            if _web_url(image.url) is None
            else (dataclasses.replace(image, link=_web_url(image.link)))
        )
    entries = tuple(
        dataclasses.replace(
            entry,
            link=_web_url(entry.link)
            or (site if entry.guid is not None and _web_url(entry.guid) is None else None),
            comments=_web_url(entry.comments),
            guid_is_permalink=entry.guid_is_permalink and _web_url(entry.guid) is not None,
            authors=tuple(dataclasses.replace(p, uri=_web_url(p.uri)) for p in entry.authors),
            enclosures=tuple(e for e in entry.enclosures if _web_url(e.url) is not None),
            media=tuple(m for m in entry.media if _web_url(m.url) is not None),
        )
        for entry in feed.entries
    )
    return dataclasses.replace(feed, link=_web_url(feed.link), image=image, entries=entries)


def xml_safe(text: str | None) -> str | None:
    if text is None:
        return None
    return _XML_FORBIDDEN.sub("", text)


def _xml_safe_everywhere(value: Any) -> Any:
    """Strip XML-forbidden characters from every string of a Feed (and its entries, people,
    enclosures, image): one control character in any field would fail the whole output."""
    if isinstance(value, str):
        return xml_safe(value)
    if isinstance(value, tuple):
        return tuple(_xml_safe_everywhere(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _xml_safe_everywhere(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if isinstance(getattr(value, f.name), str | tuple)
            or dataclasses.is_dataclass(getattr(value, f.name))
        }
        return dataclasses.replace(value, **changes)
    return value


def render(feed: Feed, fmt: str, *, self_url: str, fallback_date: datetime) -> bytes:
    """Serialise a cleaned Feed.

    Parameters:
        feed: the cleaned and rewritten feed.
        fmt: "rss" or "atom".
        self_url: the proxy URL readers fetch this feed from.
        fallback_date: used where a date is required and the upstream gave none (the time
            the upstream body was fetched), so the output is stable while the body is.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    feed = _xml_safe_everywhere(feed)
    self_url = xml_safe(self_url) or ""
    feed = _web_urls_only(feed)
    generator = FeedGenerator()
    generator.load_extension("dc", atom=False, rss=True)
    if any(entry.media for entry in feed.entries):
        # Only then: the media namespace would otherwise change every feed's output.
        generator.load_extension("media", atom=True, rss=True)
    link = feed.link or feed.source_url or self_url
    title = xml_safe(feed.title) or link
    generator.title(title)
    generator.id(xml_safe(feed.feed_id) or link)
    # feedgen takes the RSS <link> from the last link added: the alternate goes last.
    generator.link(href=self_url, rel="self")
    generator.link(href=link, rel="alternate")
    generator.description(xml_safe(feed.description) or title)
    if feed.language:
        generator.language(xml_safe(feed.language))
    if feed.image is not None:
        if fmt == "atom":
            generator.logo(feed.image.url)
        else:
            generator.image(
                url=feed.image.url,
                title=xml_safe(feed.image.title) or title,
                link=feed.image.link or link,
            )
    feed_date = feed.updated or _newest(feed) or fallback_date
    generator.updated(feed_date)
    generator.lastBuildDate(feed_date)
    generator.generator("feedscrub", version=__version__, uri="https://github.com/feedscrub")
    for entry in feed.entries:
        _add_entry(generator, entry, fmt, feed_date)
    if fmt == "atom":
        return bytes(generator.atom_str(pretty=False))
    return bytes(generator.rss_str(pretty=False))


def _newest(feed: Feed) -> datetime | None:
    dates = [d for e in feed.entries for d in (e.updated, e.published) if d is not None]
    return max(dates) if dates else None


def _add_entry(generator: FeedGenerator, entry: Entry, fmt: str, feed_date: datetime) -> None:
    item = generator.add_entry(order="append")
    title = xml_safe(entry.title)
    content = xml_safe(entry.content)
    summary = xml_safe(entry.summary)
    if fmt == "atom":
        # Atom requires an id, a title and an updated date on every entry.
        item.id(
            xml_safe(entry.guid)
            or entry.link
            or "urn:sha1:"
            + hashlib.sha1(((title or "") + (content or summary or "")).encode()).hexdigest()
        )
        item.title(title or "(untitled)")
        item.updated(entry.updated or entry.published or feed_date)
        if not content:
            # An RSS <description> is usually the whole item: readers show Atom <content>.
            content, summary = summary, None
        if content or not entry.link:
            # Atom needs a content element or an alternate link: an item with neither (only a
            # title) gets an empty content element rather than failing the whole feed.
            item.content(content or "", type="html")
        if summary:
            item.summary(summary, type="html")
    else:
        if entry.guid:
            item.guid(xml_safe(entry.guid), permalink=bool(entry.guid_is_permalink))
        if title:
            item.title(title)
        if summary:
            item.description(summary)
        if content:
            item.content(content)
        if not (title or summary or content):
            item.title("(untitled)")
        if entry.comments:
            item.comments(entry.comments)
    if entry.link:
        item.link(href=entry.link, rel="alternate")
    if entry.published:
        item.published(entry.published)
    for person in entry.authors:
        if fmt == "rss" and not person.email:
            # RSS <author> must be an email address; a bare name goes to dc:creator.
            if person.name:
                item.dc.dc_creator(xml_safe(person.name))
            continue
        item.author(
            {
                k: v
                for k, v in (
                    ("name", xml_safe(person.name) or person.email),
                    ("email", person.email),
                    ("uri", person.uri),
                )
                if v
            }
        )
    for category in entry.categories:
        safe = xml_safe(category)
        if safe:
            item.category(term=safe, label=safe)
    if fmt == "atom":
        if entry.enclosures:
            item.register_extension("feedscrub_enclosures", _AtomEnclosures, atom=True, rss=False)
            item.feedscrub_enclosures.enclosures = entry.enclosures
    elif entry.enclosures:
        # RSS allows one enclosure per item (readers take the first).
        enclosure = entry.enclosures[0]
        item.enclosure(url=enclosure.url, length=enclosure.length or "0", type=enclosure.type or "")
    for media in entry.media:
        _add_media(item, media)


def _add_media(item: Any, media: Media) -> None:
    # group=None: at item level, as upstream feeds mostly write them (feedgen's default
    # would wrap every one in a <media:group>).
    if media.kind == "thumbnail":
        fields = {"url": media.url, "width": media.width, "height": media.height}
        item.media.thumbnail({k: v for k, v in fields.items() if v is not None}, group=None)
        return
    fields = {
        "url": media.url,
        "type": media.type,
        "medium": media.medium,
        "width": media.width,
        "height": media.height,
        "fileSize": media.file_size,
        "duration": media.duration,
    }
    item.media.content({k: v for k, v in fields.items() if v is not None}, group=None)


def utc_now() -> datetime:
    return datetime.now(UTC)
