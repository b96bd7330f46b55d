"""Feed → RSS 2.0 or Atom 1.0 bytes: the conversion, used when the format asked for is not
the upstream's (and to rebuild a document that cannot be edited in place). The only module
importing feedgen; does no I/O.

A faithful conversion: per item the guid (RSS, byte for byte; ``isPermaLink`` only for a URL
guid), an absolute, stable IRI id (Atom, ``ids``), title (as text), link, dates (published,
else updated — which is where feedparser puts RSS 1.0 ``dc:date`` —, never invented: an
Atom entry without any date takes the feed's), authors (Atom: the entry's, else the feed's,
else the feed title as name, as RFC 4287 requires), categories, enclosures, order, and its
extension elements (iTunes, Media RSS, Podlove, Podcasting 2.0…) carried as foreign markup.
Per feed the title, link, description, language, image and extension elements. The self
link points at the proxy; upstream WebSub hubs are not copied (they would notify readers
about the upstream, not about us).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from datetime import UTC, datetime
from typing import Any

import lxml.html
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem
from lxml import etree

from proxy import __version__, urlscheme
from proxy.models import Enclosure, Entry, Feed, Media
from proxy.output import ids
from proxy.output.text import neutral_title, xml_safe

logger = logging.getLogger(__name__)
ATOM_NS = "http://www.w3.org/2005/Atom"


def _foreign(markup: tuple[str, ...], fmt: str) -> list[etree._Element]:
    """Carried extension elements, parsed back; those an output format defines itself
    (atom:* going into Atom) are left out, and one that will not parse is logged."""
    found = []
    for text in markup:
        try:
            element = etree.fromstring(xml_safe(text) or "")
        except etree.XMLSyntaxError:
            logger.warning("output extension element dropped: it does not parse: %.80r", text)
            continue
        if fmt == "atom" and etree.QName(element).namespace == ATOM_NS:
            continue
        found.append(element)
    return found


class _Carried(BaseEntryExtension):  # type: ignore[misc]
    """Appends an item's (or the feed's) extension elements as they came."""

    def __init__(self) -> None:
        self.elements: list[etree._Element] = []
        self.feed_level = False

    def _append(self, parent: Any) -> Any:
        target = parent[0] if self.feed_level and etree.QName(parent).localname == "rss" else parent
        for element in self.elements:
            target.append(element)
        return parent

    def extend_rss(self, parent: Any) -> Any:
        return self._append(parent)

    def extend_atom(self, parent: Any) -> Any:
        return self._append(parent)


class _CarriedFeed(_Carried, BaseExtension):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.feed_level = True
        self.namespaces: dict[str, str] = {}

    def extend_ns(self) -> dict[str, str]:
        return self.namespaces


class _AtomEnclosures(BaseEntryExtension):  # type: ignore[misc]
    """Writes Atom rel="enclosure" links itself.

    feedgen 1.0 drops rel/type/length from every entry <link> in Atom output (the loop
    variable shadows the link data), which would turn podcast enclosures into plain links.
    """

    def __init__(self) -> None:
        self.enclosures: tuple[Enclosure, ...] = ()

    def extend_atom(self, entry: Any) -> Any:
        for enclosure in self.enclosures:
            link = xml_elem("link", entry, href=as_uri(enclosure.url), rel="enclosure")
            if enclosure.type:
                link.attrib["type"] = enclosure.type
            if enclosure.length:
                link.attrib["length"] = enclosure.length
        return entry


# A URL's scheme as the most lenient reader reads it (Unicode spaces and format characters
# removed first): urlscheme.py, shared with the sanitiser.
_web_url = urlscheme.web_url


def web_urls_only(feed: Feed) -> Feed:
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
    return dataclasses.replace(
        feed,
        link=_web_url(feed.link),
        image=image,
        entries=entries,
        authors=tuple(dataclasses.replace(p, uri=_web_url(p.uri)) for p in feed.authors),
    )


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


def _namespaces(elements: list[etree._Element]) -> dict[str, str]:
    found: dict[str, str] = {}
    for element in elements:
        for prefix, uri in (element.nsmap or {}).items():
            if prefix and prefix not in found and uri not in found.values():
                found[prefix] = uri
    return found


def _plain_text(html: str) -> str:
    try:
        return str(lxml.html.fragment_fromstring(html, create_parent="div").text_content())
    except Exception:  # nothing parseable: the text as it came
        return html


def render(feed: Feed, fmt: str, *, self_url: str, fallback_date: datetime) -> bytes:
    """Serialise a cleaned Feed.

    Parameters:
        feed: the cleaned and rewritten feed.
        fmt: "rss" or "atom".
        self_url: the proxy URL readers fetch this feed from.
        fallback_date: used where a date is required and the upstream gave none (the time
            the upstream body was fetched), so the output is stable while the body is.
    """
    if fmt not in ("rss", "atom"):
        raise ValueError(f"unknown format {fmt!r}")
    feed = _xml_safe_everywhere(feed)
    self_url = xml_safe(self_url) or ""
    feed = web_urls_only(feed)
    generator = FeedGenerator()
    generator.load_extension("dc", atom=False, rss=True)
    carried_feed = _foreign(feed.extensions, fmt)
    carried = [_foreign(entry.extensions, fmt) for entry in feed.entries]
    if any(entry.media and not entry.extensions for entry in feed.entries):
        # Only then: the media namespace would otherwise change every feed's output.
        generator.load_extension("media", atom=True, rss=True)
    namespaces = _namespaces(carried_feed + [e for found in carried for e in found])
    namespaces = {k: v for k, v in namespaces.items() if k not in ("atom", "content", "dc")}
    if carried_feed or namespaces:
        generator.register_extension(
            "feedscrub_carried", _CarriedFeed, _Carried, atom=True, rss=True
        )
        generator.feedscrub_carried.elements = carried_feed
        generator.feedscrub_carried.namespaces = namespaces
    link = feed.link or feed.source_url or self_url
    title = neutral_title(feed.title) or link
    generator.title(title)
    generator.id(ids.feed_id(feed, self_url))
    # feedgen takes the RSS <link> from the last link added: the alternate goes last.
    generator.link(href=self_url, rel="self")
    generator.link(href=as_uri(link) if fmt == "atom" else link, rel="alternate")
    description = feed.description
    if fmt == "atom" and description:
        description = _plain_text(description)  # feedgen writes a type="text" subtitle
    generator.description(description or title)
    if feed.language:
        generator.language(feed.language)
    if feed.image is not None:
        if fmt == "atom":
            generator.logo(feed.image.url)
        else:
            generator.image(
                url=feed.image.url,
                title=neutral_title(feed.image.title) or title,
                link=feed.image.link or link,
            )
    feed_date = feed.updated or _newest(feed) or fallback_date
    generator.updated(feed_date)
    generator.lastBuildDate(feed_date)
    generator.generator("feedscrub", version=__version__, uri="https://github.com/feedscrub")
    if fmt == "atom" and feed.authors:
        generator.author([_person(p) for p in feed.authors])
    for entry, elements in zip(feed.entries, carried, strict=True):
        _add_entry(generator, feed, entry, fmt, feed_date, elements, title)
    if fmt == "atom":
        return bytes(generator.atom_str(pretty=False))
    return bytes(generator.rss_str(pretty=False))


# An addr-spec as validators read it; "name@host?subject=…" (a mailto: tail) is not one.
_EMAIL = re.compile(r"\A[^@\s<>()?,;:]+@[^@\s<>()?,;:]+\.[^@\s<>()?,;:]+\Z")  # (fullmatch)
_NON_ASCII = re.compile(r"[^\x21-\x7e]")


def _person(person: Any) -> dict[str, str]:
    email = person.email if person.email and _EMAIL.fullmatch(person.email) else None
    return {
        k: v
        for k, v in (
            ("name", person.name or person.email),
            ("email", email),
            ("uri", person.uri),
        )
        if v
    }


def as_uri(url: str) -> str:
    """An IRI as the URI it maps to (RFC 3987 §3.1: non-ASCII as UTF-8 percent-escapes);
    Atom validators want href values in that form."""
    return _NON_ASCII.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), url)


def _newest(feed: Feed) -> datetime | None:
    dates = [d for e in feed.entries for d in (e.updated, e.published) if d is not None]
    return max(dates) if dates else None


def _add_entry(
    generator: FeedGenerator,
    feed: Feed,
    entry: Entry,
    fmt: str,
    feed_date: datetime,
    carried: list[etree._Element],
    feed_title: str,
) -> None:
    item = generator.add_entry(order="append")
    title = neutral_title(entry.title)
    content = entry.content
    summary = entry.summary
    if fmt == "atom":
        # Atom requires an id, a title and an updated date on every entry.
        item.id(ids.entry_id(feed, entry))
        item.title(title or "(untitled)")  # feedgen refuses an entry without one
        item.updated(entry.updated or entry.published or feed_date)
        if entry.published:
            item.published(entry.published)
        if not content:
            # An RSS <description> is usually the whole item: readers show Atom <content>.
            content, summary = summary, None
        if content or not entry.link:
            # Atom needs a content element or an alternate link: an item with neither (only a
            # title) gets an empty content element rather than failing the whole feed.
            item.content(content or "", type="html")
        if summary:
            item.summary(summary, type="html")
        people = entry.authors or feed.authors
        if people:
            item.author([_person(p) for p in people])
        else:
            # RFC 4287 §4.1.2: an entry without its own author needs one from the feed.
            item.author({"name": feed_title})
    else:
        guid = entry.guid
        if guid:
            item.guid(guid, permalink=bool(entry.guid_is_permalink) and ids.is_web_url(guid))
        else:
            # No guid upstream: the id Atom and JSON Feed output use, so readers can tell
            # items apart and recognise them across formats.
            item.guid(ids.entry_id(feed, entry), permalink=False)
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
        # RSS has one date: the publication date, else the update (Atom <updated>, RDF dc:date).
        when = entry.published or entry.updated
        if when:
            item.published(when)
        for person in entry.authors:
            if not person.email:
                # RSS <author> must be an email address; a bare name goes to dc:creator.
                if person.name:
                    item.dc.dc_creator(person.name)
                continue
            item.author(_person(person))
    if entry.link:
        item.link(href=as_uri(entry.link) if fmt == "atom" else entry.link, rel="alternate")
    for category in entry.categories:
        if category:
            item.category(term=category, label=category)
    if fmt == "atom":
        if entry.enclosures:
            item.register_extension("feedscrub_enclosures", _AtomEnclosures, atom=True, rss=False)
            item.feedscrub_enclosures.enclosures = entry.enclosures
    elif entry.enclosures:
        # RSS allows one enclosure per item (readers take the first).
        enclosure = entry.enclosures[0]
        item.enclosure(url=enclosure.url, length=enclosure.length or "0", type=enclosure.type or "")
    if carried:
        if not hasattr(item, "feedscrub_carried"):  # loaded with the feed-level one
            item.register_extension("feedscrub_carried", _Carried, atom=True, rss=True)
        item.feedscrub_carried.elements = carried
    elif not entry.extensions:
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
