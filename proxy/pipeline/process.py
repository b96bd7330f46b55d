"""The pure chain: parsed feed → filtered → cleaned, rewritten, sanitised → rendered bytes.

No I/O and no clock of its own: the server (``service.Pipeline``) and ``feedscrub clean``
call the same ``process`` with the same ``Recipe``, so a rule author's one-shot run shows
exactly what a reader gets. CPU-bound: the server calls it in a worker thread.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from isal import igzip
from lxml.html import HtmlElement

from proxy import anchors, clean, filters, memory, output, parse, rewrite
from proxy.clean.packs.tracking import strip_tracking
from proxy.config import Settings
from proxy.feedconfig import FeedOptions
from proxy.models import Cleaned, Entry, Feed, FetchResult
from proxy.output import text as outtext
from proxy.sanitize import sanitize_html

if TYPE_CHECKING:
    from proxy.pipeline.itemcache import ItemCache

logger = logging.getLogger(__name__)

# The hand-kept part of output keys. Keys also carry the code's fingerprint
# (pipeline/fingerprint.py: this package's output-shaping files and its libraries), so a
# release that cleans or renders otherwise re-cleans by itself; bump this only for what no
# file of the package shows (a change of meaning of the key's other parts).
OUTPUT_VERSION = "5"  # 5: same format edited in place, JSON Feed, OpenCC

DEFAULT_RULESET = clean.DEFAULT_RULESET
NO_OPTIONS = FeedOptions()

# Sees what the clean stage did to each item (the preview page, `feedscrub explain`):
# observe(field, entry index, cleaned, marked tree) with field "summary" or "content" and the
# marked tree as clean.clean_items(marked=…) gives it, after the same link and image rewrite.
Observer = Callable[[str, int, Cleaned, HtmlElement], None]


@dataclass(frozen=True, slots=True)
class Recipe:
    """Everything besides the upstream body that shapes one output."""

    fmt: str  # "rss", "atom" or "json"
    policy: rewrite.ImagePolicy
    self_url: str  # the feed's own link, as readers reach it
    options: FeedOptions = NO_OPTIONS  # filters, limit and max_age come from here
    ruleset: clean.Ruleset = DEFAULT_RULESET
    limit: int | None = None  # asked for on the request, beats options.limit when smaller
    feed_name: str = ""  # for log lines: the named feed, or the upstream URL
    opencc: str | None = None  # Chinese script conversion (OpenCC config name)


def image_policy(
    settings: Settings, key: bytes, public_base: str, options: FeedOptions
) -> rewrite.ImagePolicy:
    """How images are linked in one output: the feed's ``images`` / ``image_referer`` over
    the settings'."""
    return rewrite.ImagePolicy(
        mode=options.images or settings.images,
        public_base=public_base,
        key=key,
        template=settings.image_template,
        referer=options.image_referer or "",
        proxy_media=settings.proxy_media,
    )


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


def process(
    feed: Feed,
    recipe: Recipe,
    *,
    now: datetime,
    fallback_date: datetime,
    body: bytes | None = None,
) -> bytes:
    """What a reader gets for ``feed``: filtered, then cleaned and rendered (``build_output``).

    Parameters:
        feed: the parsed upstream feed.
        recipe: the output's format, links, rules and filters.
        now: the time filters judge ``max_age`` by.
        fallback_date: the date given to items that carry none (the fetch time).
        body: the upstream bytes ``feed`` came from: in their own format they are edited in
            place (proxy/output); None converts.
    """
    return build(select(feed, recipe, now), recipe, fallback_date=fallback_date, body=body)


def build(
    feed: Feed,
    recipe: Recipe,
    *,
    fallback_date: datetime,
    body: bytes | None = None,
    learnt: dict[str, Any] | None = None,
) -> bytes:
    """An already filtered feed → served bytes. learnt: what feed rules learnt about this
    feed on earlier fetches (updated in place; the caller loads and saves it)."""
    return build_output(
        feed,
        recipe.fmt,
        policy=recipe.policy,
        self_url=recipe.self_url,
        fallback_date=fallback_date,
        ruleset=recipe.ruleset,
        feed_name=recipe.feed_name,
        body=body,
        opencc=recipe.opencc,
        learnt=learnt,
    )


def build_cleaned(
    original: Feed,
    cleaned: Feed,
    recipe: Recipe,
    *,
    fallback_date: datetime,
    body: bytes | None = None,
) -> bytes:
    """Served bytes for a feed cleaned already (``transform``): ``original`` is what it was
    cleaned from (the in-place edit needs both). The server keeps cleaned feeds, so another
    limit=, format= or Host renders without cleaning again."""
    return output.build_output(
        body,
        original,
        lambda _: cleaned,
        recipe.fmt,
        self_url=recipe.self_url,
        fallback_date=fallback_date,
    )


def cut(original: Feed, cleaned: Feed, limit: int | None) -> tuple[Feed, Feed]:
    """The newest ``limit`` items of a feed and of its cleaned twin (same entries, same
    order): limit= applied after cleaning."""
    if not limit or len(original.entries) <= limit:
        return original, cleaned
    chosen = filters.newest(original.entries, limit)
    return (
        dataclasses.replace(original, entries=tuple(original.entries[i] for i in chosen)),
        dataclasses.replace(cleaned, entries=tuple(cleaned.entries[i] for i in chosen)),
    )


def rebase(feed: Feed, placeholder: str, base: str) -> Feed:
    """``feed`` with the placeholder base of its proxied links replaced by the real one.

    A cleaned feed is kept with image links on a placeholder base, so readers reaching the
    proxy under another Host (another public base) reuse it; this puts theirs in place.
    """

    def fix(text: str | None) -> str | None:
        return text.replace(placeholder, base) if text and placeholder in text else text

    def entry_of(entry: Entry) -> Entry:
        texts = (
            entry.summary,
            entry.content,
            *(e.url for e in entry.enclosures),
            *(m.url for m in entry.media),
        )
        if not any(placeholder in (text or "") for text in texts):
            return entry
        return dataclasses.replace(
            entry,
            summary=fix(entry.summary),
            content=fix(entry.content),
            enclosures=tuple(
                dataclasses.replace(e, url=fix(e.url) or "") for e in entry.enclosures
            ),
            media=tuple(dataclasses.replace(m, url=fix(m.url) or "") for m in entry.media),
        )

    image = feed.image
    if image is not None and placeholder in image.url:
        image = dataclasses.replace(image, url=fix(image.url) or "")
    return dataclasses.replace(feed, entries=tuple(entry_of(e) for e in feed.entries), image=image)


def weight(original: Feed, cleaned: Feed) -> int:
    """Rough bytes a feed and its cleaned twin hold in memory: their item HTML (2 bytes a
    character: most text is in the BMP) and ~512 bytes per item for the objects around it
    (measured: a parsed 100,000-item feed of short items holds 37 MB). The twins share
    everything but the HTML."""
    chars = sum(
        len(e.summary or "") + len(e.content or "")
        for feed in (original, cleaned)
        for e in feed.entries
    )
    return 2 * chars + 512 * len(original.entries)


# Level 1, not 6: measured on tests/data/corpus's outputs (5.7 MB), 1 takes ~37 % of 6's
# time for 15 % more bytes (1,734 vs 1,508 KB); on a 500-item seed-like feed 5 vs 15 ms.
# Every build pays it, while readers re-download only when the ETag changed. ISA-L's level 1
# (isal), not zlib's: 20 corpus feeds 17.0 -> 4.0 ms for 1.6 % fewer bytes (676 vs 687 KB);
# a 684 KB 100-item seed-like feed 945 -> 99 µs, 20.2 vs 16.5 KB (its items repeat).
GZIP_LEVEL = 1


def compress(body: bytes) -> bytes:
    """gzip, once per output: readers poll the same bytes many times."""
    return igzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


def transform(
    feed: Feed,
    *,
    policy: rewrite.ImagePolicy,
    ruleset: clean.Ruleset = DEFAULT_RULESET,
    feed_name: str = "",
    opencc: str | None = None,
    learnt: dict[str, Any] | None = None,
    observe: Observer | None = None,
    items: ItemCache | None = None,
) -> Feed:
    """Clean, rewrite and sanitise every item's HTML, rewrite its enclosures and media like
    its images, drop tracking parameters from item and feed links, sanitise the feed
    description, convert Chinese script (``opencc``); keep everything else as it was.
    learnt: as for build. observe, when given, sees each item's clean result and its
    marked tree (see Observer). items: cleaned items kept by content; an item found there
    is not cleaned again (not used with observe, which needs every item's marked tree)."""
    convert = outtext.converter(opencc) if opencc else None
    # Per item: proxy links carry the item link's origin (a Referer the proxy may need).
    policies = rewrite.for_items(policy, [entry.link or feed.link for entry in feed.entries])

    # Summaries are compared with summaries and contents with contents: one memory each.
    def remembered(field: str) -> dict[str, Any] | None:
        return None if learnt is None else learnt.setdefault(field, {})

    cache = None if observe is not None else items
    fields = [
        _clean_field(
            feed,
            field,
            policies,
            ruleset,
            feed_name,
            convert,
            remembered(field),
            observe,
            (cache, opencc),
        )
        for field in ("summary", "content")
    ]
    summaries, contents = fields

    def finish(i: int, entry: Entry) -> Entry:
        return rewrite.rewrite_attachments(
            dataclasses.replace(
                entry,
                summary=summaries[i],
                content=contents[i],
                link=strip_tracking(entry.link) if entry.link else entry.link,
                **_converted_text(entry.title, entry.categories, convert),
            ),
            policies[i],
            base_url=feed.source_url or entry.link,
        )

    if cache is None:
        entries = tuple(finish(i, entry) for i, entry in enumerate(feed.entries))
    else:  # an item finished alike last time is not finished again (itemcache.finished)
        made_of = (summaries, contents, policies, [(feed.source_url, opencc)] * len(policies))
        entries = cache.finish_all(feed.entries, made_of, finish)
    image = feed.image
    if image is not None and policy.mode in ("proxy", "template"):
        feed_policy = rewrite.for_item(policy, feed.link)
        image = dataclasses.replace(image, url=rewrite.proxied_url(image.url, feed_policy))
    # Issue 9.5: the channel description is HTML readers render; it goes through the sanitiser,
    # with a key of its own so its footnote links keep landing (issue 12).
    description = (
        sanitize_html(
            feed.description,
            item_key=anchors.channel_key(feed.description, feed_name or feed.source_url),
        )
        if feed.description
        else None
    )
    title = feed.title
    if convert is not None:
        title = convert(title) if title else title
        description = convert(description) if description else description
    return dataclasses.replace(
        feed,
        entries=entries,
        image=image,
        link=strip_tracking(feed.link) if feed.link else feed.link,
        title=title,
        description=description,
    )


def _converted_text(
    title: str | None, categories: tuple[str, ...], convert: outtext.Converter | None
) -> dict[str, Any]:
    if convert is None:
        return {}
    return {
        "title": convert(title) if title else title,
        "categories": tuple(convert(c) for c in categories),
    }


def _clean_field(
    feed: Feed,
    field: str,
    policies: list[rewrite.ImagePolicy],
    ruleset: clean.Ruleset,
    feed_name: str,
    convert: outtext.Converter | None = None,
    learnt: dict[str, Any] | None = None,
    observe: Observer | None = None,
    cached: tuple[ItemCache | None, str | None] = (None, None),
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
        if convert is not None:
            outtext.convert_tree(root, convert)

    marked: dict[int, HtmlElement] = {}

    def mark(k: int, root: HtmlElement) -> None:
        hook(k, root)
        marked[k] = root

    label = feed_name or feed.source_url
    contexts = [
        f"feed={label} item={entries[i].guid or entries[i].link or entries[i].title}"
        for i in owners
    ]
    context = clean.FeedContext(feed_key=label, options=ruleset.options, memory=learnt)
    items, opencc = cached
    if items is not None:
        results = items.clean(
            htmls,
            ruleset,
            bases=[entries[i].base_url or feed.source_url or entries[i].link for i in owners],
            policies=[policies[i] for i in owners],
            opencc=opencc,
            rewrite_tree=hook,
            contexts=contexts,
            feed=context,
        )
    else:
        results = clean.clean_items(
            htmls,
            ruleset,
            rewrite=hook,
            contexts=contexts,
            feed=context,
            marked=mark if observe is not None else None,
        )
    out: list[str | None] = [None] * len(feed.entries)
    for k, (i, cleaned) in enumerate(zip(owners, results, strict=True)):
        out[i] = cleaned.html
        if observe is not None and k in marked:
            observe(field, i, cleaned, marked[k])
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
    body: bytes | None = None,
    opencc: str | None = None,
    learnt: dict[str, Any] | None = None,
) -> bytes:
    """Parsed (and filtered) feed → served bytes.

    ``body`` is the upstream document ``feed`` was parsed from: in its own format it is
    edited in place (see proxy/output); without it the feed is converted."""
    return output.build_output(
        body,
        feed,
        lambda parsed: transform(
            parsed,
            policy=policy,
            ruleset=ruleset,
            feed_name=feed_name,
            opencc=opencc,
            learnt=learnt,
        ),
        fmt,
        self_url=self_url,
        fallback_date=fallback_date,
    )
