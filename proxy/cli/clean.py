"""feedscrub clean: the server's pipeline, once, on a named feed, a URL, a file or stdin.

``feeds/<name>`` and URLs go through the same ``Pipeline`` as serve (cache included); files
and stdin through the same ``pipeline.process``; ``--html`` through the same item chain.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from proxy.cli.main import public_base, read_source, settings_from
from proxy.config import Settings
from proxy.errors import ProxyError
from proxy.feedconfig import FeedOptions
from proxy.reload import LoadedFeeds


def clean(args: argparse.Namespace) -> int:
    """The server's pipeline, once: ``feeds/<name>`` and URLs through the same Pipeline as
    serve (cache included), files and stdin through the same ``process``."""
    from proxy.reload import load_feeds, with_tracker_lists

    settings = settings_from(args.config)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="feedscrub: %(message)s")
    loaded = with_tracker_lists(load_feeds(settings.config or None), settings.trackers())
    source: str = args.source
    if args.html:
        body = _clean_fragment(settings, loaded, read_source(source))
    elif source.startswith("feeds/") or "://" in source:
        # A URL: check_url refuses schemes other than http and https.
        body = asyncio.run(_clean_served(settings, loaded, source, args.format))
    else:
        body = _clean_file(settings, loaded, source, args.format)
    sys.stdout.buffer.write(body)
    sys.stdout.flush()
    shown = settings.public_url.rstrip("/")
    print(
        f"feedscrub: links point at {public_base(settings)}"
        + ("" if shown else " (FEEDSCRUB_PUBLIC_URL is not set)"),
        file=sys.stderr,
    )
    return 0


def _key(settings: Settings, options: FeedOptions) -> bytes:
    """The image-signing key, only when images are proxied (else no secret is made)."""
    from proxy.images.signing import load_or_create_secret

    if (options.images or settings.images) != "proxy":
        return b""
    return load_or_create_secret(settings.secret, settings.cache_dir)


async def _clean_served(
    settings: Settings, loaded: LoadedFeeds, source: str, fmt: str | None
) -> bytes:
    """What serve answers for /feeds/<name> or /feed?url=, cache included."""
    from proxy import fetch
    from proxy.pipeline.service import Pipeline
    from proxy.server import links
    from proxy.store import open_store

    name = source.removeprefix("feeds/") if source.startswith("feeds/") else ""
    config = loaded.feeds.get(name) if name else None
    options = config.options if config is not None else loaded.feeds.defaults
    key = _key(settings, options)
    cache = open_store(settings.cache_dir, settings.cache_url)
    if key and not settings.secret:
        key = cache.shared_key(key)  # replicas on one shared store sign with one key
    session = fetch.new_session(settings)
    try:
        pipeline = Pipeline(
            settings, session, cache, key, loaded, self_path=links.self_path(settings)
        )
        base = public_base(settings)
        if name:
            job = pipeline.named_job(name, fmt=fmt, public_base=base)
        else:
            job = pipeline.job(source, fmt=fmt, public_base=base)
        rendered = await pipeline.serve(job)
    finally:
        await session.close()
        await cache.close()
    if rendered.stale:
        print(
            f"feedscrub: warning: served the cached copy: {rendered.stale_reason}", file=sys.stderr
        )
    return rendered.body


def _clean_file(settings: Settings, loaded: LoadedFeeds, source: str, fmt: str | None) -> bytes:
    """A feed file through ``process`` with the [defaults] rules and filters, as /feed does."""
    from proxy.errors import NotAFeed
    from proxy.pipeline import jobs, process

    body = read_source(source)
    self_url = "stdin" if source == "-" else Path(source).resolve().as_uri()
    try:
        # A file has no URL: relative links resolve against xml:base, else each item's link.
        feed = process.parse_body(body)
    except NotAFeed:
        name = "stdin" if source == "-" else source
        raise ProxyError(
            f"{name} is not a feed: it looks like {_looks_like(body)}; "
            "to clean one item's HTML, add --html"
        ) from None
    defaults = loaded.feeds.defaults
    now = datetime.now(UTC)
    recipe = process.Recipe(
        fmt=jobs.check_format(fmt) or defaults.format or feed.kind,
        policy=process.image_policy(
            settings, _key(settings, defaults), public_base(settings), defaults
        ),
        self_url=self_url,
        options=defaults,
        ruleset=loaded.defaults,
        feed_name=self_url,
    )
    return process.process(feed, recipe, now=now, fallback_date=now, body=body)


def _clean_fragment(settings: Settings, loaded: LoadedFeeds, html: bytes) -> bytes:
    """One item's HTML through the item chain (clean, rewrite, sanitise) of /feed."""
    from proxy.fulltext.decode import decode_html
    from proxy.models import Entry, Feed
    from proxy.pipeline import process

    defaults = loaded.feeds.defaults
    entry = Entry(guid=None, guid_is_permalink=None, title=None, link=None)
    feed = Feed(kind="rss", source_url="", title=None, link=None, description=None)
    feed = dataclasses.replace(
        feed, entries=(dataclasses.replace(entry, content=decode_html(html)),)
    )
    policy = process.image_policy(
        settings, _key(settings, defaults), public_base(settings), defaults
    )
    cleaned = process.transform(feed, policy=policy, ruleset=loaded.defaults)
    return ((cleaned.entries[0].content or "") + "\n").encode("utf-8")


def _looks_like(body: bytes) -> str:
    """What a body that is not a feed seems to be, for a person."""
    text = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1024]
    lowered = text.lower()
    start = " ".join(text[:60].decode("utf-8", "replace").split())
    if not text:
        return "an empty file"
    if lowered.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or (
        b"<html" in lowered and b"<rss" not in lowered and b"<feed" not in lowered
    ):
        kind = "an HTML page"
    elif lowered[:1] in (b"{", b"["):
        kind = "JSON"
    elif lowered[:1] == b"<":
        kind = "XML that is neither RSS nor Atom"
    else:
        kind = "plain text or binary data"
    return f"{kind} (it starts {start!r})"
