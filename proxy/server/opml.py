"""GET /opml: every named feed as an OPML 2.0 subscription list pointing at this proxy.

With FEEDSCRUB_PROTECT_NAMED it needs the key, and its links are signed per feed."""

from __future__ import annotations

import asyncio
from email.utils import formatdate
from xml.sax.saxutils import quoteattr

from aiohttp import web

from proxy.server import auth
from proxy.server.http import public_base, vary
from proxy.server.keys import PIPELINE, SETTINGS
from proxy.server.links import named_feed_link


async def export(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if settings.protect_named:
        auth.require_key(settings, request.query, request.headers, "/opml")
    base = public_base(request)
    pipeline = request.app[PIPELINE]
    feeds = pipeline.named_feeds()
    # htmlUrl is the site (the feed's own <link>), known once the feed has been fetched.
    sites = await asyncio.gather(*(pipeline.site_link(f) for f in feeds))
    outlines = "\n".join(
        f'    <outline type="rss" text={quoteattr(f.title or f.name)} '
        f"title={quoteattr(f.title or f.name)} "
        f"xmlUrl={quoteattr(named_feed_link(settings, base, f.name))}"
        + (f" htmlUrl={quoteattr(site)}" if site else "")
        + "/>"
        for f, site in zip(feeds, sites, strict=True)
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n  <head>\n'
        "    <title>feedscrub feeds</title>\n"
        f"    <dateCreated>{formatdate(usegmt=True)}</dateCreated>\n  </head>\n"
        f"  <body>\n{outlines}\n  </body>\n</opml>\n"
    )
    return web.Response(
        text=body,
        content_type="text/x-opml",
        headers={
            "Content-Disposition": 'attachment; filename="feedscrub.opml"',
            "Vary": vary(request),
        },
    )
