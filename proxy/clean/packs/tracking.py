"""The `tracking` pack: campaign and click-id parameters on links. Part of the clean stage.

A reader who follows a link from a feed should not carry the publisher's campaign tags
(`utm_*`) or an ad network's click id to the next site. Only the query string changes, and
only by dropping whole `name=value` fields: every other field keeps its bytes, escaping and
order, and a URL without tracking parameters is left byte for byte as it was.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from urllib.parse import unquote

from lxml.html import HtmlElement

from proxy.clean.nodes import one_of, set_link
from proxy.clean.registry import declare_pack, item_rule
from proxy.clean.urls import domains_of, host_of, query_values, split_url
from proxy.urlscheme import WEB_SCHEMES, scheme

PACK = declare_pack(
    "tracking",
    "utm_*, fbclid, gclid, mc_eid and other tracking parameters on links; redirect wrappers"
    " (t.umblr.com/redirect, href.li, google.com/url, l.facebook.com/l.php, link.zhihu.com…)"
    " unwrapped to their target",
)

# Exact parameter names (case-sensitive, as the services write them), besides utm_*.
TRACKING_PARAMETERS = frozenset(
    {
        # Google Ads / Analytics
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "_ga",
        "_gl",
        # Microsoft, Meta, Twitter/X, TikTok, LinkedIn, Yandex, Instagram
        "msclkid",
        "fbclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "yclid",
        "_openstat",
        "igshid",
        "ref_src",
        "ref_url",
        # Mailchimp, HubSpot, Marketo, Vero, Omeda, Drip, Wicked Reports, Adobe
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        "hsCtaTracking",
        "mkt_tok",
        "vero_id",
        "vero_conv",
        "oly_anon_id",
        "oly_enc_id",
        "__s",
        "wickedid",
        "s_cid",
        # Feeds' own campaign tags: The Washington Post's `?wprss=rss_wellness` (its feed
        # name; pheedo-washingtonpost in the real corpus), WP RSS Aggregator's name for it too
        "wprss",
    }
)
# utm_source, utm_medium, utm_campaign, utm_term, utm_content, utm_id… in any case.
_UTM = "utm_"

# Field separators in a query as it reaches us: `&`, and `&amp;` / `&#038;` when the feed
# escaped the URL twice. (Kept in the split, so that each kept field keeps its own.)
_SEPARATOR = re.compile(r"(&(?:amp;|#0*38;|#x0*26;)?)", re.IGNORECASE)
# Where the fragment starts: a "#" that is not part of a `&#038;` separator.
_FRAGMENT = re.compile(r"(?<!&)#")
# Cheap test that a URL may hold a tracking parameter at all.
_MAY_TRACK = re.compile("[?&;](?:(?i:utm_)|(?:" + one_of(TRACKING_PARAMETERS) + ")(?:[=&#]|$))")


def is_tracking_parameter(name: str) -> bool:
    return name in TRACKING_PARAMETERS or name[:4].lower() == _UTM


def strip_tracking(url: str) -> str:
    """url without its tracking query fields; the very same string when it has none."""
    start = url.find("?")
    fragment = _FRAGMENT.search(url)
    end = fragment.start() if fragment else len(url)
    if start < 0 or end < start or not _MAY_TRACK.search(url, start, end):
        return url
    parts = _SEPARATOR.split(url[start + 1 : end])  # field, separator, field, …
    kept: list[str] = []
    for i in range(0, len(parts), 2):
        field = parts[i]
        if field and is_tracking_parameter(field.split("=", 1)[0]):
            continue
        kept.append(field if not kept else parts[i - 1] + field)
    if len(kept) * 2 - 1 == len(parts):
        return url  # nothing was a tracking parameter after all
    query = "".join(kept)
    return url[:start] + ("?" + query if kept else "") + url[end:]


# Redirect wrappers: (domain, path) → the query parameter holding the target; "" means the
# whole query is the target (href.li/?https://…). Only exact paths: a wrapper's other
# pages are content.
REDIRECT_WRAPPERS: dict[tuple[str, str], str] = {
    ("t.umblr.com", "/redirect"): "z",
    ("href.li", "/"): "",
    ("google.com", "/url"): "q",
    ("l.facebook.com", "/l.php"): "u",
    ("lm.facebook.com", "/l.php"): "u",
    ("l.instagram.com", "/"): "u",
    ("link.zhihu.com", "/"): "target",
    ("youtube.com", "/redirect"): "q",
    ("vk.com", "/away.php"): "to",
    ("steamcommunity.com", "/linkfilter/"): "url",
}
_WRAPPER_DOMAINS = frozenset(domain for domain, _path in REDIRECT_WRAPPERS)


def unwrapped_target(href: str) -> str | None:
    """The URL a redirect wrapper link leads to, when it is a plain web URL; else None.

    The target goes through the same checks as any link we emit: http(s) only, however the
    scheme is disguised, and no literal loopback, private or link-local address.
    """
    parts = split_url(href)
    if parts is None or parts.scheme.lower() not in ("http", "https"):
        return None
    host = host_of(parts)
    domain = next((d for d in domains_of(host) if d in _WRAPPER_DOMAINS), None)
    if domain is None:
        return None
    name = REDIRECT_WRAPPERS.get((domain, parts.path or "/"))
    if name is None:
        return None
    if name:
        values = query_values(parts.query, name)
        target = values[0] if values else ""
    else:
        target = unquote(parts.query)
    target = target.strip()
    if not target or scheme(target) not in WEB_SCHEMES:
        return None
    target_parts = split_url(target)
    if target_parts is None or not host_of(target_parts):
        return None
    try:
        address = ipaddress.ip_address(host_of(target_parts).strip("[]"))
    except ValueError:
        return target  # a name, not a literal address
    return target if address.is_global else None


def _rewrite_links(root: HtmlElement, rewrite: Callable[[str], str | None]) -> None:
    """Each link with a query gets rewrite(href) where that is another URL (not None, not
    href itself)."""
    for link in root.iter("a"):
        href = link.get("href")
        if href and "?" in href:
            new = rewrite(href)
            if new is not None and new is not href:
                set_link(link, "href", new)


@item_rule(PACK, "redirect_wrappers")
def unwrap_redirect_links(root: HtmlElement) -> None:
    """A redirect wrapper (t.umblr.com/redirect, google.com/url…) only counts the click."""
    _rewrite_links(root, unwrapped_target)


@item_rule(PACK, "parameters")
def strip_tracking_parameters(root: HtmlElement) -> None:
    """Remove campaign and click-id parameters (utm_*, fbclid, gclid, mc_eid…) from links.

    They tag the reader for the publisher's analytics; the link works the same without them.
    """
    _rewrite_links(root, strip_tracking)
