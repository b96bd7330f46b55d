"""Image and link rewriting on the cleaned item tree. Does no I/O.

Lazy-loaded images get their real URL back, relative URLs are resolved (xml:base, else the
feed URL, else the item link), and image URLs are turned into signed proxy links, a
template, or left absolute, per FEEDSCRUB_IMAGES.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from lxml.html import HtmlElement

from proxy.signing import image_path

# Attributes lazy-loading scripts keep the real image in, most specific first.
LAZY_SRC_ATTRIBUTES = (
    "data-src",
    "data-lazy-src",
    "data-original",
    "data-actualsrc",
    "data-orig-src",
    "data-lazy",
    "data-url",
)
LAZY_SRCSET_ATTRIBUTES = ("data-srcset", "data-lazy-srcset")
# Placeholders lazy loaders put in src until a script swaps the real image in.
_PLACEHOLDER = re.compile(r"(?i)(^data:|blank\.gif|spacer\.gif|placeholder|lazy[-_]?load|/lazy\.)")


@dataclass(frozen=True, slots=True)
class ImagePolicy:
    mode: str  # proxy | template | absolute | none
    public_base: str = ""  # e.g. "https://feeds.example.org" (no trailing slash)
    key: bytes = b""
    template: str = ""


def proxied_url(url: str, policy: ImagePolicy) -> str:
    """What an absolute image URL becomes under the policy."""
    if not url.lower().startswith(("http://", "https://")):
        return url  # data: images and other schemes are left to the sanitiser
    if policy.mode == "proxy":
        return policy.public_base + image_path(url, policy.key)
    if policy.mode == "template":
        return policy.template.replace("{url_encoded}", quote(url, safe="")).replace("{url}", url)
    return url


def parse_srcset(value: str) -> list[tuple[str, str]]:
    """Split a srcset into (url, descriptor) pairs the way browsers do (commas may sit in URLs)."""
    candidates: list[tuple[str, str]] = []
    i, n = 0, len(value)
    while i < n:
        while i < n and (value[i].isspace() or value[i] == ","):
            i += 1
        start = i
        while i < n and not value[i].isspace():
            i += 1
        url = value[start:i]
        descriptor = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            descriptor_start = i
            while i < n and value[i] != ",":
                i += 1
            descriptor = value[descriptor_start:i].strip()
        if url:
            candidates.append((url, descriptor))
    return candidates


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
        parts.append(f"{new} {descriptor}".strip())
    return ", ".join(parts)


def _recover_lazy_image(img: HtmlElement) -> None:
    src = (img.get("src") or "").strip()
    if not src or _PLACEHOLDER.search(src):
        for attribute in LAZY_SRC_ATTRIBUTES:
            real = (img.get(attribute) or "").strip()
            if real and not real.startswith("data:"):
                img.set("src", real)
                break
    if not img.get("srcset"):
        for attribute in LAZY_SRCSET_ATTRIBUTES:
            real = (img.get(attribute) or "").strip()
            if real:
                img.set("srcset", real)
                break
    for attribute in (*LAZY_SRC_ATTRIBUTES, *LAZY_SRCSET_ATTRIBUTES):
        if attribute in img.attrib:
            del img.attrib[attribute]


def rewrite_tree(root: HtmlElement, *, base_url: str | None, policy: ImagePolicy) -> None:
    """Rewrite images and resolve links in place.

    Parameters:
        root: the cleaned item tree (from clean.clean_tree).
        base_url: what relative URLs resolve against.
        policy: the image mode and what it needs (public base and key, or template).
    """
    for element in root.iter("a", "img", "source"):
        tag = element.tag
        if tag == "a":
            href = element.get("href")
            if href is not None and base_url:
                element.set("href", _resolve(href, base_url))
            continue
        if policy.mode == "none":
            continue
        if tag == "img":
            _recover_lazy_image(element)
            src = element.get("src")
            if src:
                absolute = _resolve(src, base_url)
                element.set(
                    "src", absolute if policy.mode == "absolute" else proxied_url(absolute, policy)
                )
        srcset = element.get("srcset")
        if srcset:
            element.set("srcset", _rewrite_srcset(srcset, base_url, policy))
