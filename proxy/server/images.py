"""GET /img/<signature>/<encoded-url>: the signed image proxy."""

from __future__ import annotations

from aiohttp import web

from proxy.server.keys import PIPELINE

# Images are addressed by content-derived, signed URLs: they never change under one URL.
IMMUTABLE = "public, max-age=31536000, immutable"


async def proxy(request: web.Request) -> web.StreamResponse:
    image = await request.app[PIPELINE].image(
        request.match_info["signature"], request.match_info["encoded"]
    )
    headers = {
        "ETag": image.etag,
        "Cache-Control": IMMUTABLE,
        "X-Content-Type-Options": "nosniff",
        # Opened on its own, the image can do nothing: no scripts, no plugins, no forms.
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
    }
    if_none_match = request.headers.get("If-None-Match", "")
    if image.etag in {t.strip().removeprefix("W/") for t in if_none_match.split(",")}:
        return web.Response(status=304, headers=headers)
    return web.Response(body=image.body, content_type=image.content_type, headers=headers)
