"""Site rules for full text, in the FiveFilters site-config format (ftr-site-config).

Reads ``<host>.txt`` files from ``FEEDSCRUB_SITE_CONFIG_DIR`` and applies their rules to an
article page's tree. Does no network I/O; ``fulltext.py`` decides when to use them.

The format (FiveFilters Full-Text RSS ``SiteConfig.php``, also read by wallabag's graby)::

    # a comment
    body: //div[@class='article-body']      XPath; first expression that matches wins
    strip: //div[@id='related']             XPath; every match is removed (repeatable)
    strip_id_or_class: share                substring of an id or class attribute
    strip_image_src: /ads/                  substring of an image's src
    http_header(user-agent): Mozilla/5.0    also referer and cookie

One ``directive: value`` per line. Directives that take a list repeat; a later
``http_header`` of the same name wins. Directives this module does not apply (``title``,
``date``, ``prune``, ``test_url``, ``replace_string(…)`` and the rest of the format) are
skipped quietly; names it does not know are skipped with a debug log. Lookup strips ``www.``
and tries ``<host>.txt``, then ``.<parent>.txt`` wildcard files, nearest parent first
(``.example.com.txt`` matches ``news.example.com``, not ``example.com`` itself).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lxml import etree
from lxml.html import HtmlElement

from proxy import htmlurls

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 256 * 1024  # the largest ftr-site-config file is a few KB; refuse oddities
# Headers FiveFilters and graby let a site file set; anything else could break the fetch.
HTTP_HEADERS = {"user-agent": "User-Agent", "referer": "Referer", "cookie": "Cookie"}
# Lazy-loading attributes that hold an image's real URL; strip_image_src checks them too,
# because the rule is written against the image the site shows, whichever attribute holds it.
_IMAGE_URL_ATTRIBUTES = ("src", *htmlurls.LAZY_SRC_ATTRIBUTES)

_MULTI = ("body", "strip", "strip_id_or_class", "strip_image_src")
# Part of the format, not applied here: skipped without a log line.
_KNOWN_UNUSED = frozenset(
    {
        "title",
        "author",
        "date",
        "test_url",
        "test_contains",
        "tidy",
        "prune",
        "autodetect_on_failure",
        "parser",
        "single_page_link",
        "single_page_link_in_feed",
        "next_page_link",
        "find_string",
        "replace_string",
        "strip_attr",
        "login_uri",
        "login_username_field",
        "login_password_field",
        "login_extra_fields",
        "not_logged_in_xpath",
        "requires_login",
        "skip_entry",
        "native_ad_clue",
        "dissolve",
        "wrap_in",
        "insert_detected_image",
        "src_lazy_load_attr",
        "if_page_contains",
        "skip_json_ld",
        "move_into",
        "skip_id_or_class",
        "strip_comments",
    }
)
_HOST = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")
# name(argument): value — the argument may hold a colon (replace_string(<a href="http:…">)).
_CALL = re.compile(r"^([A-Za-z0-9_]+)\((.*?)\)\s*:(.*)$")


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """The rules of one site-config file that full text applies."""

    body: tuple[str, ...] = ()  # XPath
    strip: tuple[str, ...] = ()  # XPath
    strip_id_or_class: tuple[str, ...] = ()
    strip_image_src: tuple[str, ...] = ()
    http_headers: tuple[tuple[str, str], ...] = ()  # (canonical name, value)

    def is_empty(self) -> bool:
        return not (
            self.body
            or self.strip
            or self.strip_id_or_class
            or self.strip_image_src
            or self.http_headers
        )


def parse_site_config(text: str, *, source: str = "site config") -> SiteConfig:
    """Read one file's text. Never raises: a line it cannot use is skipped.

    Parameters:
        text: the file's contents.
        source: a name for log lines (the file name).
    """
    lists: dict[str, list[str]] = {name: [] for name in _MULTI}
    headers: dict[str, str] = {}
    # A byte-order mark would glue itself to the first directive's name.
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        call = _CALL.match(line)
        if call:
            name, argument, value = call.group(1).lower(), call.group(2).strip(), call.group(3)
        elif ":" in line:
            name, _, value = line.partition(":")
            name, argument = name.strip().lower(), None
        else:
            logger.debug("siteconfig: %s line %d has no colon; skipped", source, number)
            continue
        value = value.strip()
        if not name or not value:
            continue
        if argument is not None:
            header = HTTP_HEADERS.get(argument.lower())
            if name == "http_header" and header is not None:
                headers[header] = value  # the last one wins, as in graby
            elif name not in _KNOWN_UNUSED:
                logger.debug(
                    "siteconfig: %s line %d: %s(%s) not used", source, number, name, argument
                )
            continue
        if name in lists:
            if name in ("body", "strip") and not _valid_xpath(value):
                logger.warning(
                    "siteconfig: %s line %d: invalid XPath %r; skipped", source, number, value
                )
                continue
            if name in ("strip_id_or_class", "strip_image_src"):
                # FiveFilters removes quotes from these before building its XPath; so do we.
                value = value.replace("'", "").replace('"', "").strip()
                if not value:
                    continue
            lists[name].append(value)
        elif name not in _KNOWN_UNUSED:
            logger.debug(
                "siteconfig: %s line %d: unknown directive %r; skipped", source, number, name
            )
    return SiteConfig(
        body=tuple(lists["body"]),
        strip=tuple(lists["strip"]),
        strip_id_or_class=tuple(lists["strip_id_or_class"]),
        strip_image_src=tuple(lists["strip_image_src"]),
        http_headers=tuple(headers.items()),
    )


def _valid_xpath(expression: str) -> bool:
    try:
        etree.XPath(expression)
    except etree.XPathError:
        return False
    return True


def lookup_names(host: str) -> list[str]:
    """File names tried for a host, in order: ``host.txt``, then wildcard parents.

    ``www.`` is stripped first. Parents stop at two labels: ``.com.txt`` is never tried.
    """
    host = host.lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if not host or len(host) > 200 or not _HOST.match(host):
        return []
    labels = host.split(".")
    names = [host + ".txt"]
    names += ["." + ".".join(labels[i:]) + ".txt" for i in range(1, len(labels) - 1)]
    return names


class SiteConfigs:
    """The site-config folder. Files are read when first needed and re-read when they change,
    so rules can be edited without a restart."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory) if directory else None
        self._loaded: dict[str, tuple[tuple[int, int], SiteConfig | None]] = {}
        if self.directory is not None and not self.directory.is_dir():
            # Not fatal (it may be mounted later), but a typo here would silently do nothing.
            logger.warning("siteconfig: %s is not a directory; no site rules yet", directory)

    def for_url(self, url: str) -> SiteConfig | None:
        """The rules for a page URL, or None when no file matches (or it has no rules)."""
        if self.directory is None:
            return None
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            return None
        for name in lookup_names(host):
            path = self.directory / name
            try:
                status = path.stat()
            except OSError:
                continue  # no such file: try the next name
            return self._load(name, path, (status.st_mtime_ns, status.st_size))
        return None

    def _load(self, name: str, path: Path, stamp: tuple[int, int]) -> SiteConfig | None:
        known = self._loaded.get(name)
        if known is not None and known[0] == stamp:
            return known[1]
        config: SiteConfig | None = None
        if stamp[1] > MAX_FILE_BYTES:
            logger.warning(
                "siteconfig: %s is %d bytes, over %d; ignored", path, stamp[1], MAX_FILE_BYTES
            )
        else:
            try:
                text = path.read_bytes().decode("utf-8", errors="replace")
            except OSError as exc:
                logger.warning("siteconfig: cannot read %s: %s", path, exc.strerror or exc)
            else:
                parsed = parse_site_config(text, source=name)
                config = None if parsed.is_empty() else parsed
        self._loaded[name] = (stamp, config)
        return config


# --- applying the rules to a page ------------------------------------------------------------


def _removable(element: HtmlElement, root: HtmlElement) -> bool:
    # A rule that matches <html> or <body> (a class like "page-share" on body is common)
    # would empty the page; FiveFilters lets it, we keep the page and skip that match.
    return (
        element is not root
        and element.getparent() is not None
        and element.tag
        not in (
            "html",
            "body",
            "head",
        )
    )


def apply_strip(root: HtmlElement, site: SiteConfig) -> int:
    """Remove what ``strip``, ``strip_id_or_class`` and ``strip_image_src`` name.

    Returns how many elements (or attributes) went. A failing expression is logged and skipped.
    """
    removed = 0
    for expression in site.strip:
        for match in _matches(root, expression, "strip"):
            if isinstance(match, HtmlElement):
                if _removable(match, root):
                    match.drop_tree()
                    removed += 1
            elif getattr(match, "is_attribute", False):
                # strip: //img/@srcset removes the attribute, as FiveFilters does (DOMAttr).
                parent = match.getparent()
                if parent is not None and match.attrname in parent.attrib:
                    del parent.attrib[match.attrname]
                    removed += 1
    for needle in site.strip_id_or_class:
        # A variable, not string formatting: the value can never break out of the XPath.
        for match in root.xpath("//*[contains(@class, $s) or contains(@id, $s)]", s=needle):
            if _removable(match, root):
                match.drop_tree()
                removed += 1
    for needle in site.strip_image_src:
        doomed = [
            image
            for image in root.iter("img")
            if any(needle in (image.get(name) or "") for name in _IMAGE_URL_ATTRIBUTES)
        ]
        for image in doomed:  # collected first: removing while iterating skips elements
            if _removable(image, root):
                image.drop_tree()
                removed += 1
    return removed


def _matches(root: HtmlElement, expression: str, directive: str) -> list[Any]:
    """What an XPath of a site config selects; [] when it fails (logged) or selects a number
    or a boolean, which name nothing to remove or keep."""
    try:
        found = root.xpath(expression)
    except etree.XPathError as exc:
        logger.debug("siteconfig: %s %r failed: %s", directive, expression, exc)
        return []
    return found if isinstance(found, list) else []


def select_body(root: HtmlElement, site: SiteConfig) -> list[HtmlElement]:
    """The elements of the first ``body`` expression that matches any, or []."""
    for expression in site.body:
        matches = _matches(root, expression, "body")
        if matches:
            elements = [m for m in matches if isinstance(m, HtmlElement)]
            if elements:
                return elements
    return []
