"""Reading URLs the way the cleaning rules share: a second level of escaping undone, the
host and its parent domains, query fields and segment-aware path prefixes. Does no I/O.
"""

from __future__ import annotations

import html
import html.entities
import re
from urllib.parse import SplitResult, unquote, urlsplit

from proxy.clean.nodes import one_of

# Where html.unescape would change something: a numeric reference, a legacy name that may
# go without ';' (also as the start of a longer word: "&notit" is "¬it"), or "&word;".
_LEGACY_NAMES = sorted((n for n in html.entities.html5 if not n.endswith(";")), key=len)
_DECODABLE = re.compile(
    "&(?:#[0-9]|#[xX][0-9a-fA-F]|" + one_of(_LEGACY_NAMES) + "|[^\t\n\f <&#;]{1,32};)"
)


def unescape(value: str) -> str:
    """html.unescape(value), without its per-'&' work when nothing would be decoded.

    URL queries are full of '&' separators that html.unescape looks up one by one.
    """
    if "&" in value and _DECODABLE.search(value):
        return html.unescape(value)
    return value


def split_url(value: str | None) -> SplitResult | None:
    """Split an attribute URL after undoing a second level of escaping (`&amp;#038;`).

    lxml has already decoded the attribute once; feeds that escape twice still carry
    `&amp;` or `&#038;` at this point.
    """
    if not value:
        return None
    try:
        return urlsplit(unescape(value).strip())
    except ValueError:  # e.g. an unclosed IPv6 bracket: not a URL any rule cares about
        return None


def query_values(query: str, name: str) -> list[str]:
    """parse_qs(query).get(name, []), decoding only the fields that can be name."""
    if name not in query and "%" not in query:
        return []
    values = []
    for field in query.split("&"):
        key, equals, value = field.partition("=")
        if not equals or not value:
            continue  # parse_qs skips fields without a value
        if "%" in key or "+" in key:
            key = unquote(key.replace("+", " "))
        if key == name:
            values.append(unquote(value.replace("+", " ")))
    return values


def host_of(parts: SplitResult) -> str:
    try:
        return (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def host_matches(host: str, domain: str) -> bool:
    """`host` is `domain` or one of its subdomains (www., m., …)."""
    return host == domain or host.endswith("." + domain)


def domains_of(host: str) -> list[str]:
    """Every domain that host_matches(host, domain) accepts: host, then its parents."""
    found = [host]
    at = host.find(".")
    while at >= 0:
        found.append(host[at + 1 :])
        at = host.find(".", at + 1)
    return found


def path_matches(path: str, prefix: str) -> bool:
    """Segment-aware prefix test: "/share" matches "/share" and "/share/url", not "/shared".

    A prefix ending in "*" is a plain string prefix; "/" matches every path.
    """
    path = path.lower()
    prefix = prefix.lower()
    if prefix == "/":
        return True
    if prefix.endswith("*"):
        return path.startswith(prefix[:-1])
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")
