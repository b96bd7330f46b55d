"""Same format in and out: the upstream XML document, edited in place. Part of the output
stage; does no I/O.

Only what cleaning is for changes: the item HTML fields (RSS ``description`` and
``content:encoded``, Atom ``summary``/``content``; ``type="xhtml"`` becomes ``type="html"``
holding the cleaned markup), item and feed links without tracking parameters, image URLs of
enclosures, ``media:*``, ``itunes:image`` and the feed image under the image mode, the self
link (ours), hub links (dropped: they would notify readers about the upstream, not about us),
filtered items (removed), titles as text (issue 9.5), the channel description sanitised,
OpenCC-converted titles and categories, and the encoding (UTF-8). Everything else — every
iTunes, Podcasting 2.0, Podlove, Media RSS, Dublin Core or custom element, dates as the
upstream wrote them, ids, authors, order — leaves as it came.

Every new value comes from the cleaned Feed: this module decides where it goes, never what
it is.
"""

from __future__ import annotations

import html

import lxml.html
from lxml import etree

from proxy import xmldoc
from proxy.models import Entry, Feed
from proxy.output.convert import _web_url as web_url
from proxy.output.text import neutral_title, xml_safe

MEDIA = "http://search.yahoo.com/mrss/"
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
GOOGLEPLAY = "http://www.google.com/schemas/play-podcasts/1.0"


def edit(body: bytes, original: Feed, cleaned: Feed, *, self_url: str) -> bytes | None:
    """The upstream document with the cleaned values written in; None when it cannot be
    edited in place (not XML lxml can read, or its items do not line up with the Feed's),
    and the caller rebuilds it.

    Parameters:
        body: the upstream body, as fetched.
        original: the Feed parse() made of it (after filters: a missing item is removed).
        cleaned: the same Feed after the pipeline's transform (same entries, same order).
        self_url: the URL readers fetch this output from.
    """
    document = xmldoc.take(body, original.encoding)  # parse's tree, when it is still kept
    if document is None:
        return None
    return edit_document(document, original, cleaned, self_url=self_url)


def edit_document(
    document: xmldoc.Document,
    original: Feed,
    cleaned: Feed,
    *,
    self_url: str,
    untouched: frozenset[int] = frozenset(),
) -> bytes | None:
    """``edit`` on a loaded document (which it changes). untouched: positions of kept items
    left exactly as they are (the splice path's stand-ins for items rendered before)."""
    if len(cleaned.entries) != len(original.entries):
        return None
    if any(e.index is None or e.index >= len(document.items) for e in original.entries):
        return None
    family = document.family
    pairs = {o.index: (o, c) for o, c in zip(original.entries, cleaned.entries, strict=True)}
    for position, item in enumerate(document.items):
        pair = pairs.get(position)
        if pair is None:
            _remove(item)
            continue
        if position not in untouched:
            _edit_item(item, family, *pair)
    _edit_channel(document, original, cleaned, self_url)
    _web_urls_only(document, cleaned)
    tree = document.root.getroottree()
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))


def _remove(element: etree._Element) -> None:
    parent = element.getparent()
    if parent is None:
        return
    previous = element.getprevious()
    # Keep the layout around it: the removed item's tail (indentation) goes with it.
    if previous is not None:
        previous.tail = element.tail if previous.tail is None else previous.tail
    parent.remove(element)


def _set_text(element: etree._Element, value: str) -> None:
    for child in list(element):
        element.remove(child)
    element.text = xml_safe(value)


def _edit_item(item: etree._Element, family: str, original: Entry, cleaned: Entry) -> None:
    # An empty <item/> nested inside a real one is not an item (feedparser counts it).
    for nested in list(item.iter("{*}item", "{*}entry")):
        if nested is not item and len(nested) == 0 and not (nested.text or "").strip():
            _remove(nested)
    fields = xmldoc.html_fields(item, family)
    for name in ("summary", "content"):
        value = getattr(cleaned, name)
        element = fields.get(name)
        if value is None or value == getattr(original, name) and element is None:
            continue
        if element is None:
            # New content (full text filled in where the upstream had none).
            if family == "atom":
                element = etree.SubElement(item, f"{{{xmldoc.ATOM}}}content", type="html")
            else:
                element = etree.SubElement(
                    item, f"{{{xmldoc.CONTENT}}}encoded", nsmap={"content": xmldoc.CONTENT}
                )
        elif family == "atom":
            kind = (element.get("type") or "text").lower()
            if kind in ("text", "text/plain") and value == getattr(original, name):
                continue  # plain text holds no markup to clean
            element.set("type", "html")
        _set_text(element, value)
    _titles(item, original.title, cleaned.title, family)
    _links(item, family, original.link, cleaned.link, feed_level=False)
    rewrite_urls(item, url_map(original, cleaned))
    _categories(item, original.categories, cleaned.categories)


def _text_of_markup(markup: str) -> str:
    """What a title written as HTML says, as text: the characters themselves when it holds
    no tags (``Tom &amp;amp; Jerry``); the markup as written when it does, so a reader sees
    it rather than runs it."""
    if "<" not in markup:
        return html.unescape(markup)
    try:
        fragment = lxml.html.fragment_fromstring(markup, create_parent="div")
    except Exception:  # unparseable: the characters as written
        return markup
    return markup if len(fragment) else str(fragment.text_content())


def as_text(element: etree._Element) -> None:
    """Turn an Atom text construct of type html or xhtml into type text (titles, rights)."""
    kind = (element.get("type") or "text").lower()
    if kind == "xhtml":
        text = "".join(element.itertext())
    elif kind in ("html", "text/html"):
        text = _text_of_markup(element.text or "")
    else:
        return
    element.attrib.pop("type", None)
    _set_text(element, text)


def _titles(parent: etree._Element, original: str | None, cleaned: str | None, family: str) -> None:
    for child in parent:
        if xmldoc.local(child) == "title" and xmldoc.is_core(child, family):
            if family == "atom":
                as_text(child)
            text = child.text or ""
            new = cleaned if cleaned is not None and original == text.strip() else text
            if neutral_title(new) != text:
                _set_text(child, neutral_title(new) or "")
            break


def _links(
    parent: etree._Element,
    family: str,
    original: str | None,
    cleaned: str | None,
    *,
    feed_level: bool,
) -> None:
    if not original or not cleaned or original == cleaned:
        return
    for child in parent:
        name = xmldoc.local(child)
        if name != "link":
            continue
        if family == "atom":
            if (
                xmldoc.namespace(child) == xmldoc.ATOM
                and child.get("rel", "alternate") == "alternate"
                and (child.get("href") or "").strip()
            ):
                child.set("href", cleaned)
                return
        elif xmldoc.is_core(child, family) and (child.text or "").strip() == original.strip():
            child.text = cleaned
            return


def url_map(original: Entry, cleaned: Entry) -> dict[str, str]:
    found: dict[str, str] = {}
    for before, after in zip(original.enclosures, cleaned.enclosures, strict=False):
        if before.url != after.url:
            found[before.url.strip()] = after.url
    for m_before, m_after in zip(original.media, cleaned.media, strict=False):
        if m_before.url != m_after.url:
            found[m_before.url.strip()] = m_after.url
    return found


def rewrite_urls(parent: etree._Element, mapping: dict[str, str]) -> None:
    """Attachment and image URLs (enclosure, atom:link rel=enclosure, media:*, itunes:image,
    googleplay:image), each one the rewrite stage changed."""
    if not mapping:
        return
    for element in parent.iter():
        if not isinstance(element.tag, str):
            continue
        for attribute in ("url", "href"):
            value = element.get(attribute)
            if value is not None and value.strip() in mapping:
                element.set(attribute, mapping[value.strip()])


def _categories(item: etree._Element, original: tuple[str, ...], cleaned: tuple[str, ...]) -> None:
    mapping = {b: a for b, a in zip(original, cleaned, strict=False) if b != a}
    if not mapping:
        return
    for element in item:
        name = xmldoc.local(element)
        if name == "category":
            for attribute in ("term", "label"):
                value = element.get(attribute)
                if value is not None and value in mapping:
                    element.set(attribute, mapping[value])
            if element.text and element.text.strip() in mapping:
                element.text = mapping[element.text.strip()]
        elif (
            name == "subject"
            and xmldoc.namespace(element) == xmldoc.DC
            and element.text
            and element.text.strip() in mapping
        ):
            element.text = mapping[element.text.strip()]


def _edit_channel(document: xmldoc.Document, original: Feed, cleaned: Feed, self_url: str) -> None:
    family = document.family
    channel = xmldoc.channel(document)
    _titles(channel, original.title, cleaned.title, family)
    _links(channel, family, original.link, cleaned.link, feed_level=True)
    for child in list(channel):
        name = xmldoc.local(child)
        if name == "image" and family != "atom":
            # RSS 2.0 <image><title>: a title like any other (RSS 1.0 puts it in rdf:about).
            _titles(child, None, None, family)
        # 9.5: the channel description as the sanitiser left it (only where it changed it).
        described = cleaned.description and original.description != cleaned.description
        if name == "description" and xmldoc.is_core(child, family) and described:
            _set_text(child, cleaned.description or "")
        if name == "subtitle" and family == "atom" and described:
            if child.get("type") in ("html", "xhtml"):
                child.set("type", "html")
                _set_text(child, cleaned.description or "")
            else:
                as_text(child)
    if (
        original.image is not None
        and cleaned.image is not None
        and original.image.url != cleaned.image.url
    ):
        mapping = {original.image.url.strip(): cleaned.image.url}
        for child in channel:
            if xmldoc.local(child) not in ("item", "entry"):
                rewrite_urls(child, mapping)
            name = xmldoc.local(child)
            if name in ("logo", "icon") and (child.text or "").strip() in mapping:
                child.text = mapping[(child.text or "").strip()]
            if name == "image" and xmldoc.namespace(child) not in (ITUNES, GOOGLEPLAY):
                for sub in child:
                    if xmldoc.local(sub) == "url" and (sub.text or "").strip() in mapping:
                        sub.text = mapping[(sub.text or "").strip()]
    # RSS 1.0 keeps its <image> beside the channel.
    if family == "rdf":
        for child in document.root:
            if xmldoc.local(child) == "image":
                _titles(child, None, None, family)
    _self_and_hubs(channel, family, self_url)


def _self_and_hubs(channel: etree._Element, family: str, self_url: str) -> None:
    found_self = False
    for child in list(channel):
        if xmldoc.local(child) != "link" or xmldoc.namespace(child) != xmldoc.ATOM:
            continue
        rel = child.get("rel", "alternate")
        if rel == "hub":
            _remove(child)
        elif rel == "self":
            if found_self:
                _remove(child)
            else:
                child.set("href", self_url)
                found_self = True
    # RSS 1.0 names itself in rdf:about; an atom:link there is not part of the format.
    if not found_self and self_url and family in ("rss", "atom"):
        nsmap = None if family == "atom" else {"atom": xmldoc.ATOM}
        link = etree.Element(f"{{{xmldoc.ATOM}}}link", nsmap=nsmap)
        link.set("rel", "self")
        link.set("href", self_url)
        link.set("type", "application/atom+xml" if family == "atom" else "application/rss+xml")
        # After the channel's title/link, where the RSS Advisory Board's profile puts it.
        position = next(
            (i + 1 for i, c in enumerate(channel) if xmldoc.local(c) in ("link", "title")), 0
        )
        link.tail = channel[position - 1].tail if position else None
        channel.insert(position, link)


# Elements whose text is a URL readers open as it is (research §D6), and attributes that are.
_URL_TEXT = frozenset({"link", "comments", "url", "logo", "icon", "uri", "docs"})
_URL_ATTRIBUTES = ("href", "url")


def _web_urls_only(document: xmldoc.Document, cleaned: Feed) -> None:
    """No javascript:, data:, file:… URL in a field readers open (the sanitiser only sees
    item HTML). A bad item or feed link becomes the feed's site (readers take the guid as
    the link when there is none); any other such URL goes, with the element that holds it
    when the URL was its whole point (an enclosure, a media element, an image). A guid is
    kept byte for byte; it only stops claiming to be a permalink."""
    site = web_url(cleaned.link) or web_url(cleaned.source_url) or None
    for element in list(document.root.iter()):
        if (
            not isinstance(element.tag, str)
            or element.getparent() is None
            and element is not document.root
        ):
            continue
        name = xmldoc.local(element)
        if name == "guid" and element.get("isPermaLink", "true").lower() == "true":
            if web_url((element.text or "").strip()) is None or not (element.text or "").strip():
                element.set("isPermaLink", "false")
            continue
        for attribute in _URL_ATTRIBUTES:
            value = element.get(attribute)
            if value is not None and value.strip() and web_url(value) is None:
                if name == "link" and attribute == "href":
                    if element.get("rel", "alternate") == "alternate" and site:
                        element.set("href", site)
                    else:
                        _drop(element)
                elif attribute == "url" or name in ("image", "thumbnail", "content", "player"):
                    _drop(element)
                else:
                    del element.attrib[attribute]
                break
        else:
            text = (element.text or "").strip()
            if name in _URL_TEXT and len(element) == 0 and text and web_url(text) is None:
                if name == "link" and site:
                    element.text = site
                elif name == "url" and xmldoc.local(element.getparent()) == "image":
                    _drop(element.getparent())
                else:
                    _drop(element)
    if document.family == "atom":
        _no_script_ids_as_links(document, site)


def _no_script_ids_as_links(document: xmldoc.Document, site: str | None) -> None:
    """Readers take an Atom entry's id as its link when it has none: an id such as
    ``javascript:…`` stays byte for byte (9.5), and the entry links to the feed's site."""
    for entry in document.items:
        links = [
            c for c in entry if xmldoc.local(c) == "link" and xmldoc.namespace(c) == xmldoc.ATOM
        ]
        if any(c.get("rel", "alternate") == "alternate" for c in links):
            continue
        ident = (entry.findtext(f"{{{xmldoc.ATOM}}}id") or "").strip()
        scheme = ident.split(":", 1)[0].lower() if ":" in ident else ""
        if ident and web_url(ident) is None and scheme not in ("urn", "tag") and site:
            link = etree.SubElement(entry, f"{{{xmldoc.ATOM}}}link")
            link.set("rel", "alternate")
            link.set("href", site)


def _drop(element: etree._Element | None) -> None:
    if element is not None and element.getparent() is not None:
        _remove(element)
