"""Every URL this proxy hands out for its own feeds: self links, signed links, index and OPML,
and the preview page's.

The only URL builder: the pipeline gets ``self_path`` from here, ``feedscrub sign`` and the
index page sign with ``sign_feed_url``, the index and OPML list ``named_feed_link``. A link
carries ``sig=`` whenever the access key guards what it points at, so it works without the
key. Image links are ``images/signing.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from yarl import URL

from proxy.config import Settings
from proxy.errors import InvalidURL
from proxy.pipeline.jobs import FeedJob
from proxy.server.auth import canonical_feed_url, feed_signature, named_signature


def feed_path(
    url: str,
    *,
    key: str = "",
    fmt: str | None = None,
    limit: int | None = None,
    fulltext: bool = False,
    opencc: str | None = None,
) -> str:
    """``/feed?url=…[&sig=…][&format=…][&limit=…][&fulltext=1][&opencc=…]``; signed when ``key`` is
    given (``url`` is then signed as ``auth.canonical_feed_url`` has it)."""
    path = f"/feed?url={quote(url, safe='')}"
    if key:
        path += f"&sig={feed_signature(url, key)}"
    if fmt:
        path += f"&format={fmt}"
    if limit:
        path += f"&limit={limit}"
    if fulltext:
        path += "&fulltext=1"
    if opencc:
        path += f"&opencc={opencc}"
    return path


def named_path(name: str, *, key: str = "", fmt: str | None = None) -> str:
    """``/feeds/<name>[.<fmt>][?sig=…]``; signed when ``key`` is given."""
    path = f"/feeds/{quote(name, safe='')}" + (f".{fmt}" if fmt else "")
    return path + (f"?sig={named_signature(name, key)}" if key else "")


def self_path(settings: Settings) -> Callable[[FeedJob], str]:
    """The self link of each output: the same request, signed where the key guards it."""

    def path(job: FeedJob) -> str:
        if job.name:
            key = settings.access_key if settings.protect_named else ""
            return named_path(job.name, key=key, fmt=job.fmt)
        return feed_path(
            job.url,
            key=settings.access_key,
            fmt=job.fmt,
            limit=job.limit,
            fulltext=job.fulltext,
            opencc=job.opencc,
        )

    return path


def sign_feed_url(url: str, key: str) -> str:
    """The signed path for an upstream feed: ``/feed?url=<url>&sig=<signature>``.

    Prefix it with FEEDSCRUB_PUBLIC_URL to get the link a reader subscribes to. It works for
    this one feed only (any ``format=`` or ``limit=`` may be added), without the key.

    Parameters:
        url: the upstream feed URL; it must be an absolute http(s) URL.
        key: the access key (FEEDSCRUB_ACCESS_KEY).

    Raises InvalidURL (400) for anything that is not an absolute http(s) URL.
    """
    canonical = canonical_feed_url(url)
    try:
        parsed = URL(canonical)
        usable = parsed.scheme in ("http", "https") and bool(parsed.raw_host)
    except ValueError:
        usable = False
    if not usable:
        raise InvalidURL(f"access: {canonical[:200]!r} is not an absolute http(s) URL")
    return feed_path(canonical, key=key)


def sign_named_feed(name: str, key: str) -> str:
    """The signed path for a named feed: ``/feeds/<name>?sig=<signature>``."""
    return named_path(name, key=key)


def named_feed_link(settings: Settings, base: str, name: str) -> str:
    """A named feed's link for the index page and OPML: signed when named feeds are
    protected."""
    key = settings.access_key if settings.protect_named else ""
    return base + named_path(name, key=key)


def preview_path(*, url: str = "", name: str = "", key: str = "") -> str:
    """``/preview?url=…`` or ``/preview/feeds/<name>``, with ``key=`` when given (the page
    needs the access key itself: a signature does not open it)."""
    if name:
        path = f"/preview/feeds/{quote(name, safe='')}"
        return path + (f"?key={quote(key, safe='')}" if key else "")
    return f"/preview?url={quote(url, safe='')}" + (f"&key={quote(key, safe='')}" if key else "")


def feed_link(url: str) -> str:
    """The unsigned ``/feed?url=…`` path for an absolute http(s) URL; InvalidURL otherwise
    (the same check and reason as ``sign_feed_url``)."""
    return sign_feed_url(url, "")
