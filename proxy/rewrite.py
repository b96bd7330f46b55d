"""Image and link rewriting on the cleaned item tree and the item's attachments. Does no I/O.

Lazy-loaded images get their real URL back (``data-src``, ``data-srcset``, ``data-lazy-src``,
``data-original``, ``data-actualsrc``…, on ``<img>`` and on ``<picture>``'s ``<source>``), a
lazy image and its ``<noscript>`` copy become one image, relative URLs are resolved (xml:base,
else the feed URL, else the item link), and image URLs are turned into signed proxy links, a
template, or left absolute, per FEEDSCRUB_IMAGES. Enclosures and Media RSS thumbnails/content
follow the same policy; audio and video only with FEEDSCRUB_PROXY_MEDIA.

Proxy links carry a signed hint (``referer.Hint``): the item link's origin and the feed's
Referer policy, which the image proxy needs for hot-link-protected hosts.
"""

from __future__ import annotations

import dataclasses
import mimetypes
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from lxml.html import HtmlElement

from proxy import htmlurls
from proxy.images import referer
from proxy.images.signing import image_path
from proxy.models import Entry

# Where lazy loaders keep the real image, and their placeholders: proxy.htmlurls.
LAZY_SRC_ATTRIBUTES = htmlurls.LAZY_SRC_ATTRIBUTES
LAZY_SRCSET_ATTRIBUTES = htmlurls.LAZY_SRCSET_ATTRIBUTES
parse_srcset = htmlurls.parse_srcset
# Wrappers a lazy <img> sits in right beside its <noscript> copy.
_IMAGE_WRAPPERS = frozenset({"a", "picture", "span", "div", "figure"})
# What a lazy image and its copy may differ in; copied over when the copy lacks it.
_DESCRIPTIVE_ATTRIBUTES = ("alt", "title", "width", "height", "sizes")


@dataclass(frozen=True, slots=True)
class ImagePolicy:
    mode: str  # proxy | template | absolute | none
    public_base: str = ""  # e.g. "https://feeds.example.org" (no trailing slash)
    key: bytes = b""
    template: str = ""
    referer: str = ""  # the feed's image_referer ("" = not set: the proxy's default)
    origin: str = ""  # origin of the item link, set per item by ``for_item``
    proxy_media: bool = False  # FEEDSCRUB_PROXY_MEDIA: audio/video enclosures too


def for_item(policy: ImagePolicy, link: str | None) -> ImagePolicy:
    """The policy for one item: its link's origin goes into its signed image links."""
    if policy.mode != "proxy":
        return policy
    origin = referer.origin_of(link)
    return policy if origin == policy.origin else dataclasses.replace(policy, origin=origin)


def for_items(policy: ImagePolicy, links: Iterable[str | None]) -> list[ImagePolicy]:
    """``for_item`` of each link; links of one origin share one policy object (a feed's items
    come from a few origins: a replace per origin, not one per item, ~3 µs each)."""
    if policy.mode != "proxy":
        return [policy for _ in links]
    made = {policy.origin: policy}
    policies = []
    for link in links:
        origin = referer.origin_of(link)
        found = made.get(origin)
        if found is None:
            found = made[origin] = dataclasses.replace(policy, origin=origin)
        policies.append(found)
    return policies


def proxied_url(url: str, policy: ImagePolicy, *, media: bool = False) -> str:
    """What an absolute image URL becomes under the policy (``media``: an audio/video file,
    proxied only in proxy mode with ``proxy_media``)."""
    if not url.lower().startswith(("http://", "https://")):
        return url  # data: images and other schemes are left to the sanitiser
    if policy.mode == "proxy":
        if media and not policy.proxy_media:
            return url
        hint = referer.Hint(policy=policy.referer, origin=policy.origin, media=media)
        return policy.public_base + image_path(url, policy.key, hint.encode())
    if policy.mode == "template" and not media:
        return policy.template.replace("{url_encoded}", quote(url, safe="")).replace("{url}", url)
    return url


def _resolve(url: str, base: str | None) -> str:
    url = url.strip()
    if not url or not base:
        return url
    try:  # urlsplit raises on malformed URLs such as "http://[::1"
        scheme = urlsplit(url).scheme.lower()
        if scheme and scheme not in ("http", "https"):
            return url
        return urljoin(base, url)
    except ValueError:
        return url


def _rewrite_srcset(value: str, base: str | None, policy: ImagePolicy) -> str:
    parts = []
    for url, descriptor in parse_srcset(value):
        new = _resolve(url, base)
        if policy.mode not in ("absolute", "none"):
            new = proxied_url(new, policy)
        parts.append((new, descriptor))
    return htmlurls.join_srcset(parts)


def _usable(src: str | None) -> bool:
    """Whether src is a real image URL rather than a lazy loader's placeholder."""
    return not htmlurls.is_placeholder(src)


def _usable_srcset(srcset: str | None) -> bool:
    return any(_usable(url) for url, _ in parse_srcset(srcset or ""))


def _recover_lazy_image(element: HtmlElement) -> None:
    """Put the real URL back into src/srcset of an <img> or <source>, drop the lazy copies."""
    if not _usable(element.get("src")):
        for attribute in LAZY_SRC_ATTRIBUTES:
            real = (element.get(attribute) or "").strip()
            if real and not real.startswith("data:"):
                element.set("src", real)
                break
    if not _usable_srcset(element.get("srcset")):
        for attribute in LAZY_SRCSET_ATTRIBUTES:
            real = (element.get(attribute) or "").strip()
            if _usable_srcset(real):
                element.set("srcset", real)
                break
    for attribute in (*LAZY_SRC_ATTRIBUTES, *LAZY_SRCSET_ATTRIBUTES):
        if attribute in element.attrib:
            del element.attrib[attribute]


def _only_image(element: HtmlElement) -> HtmlElement | None:
    if element.tag == "img":
        return element
    if element.tag in _IMAGE_WRAPPERS:
        images = list(element.iter("img"))
        if len(images) == 1:
            return images[0]
    return None


def _neighbour_image(noscript: HtmlElement) -> HtmlElement | None:
    """The image right beside a <noscript> (only whitespace between), if there is one."""
    before = noscript.getprevious()
    if before is not None and not (before.tail or "").strip():
        found = _only_image(before)
        if found is not None:
            return found
    after = noscript.getnext()
    if after is not None and not (noscript.tail or "").strip():
        return _only_image(after)
    return None


def _collapse_noscript_copies(root: HtmlElement) -> None:
    """A lazy <img> with a <noscript><img></noscript> copy beside it becomes one image.

    The sanitiser drops <noscript> with its content, so this runs first: when the lazy image
    has no usable URL, the copy takes its place; otherwise the copy goes (it would only show
    the same image twice to readers that do not run scripts).
    """
    for noscript in list(root.iter("noscript")):
        copies = list(noscript.iter("img"))
        if len(copies) != 1:
            continue
        lazy = _neighbour_image(noscript)
        if lazy is None:
            continue
        _recover_lazy_image(lazy)
        if _usable(lazy.get("src")) or _usable_srcset(lazy.get("srcset")):
            noscript.drop_tree()  # keeps its tail text
            continue
        copy = copies[0]
        _recover_lazy_image(copy)
        if not (_usable(copy.get("src")) or _usable_srcset(copy.get("srcset"))):
            continue
        for name in _DESCRIPTIVE_ATTRIBUTES:
            value = lazy.get(name)
            if value is not None and copy.get(name) is None:
                copy.set(name, value)
        copy.tail = lazy.tail
        parent = lazy.getparent()
        if parent is None:
            continue
        parent.replace(lazy, copy)
        noscript.drop_tree()


def rewrite_tree(root: HtmlElement, *, base_url: str | None, policy: ImagePolicy) -> None:
    """Rewrite images and resolve links in place.

    Parameters:
        root: the cleaned item tree (from clean.clean_tree).
        base_url: what relative URLs resolve against.
        policy: the image mode and what it needs (public base and key, or template); use
            ``for_item`` so proxy links carry the item's origin.
    """
    # One walk finds both the <noscript> copies and what to rewrite (most items have no
    # <noscript>: then collapsing them changes nothing, and the list stands).
    found = list(root.iter("noscript", "a", "img", "source", "video"))
    if policy.mode != "none" and any(element.tag == "noscript" for element in found):
        _collapse_noscript_copies(root)
        found = list(root.iter("a", "img", "source", "video"))
    targets: set[str] | None = None  # what in-item links may point at, read when one is seen
    for element in found:
        tag = element.tag
        if tag == "noscript":
            continue
        if tag == "a":
            href = element.get("href")
            if href is not None and base_url:
                if href.lstrip().startswith("#"):
                    targets = htmlurls.anchor_targets(root) if targets is None else targets
                    if htmlurls.fragment_target(href, targets) is not None:
                        continue  # a footnote: stays in the item (proxy.anchors)
                element.set("href", _resolve(href, base_url))
            continue
        if policy.mode == "none":
            continue
        if tag == "video":
            _rewrite_attribute(element, "poster", base_url, policy)  # an image
            continue
        in_picture = tag == "source" and _media_parent(element) == "picture"
        if tag == "source" and not in_picture:
            continue  # <video>/<audio> sources: media files, not images
        _recover_lazy_image(element)
        if in_picture and policy.mode == "proxy" and _is_svg_source(element):
            # The proxy refuses SVG, and a browser that picked this source would show a
            # broken image instead of falling back: leave the choice to the other sources.
            # drop_tag, not drop_tree: libxml2 nests what follows a <source> inside it.
            element.drop_tag()
            continue
        if tag == "img":
            _rewrite_attribute(element, "src", base_url, policy)
        srcset = element.get("srcset")
        if srcset:
            element.set("srcset", _rewrite_srcset(srcset, base_url, policy))


def _rewrite_attribute(
    element: HtmlElement, name: str, base_url: str | None, policy: ImagePolicy
) -> None:
    value = element.get(name)
    if value:
        absolute = _resolve(value, base_url)
        element.set(name, absolute if policy.mode == "absolute" else proxied_url(absolute, policy))


def _media_parent(source: HtmlElement) -> str:
    # libxml2 does not know <source> is void: a second <source> ends up inside the first,
    # so the element that owns it is the nearest picture/video/audio ancestor.
    for ancestor in source.iterancestors("picture", "video", "audio"):
        return str(ancestor.tag)
    return ""


def _is_svg_source(source: HtmlElement) -> bool:
    kind = (source.get("type") or "").split(";")[0].strip().lower()
    if kind:
        return kind == "image/svg+xml"
    urls = [url for url, _ in parse_srcset(source.get("srcset") or "")]
    return bool(urls) and all(urlsplit(url).path.lower().endswith(".svg") for url in urls)


# --- enclosures and Media RSS ----------------------------------------------------------------


def attachment_kind(url: str, declared_type: str | None, medium: str | None) -> str | None:
    """"image", "media" (audio or video) or None (a document, or unknown: left alone).

    Media RSS ``medium`` wins, then the declared MIME type, then the URL's file extension.
    """
    for kind in (medium or "", (declared_type or "").split("/")[0], _guessed(url)):
        kind = kind.strip().lower()
        if kind == "image":
            return "image"
        if kind in ("audio", "video"):
            return "media"
    return None


def _guessed(url: str) -> str:
    try:
        path = urlsplit(url).path
    except ValueError:
        return ""
    guessed, _ = mimetypes.guess_type(path, strict=False)
    return guessed.split("/")[0] if guessed else ""


def _attachment_url(
    url: str, kind: str | None, base_url: str | None, policy: ImagePolicy
) -> str:
    absolute = _resolve(url, base_url)
    if kind is None or policy.mode == "absolute":
        return absolute
    return proxied_url(absolute, policy, media=kind == "media")


def rewrite_attachments(entry: Entry, policy: ImagePolicy, *, base_url: str | None) -> Entry:
    """Enclosures, media:thumbnail and media:content of one item, under the image policy.

    Images are treated like <img>; audio and video go through the proxy only in proxy mode
    with ``policy.proxy_media`` (they are big), otherwise they are only resolved.

    Parameters:
        entry: the item (its HTML may already be rewritten; it is not touched here).
        policy: the item's policy (``for_item``).
        base_url: what relative attachment URLs resolve against (the feed URL).
    """
    if policy.mode == "none" or not (entry.enclosures or entry.media):
        return entry
    enclosures = tuple(
        dataclasses.replace(
            enclosure,
            url=_attachment_url(
                enclosure.url,
                attachment_kind(enclosure.url, enclosure.type, None),
                base_url,
                policy,
            ),
        )
        for enclosure in entry.enclosures
    )
    media = tuple(
        dataclasses.replace(
            item,
            url=_attachment_url(
                item.url,
                "image"
                if item.kind == "thumbnail"
                else attachment_kind(item.url, item.type, item.medium),
                base_url,
                policy,
            ),
        )
        for item in entry.media
    )
    return dataclasses.replace(entry, enclosures=enclosures, media=media)
