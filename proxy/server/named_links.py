"""Links to named feeds for the index page and OPML: signed when named feeds are protected."""

from __future__ import annotations

from aiohttp import web

from proxy import access
from proxy.server.keys import SETTINGS


def named_feed_link(request: web.Request, base: str, name: str) -> str:
    settings = request.app[SETTINGS]
    if settings.protect_named and settings.access_key:
        return base + access.sign_named_feed(name, settings.access_key)
    return f"{base}/feeds/{name}"


def may_list_named(request: web.Request) -> bool:
    """With FEEDSCRUB_PROTECT_NAMED, only a request carrying the key sees (signed) links."""
    settings = request.app[SETTINGS]
    if not (settings.protect_named and settings.access_key):
        return True
    try:
        access.require_key(settings, request.query, request.headers, "the list of named feeds")
    except access.Unauthorized:
        return False
    return True
