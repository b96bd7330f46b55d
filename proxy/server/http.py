"""Small HTTP helpers shared by handlers: public base URL and conditional requests."""

from __future__ import annotations

import functools
from email.utils import formatdate, parsedate_to_datetime

from aiohttp import web

from proxy.config import Settings
from proxy.server.keys import SETTINGS


def public_base(request: web.Request, settings: Settings | None = None) -> str:
    """scheme://host readers reach us at: FEEDSCRUB_PUBLIC_URL when set, else the request's
    (``settings``: the app's, when the caller has them at hand)."""
    configured = (settings or request.app[SETTINGS]).public_url
    if configured:
        return configured.rstrip("/")
    return f"{request.scheme}://{request.host}"


def vary(request: web.Request) -> str:
    """Vary for a response with links in it: built from the Host header (no
    FEEDSCRUB_PUBLIC_URL), a shared cache in front must keep one copy per Host."""
    return vary_of(request.app[SETTINGS])


def vary_of(settings: Settings) -> str:
    """``vary`` for an app with these settings."""
    if settings.public_url:
        return "Accept-Encoding"
    return "Accept-Encoding, Host"


@functools.lru_cache(maxsize=1024)  # one per output; formatting on every poll adds up
def http_date(timestamp: float) -> str:
    return formatdate(timestamp, usegmt=True)


def not_modified(request: web.Request, etag: str, last_modified: float) -> bool:
    """True when the reader's If-None-Match / If-Modified-Since show it has this version."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since).timestamp()
        except (TypeError, ValueError, IndexError):
            return False
        return int(last_modified) <= int(since)
    return False
