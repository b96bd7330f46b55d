"""GET /: a plain page saying what this instance serves and building a /feed link. No JavaScript."""

from __future__ import annotations

import html

from aiohttp import web

from proxy import __version__
from proxy.server.http import public_base

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>feedscrub</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}
input[type=url]{{width:100%}}code{{background:#f4f4f4;padding:0 .2em}}</style></head>
<body><h1>feedscrub {version}</h1>
<p>A feed-cleaning proxy: subscribe your reader to
<code>{base}/feed?url=&lt;feed URL&gt;</code> and get the feed back without promo footers,
share buttons and empty markup, with images served through this proxy.</p>
<form action="/feed" method="get">
<p><label>Feed URL<br><input type="url" name="url" required placeholder="https://example.org/feed.xml"></label></p>
<p><label>Format <select name="format"><option value="">same as upstream</option>
<option value="rss">RSS 2.0</option><option value="atom">Atom 1.0</option></select></label>
<button type="submit">Open cleaned feed</button></p></form>
</body></html>
"""


async def page(request: web.Request) -> web.Response:
    body = _PAGE.format(version=__version__, base=html.escape(public_base(request)))
    return web.Response(text=body, content_type="text/html")
