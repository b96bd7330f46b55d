"""GET /: a plain page listing the named feeds (each with its preview) and building a /feed
link to copy, with a preview link for it. No JavaScript."""

from __future__ import annotations

import html
from urllib.parse import quote

from aiohttp import web

from proxy import __version__
from proxy.errors import ProxyError, Unauthorized
from proxy.server import auth, links
from proxy.server.http import public_base
from proxy.server.keys import PIPELINE, SETTINGS

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>feedscrub</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}}
input[type=url]{{width:100%}}code{{background:#f4f4f4;padding:0 .2em}}
table{{border-collapse:collapse}}td,th{{padding:.2em .6em;text-align:left}}</style></head>
<body><h1>feedscrub {version}</h1>
<p>A feed-cleaning proxy: feeds come back without promo footers, share buttons and empty
markup, with images served through this proxy.</p>
{named}
{adhoc}
</body></html>
"""

_ADHOC = """<h2>Clean any feed</h2>
<p>Subscribe your reader to <code>{base}/feed?url=&lt;feed URL&gt;</code>,
or build the link here:</p>
<form action="/feed" method="get">{key_field}
<p><label>Feed URL<br><input type="url" name="url" required
 placeholder="https://example.org/feed.xml" value="{url}"></label></p>
<p><label>Format <select name="format">{formats}</select></label>
<button type="submit" formaction="/">{make}</button>
<button type="submit">Open cleaned feed</button></p></form>
{result}"""

_FORMATS = (("", "same as upstream"), ("rss", "RSS 2.0"), ("atom", "Atom 1.0"))

# FEEDSCRUB_ACCESS_KEY set and no key given: no form (research §A7), just how to get in.
_LOCKED = """<h2>Clean any feed</h2>
<p>This instance needs an access key for ad-hoc feeds. With the key, open
<code>{base}/?key=&lt;access key&gt;</code> to build links here. A signed link works for one
feed without the key: <code>{base}/feed?url=&lt;feed URL&gt;&amp;sig=&lt;signature&gt;</code>;
the operator makes one with <code>feedscrub sign URL</code>, or here with the key.</p>"""


async def page(request: web.Request) -> web.Response:
    base = public_base(request)
    feeds = request.app[PIPELINE].named_feeds()
    key = request.query.get("key", "")
    opml_link = "/opml" + (f"?key={quote(key, safe='')}" if key else "")
    if feeds and not _may_list_named(request):
        named = (
            f"<h2>Feeds</h2><p>{len(feeds)} named feeds; open this page with "
            "<code>?key=&lt;access key&gt;</code> to see their signed links.</p>"
        )
    elif feeds:
        rows = "\n".join(
            '<tr><td>{title}</td><td><a href="{proxy}">{proxy}</a></td>'
            '<td><a href="{preview}">preview</a></td>'
            '<td><a href="{url}">upstream</a></td></tr>'.format(
                title=html.escape(f.title or f.name),
                proxy=html.escape(links.named_feed_link(request.app[SETTINGS], base, f.name)),
                preview=html.escape(links.preview_path(name=f.name, key=key)),
                url=html.escape(f.url),
            )
            for f in feeds
        )
        named = (
            "<h2>Feeds</h2><table><tr><th>feed</th><th>subscribe to</th><th></th><th></th></tr>\n"
            f"{rows}</table>\n<p>All of them at once, for your reader: "
            f'<a href="{html.escape(opml_link)}">{html.escape(base)}/opml</a></p>'
        )
    else:
        named = ""
    adhoc = _adhoc(request, base) if request.app[SETTINGS].adhoc else ""
    body = _PAGE.format(version=__version__, named=named, adhoc=adhoc)
    # The page may carry ?key=: keep it out of shared caches and other sites' Referer.
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return web.Response(text=body, content_type="text/html", headers=headers)


def _adhoc(request: web.Request, base: str) -> str:
    """The form; once submitted to / (its first button), the link to copy and a preview."""
    settings = request.app[SETTINGS]
    key = request.query.get("key", "")
    if settings.access_key and not auth.key_matches(settings, key):
        return _LOCKED.format(base=html.escape(base))
    url = request.query.get("url", "").strip()
    fmt = request.query.get("format", "")
    fmt = fmt if fmt in ("rss", "atom") else ""
    result = ""
    if url:
        try:
            if settings.access_key:
                link = base + links.sign_feed_url(url, settings.access_key)
                what = "Signed link, for this feed only, without the key:"
            else:
                link = base + links.feed_link(url)
                what = "Subscribe your reader to this link:"
            # No "&format=" unless a format was chosen: the upstream's own is the default.
            if fmt:
                link += f"&format={fmt}"
            preview = links.preview_path(url=url, key=key if settings.access_key else "")
            result = (
                f'<p>{what}<br><a id="feed-link" href="{html.escape(link)}">'
                f"<code>{html.escape(link)}</code></a></p>\n"
                f'<p><a id="preview-link" href="{html.escape(preview)}">'
                "Preview it: what cleaning removes, item by item</a></p>"
            )
        except ProxyError as exc:
            result = f'<p class="error">{html.escape(exc.message)}</p>\n'
    formats = "".join(
        f'<option value="{value}"{" selected" if value == fmt else ""}>{label}</option>'
        for value, label in _FORMATS
    )
    return _ADHOC.format(
        base=html.escape(base),
        key_field=(
            f'<input type="hidden" name="key" value="{html.escape(key)}">'
            if settings.access_key
            else ""
        ),
        url=html.escape(url),
        formats=formats,
        make="Make a signed link" if settings.access_key else "Get the link",
        result=result,
    )


def _may_list_named(request: web.Request) -> bool:
    """With FEEDSCRUB_PROTECT_NAMED, only a request carrying the key sees (signed) links."""
    settings = request.app[SETTINGS]
    if not (settings.protect_named and settings.access_key):
        return True
    try:
        auth.require_key(settings, request.query, request.headers, "the list of named feeds")
    except Unauthorized:
        return False
    return True
