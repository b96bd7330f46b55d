"""evidence.tracker_images: images from tracker URL shapes and ad-system hosts, any size."""

from __future__ import annotations

from lxml.html import HtmlElement

from proxy.clean import registry
from proxy.clean.nodes import LAZY_SRC_ATTRIBUTES, drop, short_text
from proxy.clean.packs.evidence.common import PACK
from proxy.clean.packs.evidence.edges import any_of
from proxy.clean.registry import item_rule
from proxy.clean.urls import domains_of, host_of, split_url, unescape

# --- tracker_images -------------------------------------------------------------------------

# Hosts (and their subdomains) whose images are ads or view counters; the `pixels` pack
# has the platforms' own (FeedBurner, WordPress.com, Medium, Google Analytics…).
TRACKER_HOSTS = frozenset(
    {
        "assoc-amazon.com",
        "assoc-amazon.co.uk",
        "assoc-amazon.de",
        "assoc-amazon.fr",
        "assoc-amazon.jp",
        "assoc-amazon.ca",
        "doubleclick.net",
        "googlesyndication.com",
        "googleadservices.com",
        "adnxs.com",
        "bat.bing.com",
        "analytics.twitter.com",
        "px.ads.linkedin.com",
        "ct.pinterest.com",
        "pixel.mathtag.com",
        "counter.yadro.ru",
        "top-fwz1.mail.ru",
    }
)
# Amazon's ad system serves product images too (ws-*); only ir-* counts views.
AMAZON_AD_SYSTEM = "amazon-adsystem.com"
# Script names that only ever count a view (Matomo, Piwik), on any host.
TRACKER_SCRIPTS = frozenset({"matomo.php", "piwik.php"})
# Matomo's HTTP tracking API by its parameters, whatever the script is renamed to (sites
# proxy it as /p.php, /js/, /count…): `idsite` with one of the parameters only a page-view
# request sends. `idsite` alone is not enough: a gallery or a CMS may take a site id too.
MATOMO_SITE = "idsite"
MATOMO_VIEW = frozenset({"rec", "action_name", "url", "urlref", "_id", "rand", "apiv", "e_c"})
# A path segment naming a tracking endpoint, when an id follows it or a query is given.
TRACKER_SEGMENTS = frozenset({"pixel", "track", "tracking", "open", "beacon", "trk"})
_ENDPOINT_SUFFIXES = (".php", ".gif", ".png", ".aspx", ".jsp")
ID_MIN = 8  # an id segment: this long at least, with a digit


def _stem(segment: str) -> str:
    for suffix in _ENDPOINT_SUFFIXES:
        if segment.endswith(suffix):
            return segment[: -len(suffix)]
    return segment


def _is_id(segment: str) -> bool:
    stem = segment[:-4] if segment.endswith(".gif") else segment
    return (
        len(stem) >= ID_MIN
        and "." not in stem
        and any(c.isdigit() for c in stem)
        and all(c.isalnum() or c in "-_=" for c in stem)
    )


def _query_names(query: str) -> set[str]:
    """The parameter names of a query, also when its `&` were escaped twice (`&amp;amp;`
    leaves `idsite=8amp;action_name=…` behind: `;` separates too)."""
    names = set()
    for piece in query.replace(";", "&").split("&"):
        name = piece.split("=", 1)[0].strip().lower()
        if name:
            names.add(name)
    return names


def _is_matomo_view(query: str) -> bool:
    if MATOMO_SITE not in query.lower():
        return False  # (cheap test first: most image URLs have no such parameter)
    names = _query_names(query)
    return MATOMO_SITE in names and not MATOMO_VIEW.isdisjoint(names)


# What every URL is_tracker_url accepts holds, lower-cased: a tracker host, the ad system,
# a tracker script, Matomo's site parameter or a tracking segment ("tracking" holds
# "track"). Looked for first, in the URL as split_url reads it (once unescaped, without the
# tabs and line breaks urlsplit drops), so that most images (a CDN path) are not split:
# the host, the path and the query are parts of that string, and str.lower() only ever
# lower-cases an ASCII letter out of "K" (KELVIN SIGN) and "İ", the same in a part as in
# the whole. (A few fixed words: the pattern is linear.)
_MARKERS = (
    *TRACKER_HOSTS,
    AMAZON_AD_SYSTEM,
    *TRACKER_SCRIPTS,
    MATOMO_SITE,
    *TRACKER_SEGMENTS,
)
_ANY_MARKER = any_of(m for m in _MARKERS if not any(o != m and o in m for o in _MARKERS))


def may_be_tracker_url(value: str) -> bool:
    """False where is_tracker_url(value) is false, cheaply (no urlsplit)."""
    url = unescape(value).lower()
    if "\t" in url or "\n" in url or "\r" in url:  # (str.translate cost more than the search)
        url = url.replace("\t", "").replace("\n", "").replace("\r", "")
    return _ANY_MARKER.search(url) is not None


def is_tracker_url(value: str | None) -> bool:
    if not value or (registry.use_prefilters and not may_be_tracker_url(value)):
        return False
    return read_as_tracker_url(value)


def read_as_tracker_url(value: str) -> bool:
    """is_tracker_url without its first test (tests compare the two)."""
    parts = split_url(value)
    if parts is None or parts.scheme.lower() not in ("http", "https", ""):
        return False
    host = host_of(parts)
    if not host:
        return False
    domains = domains_of(host)
    if any(domain in TRACKER_HOSTS for domain in domains):
        return True
    if AMAZON_AD_SYSTEM in domains and host.startswith("ir-"):
        return True
    segments = [s for s in (parts.path or "").lower().split("/") if s]
    if segments and segments[-1] in TRACKER_SCRIPTS:
        return True
    if parts.query and _is_matomo_view(parts.query):
        return True
    for index, segment in enumerate(segments):
        if _stem(segment) not in TRACKER_SEGMENTS:
            continue
        rest = segments[index + 1 :]
        if rest and all(_is_id(s) for s in rest):
            return True
        if not rest and "=" in parts.query:
            return True
    return False


# (an image's own attribute names, not each of these looked up: most images have a src;
# keys(): an element iterates its children)
_URL_NAMES = frozenset({"src", *LAZY_SRC_ATTRIBUTES})


@item_rule(PACK, "tracker_images")
def remove_tracker_images(root: HtmlElement) -> None:
    """An image from a tracker endpoint or ad-system host, whatever its size: it counts views."""
    found = [
        image
        for image in root.iter("img")
        if any(is_tracker_url(image.get(n)) for n in image.keys() if n in _URL_NAMES)  # noqa: SIM118
        and short_text(image, 0) is not None
        and len((image.get("alt") or "").strip()) <= 20
    ]
    for image in found:
        drop(image)
