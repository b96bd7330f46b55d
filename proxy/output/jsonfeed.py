"""JSON Feed 1.1 output (https://www.jsonfeed.org/version/1.1/). Part of the output stage;
does no I/O.

``render`` converts any cleaned Feed; ``edit`` is the same-format path for a JSON Feed
upstream: its own object with the cleaned values written in, so members we do not model
(``_extensions``, ``hubs`` aside, ``expired``, ``banner_image``…) stay as they were.
"""

from __future__ import annotations

import json
from typing import Any

from proxy.models import Entry, Feed, Person
from proxy.output import ids
from proxy.output.convert import _web_url as web_url
from proxy.output.text import neutral_title

VERSION = "https://jsonfeed.org/version/1.1"


def _date(entry: Entry, which: str) -> str | None:
    when = entry.published if which == "published" else entry.updated
    return when.isoformat().replace("+00:00", "Z") if when is not None else None


def _people(people: tuple[Person, ...]) -> list[dict[str, str]]:
    found = []
    for person in people:
        member: dict[str, str] = {}
        if person.name or person.email:
            member["name"] = person.name or person.email or ""
        url = person.uri or (f"mailto:{person.email}" if person.email else None)
        if url:
            member["url"] = url
        if member:
            found.append(member)
    return found


def _image(entry: Entry) -> str | None:
    return next((m.url for m in entry.media if m.kind == "thumbnail"), None)


def item(feed: Feed, entry: Entry) -> dict[str, Any]:
    """One item: id (the same IRI Atom output uses), url, title, HTML, dates, authors,
    tags, image and attachments."""
    out: dict[str, Any] = {"id": ids.entry_id(feed, entry)}
    if entry.link:
        out["url"] = entry.link
    if entry.title:
        out["title"] = neutral_title(entry.title)
    html = entry.content or entry.summary
    out["content_html"] = html or ""
    if entry.content and entry.summary:
        out["summary"] = _plain(entry.summary)
    image = _image(entry)
    if image:
        out["image"] = image
    for key, which in (("date_published", "published"), ("date_modified", "updated")):
        value = _date(entry, which)
        if value:
            out[key] = value
    authors = _people(entry.authors)
    if authors:
        out["authors"] = authors
    if entry.categories:
        out["tags"] = list(entry.categories)
    attachments = []
    for enclosure in entry.enclosures:
        attachment: dict[str, Any] = {
            "url": enclosure.url,
            "mime_type": enclosure.type or "application/octet-stream",
        }
        if enclosure.length and enclosure.length.isdigit() and int(enclosure.length) > 0:
            attachment["size_in_bytes"] = int(enclosure.length)
        attachments.append(attachment)
    if attachments:
        out["attachments"] = attachments
    return out


def _web(value: Any) -> bool:
    return isinstance(value, str) and web_url(value) is not None


def _web_only(member: dict[str, Any], keys: tuple[str, ...]) -> None:
    """No javascript:, data:… URL where readers open it as it is (9.5)."""
    for key in keys:
        if key in member and not _web(member[key]):
            del member[key]


def _plain(html: str) -> str:
    import lxml.html

    try:
        return str(lxml.html.fragment_fromstring(html, create_parent="div").text_content())
    except Exception:  # an unparseable fragment: no summary is better than markup in one
        return ""


def render(feed: Feed, *, self_url: str) -> bytes:
    """A cleaned Feed as JSON Feed 1.1 (UTF-8)."""
    out: dict[str, Any] = {
        "version": VERSION,
        "title": neutral_title(feed.title) or feed.link or feed.source_url or self_url,
    }
    if feed.link:
        out["home_page_url"] = feed.link
    if self_url:
        out["feed_url"] = self_url
    if feed.description:
        out["description"] = _plain(feed.description)
    if feed.image is not None:
        out["icon"] = feed.image.url
    if feed.language:
        out["language"] = feed.language
    authors = _people(feed.authors)
    if authors:
        out["authors"] = authors
    out["items"] = [item(feed, entry) for entry in feed.entries]
    return json.dumps(out, ensure_ascii=False, indent=1).encode("utf-8")


def edit(body: bytes, original: Feed, cleaned: Feed, *, self_url: str) -> bytes | None:
    """The upstream JSON Feed with cleaned values written in; None when it will not load."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        return None
    items = data["items"]
    kept = {o.index: (o, c) for o, c in zip(original.entries, cleaned.entries, strict=True)}
    out_items = []
    for position, raw in enumerate(items):
        pair = kept.get(position)
        if pair is None or not isinstance(raw, dict):
            continue
        before, after = pair
        raw = dict(raw)
        if after.link and raw.get("url") == before.link:
            raw["url"] = after.link
        if after.title is not None and raw.get("title") == before.title:
            raw["title"] = neutral_title(after.title)
        # content_text stays text unless cleaning (full text) gave the item new content.
        keeps_text = isinstance(raw.get("content_text"), str) and after.content == before.content
        if after.content is not None and (
            isinstance(raw.get("content_html"), str) or not keeps_text
        ):
            raw["content_html"] = after.content
        image_before, image_after = _image(before), _image(after)
        if image_before and image_after and raw.get("image") == image_before:
            raw["image"] = image_after
        if isinstance(raw.get("attachments"), list):
            urls = {b.url: a.url for b, a in zip(before.enclosures, after.enclosures, strict=False)}
            raw["attachments"] = [
                {**a, "url": urls.get(str(a.get("url")), a.get("url"))}
                if isinstance(a, dict)
                else a
                for a in raw["attachments"]
            ]
        if isinstance(raw.get("tags"), list) and before.categories != after.categories:
            raw["tags"] = list(after.categories)
        _web_only(raw, ("url", "external_url", "image", "banner_image"))
        if isinstance(raw.get("attachments"), list):
            raw["attachments"] = [
                a for a in raw["attachments"] if isinstance(a, dict) and _web(a.get("url"))
            ]
        out_items.append(raw)
    data["items"] = out_items
    data["version"] = VERSION if data.get("version") != VERSION else data["version"]
    if cleaned.title is not None and isinstance(data.get("title"), str):
        data["title"] = neutral_title(cleaned.title)
    if cleaned.link and original.link and data.get("home_page_url") == original.link:
        data["home_page_url"] = cleaned.link
    if original.image is not None and cleaned.image is not None:
        for key in ("icon", "favicon"):
            if data.get(key) == original.image.url:
                data[key] = cleaned.image.url
    _web_only(data, ("home_page_url", "icon", "favicon"))
    if self_url:
        data["feed_url"] = self_url
    data.pop("hubs", None)  # WebSub hubs of the upstream would notify about it, not us
    return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
