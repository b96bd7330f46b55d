"""The pure chain: parsed feed → filtered → cleaned, rewritten, sanitised → rendered bytes.

No I/O and no clock of its own: the server (``service.Pipeline``) and ``feedscrub clean``
call the same ``process`` with the same ``Recipe``, so a rule author's one-shot run shows
exactly what a reader gets. CPU-bound: the server calls it in a worker thread.
"""

from __future__ import annotations

import dataclasses
import gzip
import logging
from dataclasses import dataclass
from datetime import datetime

from lxml.html import HtmlElement

from proxy import clean, filters, memory, parse, render, rewrite
from proxy.errors import BadRequest
from proxy.feedconfig import FeedOptions
from proxy.models import Feed, FetchResult

logger = logging.getLogger(__name__)

# Bump when cleaning or rendering changes what the same input produces, so cached outputs
# made by an older version are not served.
OUTPUT_VERSION = "4"  # 4: platform and tracking packs

DEFAULT_RULESET = clean.DEFAULT_RULESET


@dataclass(frozen=True, slots=True)
class Recipe:
    """Everything besides the upstream body that shapes one output."""

    fmt: str  # "rss" or "atom"
    policy: rewrite.ImagePolicy
    self_url: str  # the feed's own link, as readers reach it
    options: FeedOptions = FeedOptions()  # filters, limit and max_age come from here
    ruleset: clean.Ruleset = DEFAULT_RULESET
    limit: int | None = None  # asked for on the request, beats options.limit when smaller
    feed_name: str = ""  # for log lines: the named feed, or the upstream URL


def parse_body(body: bytes, url: str = "", content_type: str = "") -> Feed:
    """Upstream bytes → Feed (NotAFeed when they are not one)."""
    # Before a big parse too: what earlier builds freed is reused, not added to.
    memory.release_after(len(body))
    return parse.parse(FetchResult(url=url, status=200, body=body, content_type=content_type))


def select(feed: Feed, recipe: Recipe, now: datetime) -> Feed:
    """The items the feed's filters keep (include/exclude, max_age against ``now``, limit)."""
    return filters.filter_entries(
        feed, recipe.options, now=now, limit=recipe.limit, feed_name=recipe.feed_name
    )


def process(feed: Feed, recipe: Recipe, *, now: datetime, fallback_date: datetime) -> bytes:
    """What a reader gets for ``feed``: filtered, then cleaned and rendered (``build_output``).

    Parameters:
        feed: the parsed upstream feed.
        recipe: the output's format, links, rules and filters.
        now: the time filters judge ``max_age`` by.
        fallback_date: the date given to items that carry none (the fetch time).
    """
    return build(select(feed, recipe, now), recipe, fallback_date=fallback_date)


def build(feed: Feed, recipe: Recipe, *, fallback_date: datetime) -> bytes:
    """An already filtered feed → served bytes."""
    return build_output(
        feed,
        recipe.fmt,
        policy=recipe.policy,
        self_url=recipe.self_url,
        fallback_date=fallback_date,
        ruleset=recipe.ruleset,
        feed_name=recipe.feed_name,
    )


def compress(body: bytes) -> bytes:
    """gzip, once per output: readers poll the same bytes many times."""
    return gzip.compress(body, compresslevel=6, mtime=0)


def transform(
    feed: Feed,
    *,
    policy: rewrite.ImagePolicy,
    ruleset: clean.Ruleset = DEFAULT_RULESET,
    feed_name: str = "",
) -> Feed:
    """Clean, rewrite and sanitise every item's HTML, rewrite its enclosures and media like
    its images; keep everything else as it was."""
    # Per item: proxy links carry the item link's origin (a Referer the proxy may need).
    policies = [rewrite.for_item(policy, entry.link or feed.link) for entry in feed.entries]
    summaries = _clean_field(feed, "summary", policies, ruleset, feed_name)
    contents = _clean_field(feed, "content", policies, ruleset, feed_name)
    entries = tuple(
        rewrite.rewrite_attachments(
            dataclasses.replace(entry, summary=summaries[i], content=contents[i]),
            policies[i],
            base_url=feed.source_url or entry.link,
        )
        for i, entry in enumerate(feed.entries)
    )
    image = feed.image
    if image is not None and policy.mode in ("proxy", "template"):
        feed_policy = rewrite.for_item(policy, feed.link)
        image = dataclasses.replace(image, url=rewrite.proxied_url(image.url, feed_policy))
    return dataclasses.replace(feed, entries=entries, image=image)


def _clean_field(
    feed: Feed,
    field: str,
    policies: list[rewrite.ImagePolicy],
    ruleset: clean.Ruleset,
    feed_name: str,
) -> list[str | None]:
    """Every item's summary (or content) through the clean stage, as one batch: feed rules
    compare the items' summaries with each other, and their contents with each other."""
    htmls: list[str] = []
    owners: list[int] = []
    for i, entry in enumerate(feed.entries):
        html = getattr(entry, field)
        if html is not None:
            htmls.append(html)
            owners.append(i)
    if not htmls:
        return [None] * len(feed.entries)
    entries = feed.entries

    def hook(k: int, root: HtmlElement) -> None:
        entry = entries[owners[k]]
        base = entry.base_url or feed.source_url or entry.link
        rewrite.rewrite_tree(root, base_url=base, policy=policies[owners[k]])

    label = feed_name or feed.source_url
    contexts = [
        f"feed={label} item={entries[i].guid or entries[i].link or entries[i].title}"
        for i in owners
    ]
    results = clean.clean_items(
        htmls,
        ruleset,
        rewrite=hook,
        contexts=contexts,
        feed=clean.FeedContext(feed_key=label, options=ruleset.options),
    )
    out: list[str | None] = [None] * len(feed.entries)
    for i, cleaned in zip(owners, results, strict=True):
        out[i] = cleaned.html
    return out


def build_output(
    feed: Feed,
    fmt: str,
    *,
    policy: rewrite.ImagePolicy,
    self_url: str,
    fallback_date: datetime,
    ruleset: clean.Ruleset = DEFAULT_RULESET,
    feed_name: str = "",
) -> bytes:
    """Parsed (and filtered) feed → served bytes."""
    cleaned = transform(feed, policy=policy, ruleset=ruleset, feed_name=feed_name)
    return render.render(cleaned, fmt, self_url=self_url, fallback_date=fallback_date)


def check_format(fmt: str | None) -> str | None:
    if fmt in (None, ""):
        return None
    lowered = fmt.lower()
    if lowered not in render.FORMATS:
        raise BadRequest(f"format must be rss or atom, not {fmt!r}")
    return lowered
