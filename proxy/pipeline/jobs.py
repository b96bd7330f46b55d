"""What one request asks for (``FeedJob``), and the cache keys of what it gets. No I/O.

A key names everything that shapes an output, so two requests share a cached output exactly
when they would get the same bytes: the cleaned feed (``clean_key``: body, rules, settings)
and the served bytes made from it (``output_key``: format, links, limit=).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TypedDict, Unpack

from proxy import clean, output
from proxy.config import Settings
from proxy.errors import BadRequest, NotFound
from proxy.feedconfig import FeedOptions
from proxy.output import text as outtext
from proxy.pipeline import fingerprint, process
from proxy.reload import LoadedFeeds
from proxy.store import StoredFeed, records


@dataclass(frozen=True, slots=True)
class FeedJob:
    """One request for a cleaned feed, with everything that shapes its output."""

    url: str  # the normalised upstream URL
    fmt: str | None  # None: the upstream's family
    public_base: str
    options: FeedOptions
    ruleset: clean.Ruleset
    limit: int | None = None  # asked for on an ad-hoc request
    name: str = ""  # the named feed, or "" for ad-hoc /feed
    fulltext: bool = False  # replace item content with the article behind each link
    opencc: str | None = None  # Chinese script conversion asked for on the request
    # Computed once: a job is a dict key on every cached request (``Freshness.hot``), and
    # hashing its options and ruleset field by field took ~1 µs of ~70 each time.
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compared = tuple(getattr(self, f.name) for f in fields(self) if f.compare)
        object.__setattr__(self, "_hash", hash(compared))

    def __hash__(self) -> int:
        return self._hash


SelfPath = Callable[[FeedJob], str]
"""A job → the path of the feed's own link (``server/links.py``)."""


class Asked(TypedDict, total=False):
    """What an ad-hoc request may ask for besides its URL, format and base (``adhoc``)."""

    limit: int | None
    fulltext: bool
    opencc: str | None


def adhoc(
    loaded: LoadedFeeds, url: str, fmt: str | None, public_base: str, **asked: Unpack[Asked]
) -> FeedJob:
    """The job of an ad-hoc request (/feed, with the [defaults] rules).

    Parameters:
        url: the upstream feed URL, checked (``Pipeline._checked``).
        fmt: "rss", "atom", "json", or None for the upstream's own family.
        public_base: scheme://host[:port] readers reach the proxy at (image and self links).
        limit: keep only the newest N items.
        fulltext: replace each item's content with the article behind its link.
        opencc: an OpenCC conversion (s2t, t2s…) for titles, text and categories.
    """
    return FeedJob(
        url=url,
        fmt=check_format(fmt) or loaded.feeds.defaults.format,
        public_base=public_base,
        options=loaded.feeds.defaults,
        ruleset=loaded.defaults,
        limit=asked.get("limit"),
        fulltext=asked.get("fulltext", False) or bool(loaded.feeds.defaults.fulltext),
        opencc=check_opencc(asked.get("opencc")),
    )


def named(
    loaded: LoadedFeeds,
    name: str,
    checked: Callable[[str], str],
    *,
    fmt: str | None,
    public_base: str,
) -> FeedJob:
    """The job of a named feed (its own rules over [defaults]); NotFound if unknown.
    checked: the URL check (``Pipeline._checked``)."""
    config = loaded.feeds.get(name)
    if config is None:
        names = ", ".join(loaded.feeds.names) or "none are configured"
        raise NotFound(f"no feed named {name!r}; the named feeds are: {names}")
    options = config.options
    return FeedJob(
        checked(config.url),
        check_format(fmt) or options.format,
        public_base,
        options,
        loaded.rulesets[name],
        name=name,
        fulltext=bool(options.fulltext),
    )


def output_key(clean_key: str, job: FeedJob, fmt: str, self_path: str) -> str:
    """The served bytes: the cleaned feed, and how it is cut and rendered for whom."""
    parts = (clean_key, fmt, job.public_base, self_path, str(job.limit))
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def clean_key(
    settings: Settings,
    key_id: str,
    stored: StoredFeed,
    job: FeedJob,
    articles: str | None,
    hour: str,
) -> str:
    """What a cleaned feed depends on: the body and the rules, not format, limit= (but for
    full text, which fetches only what the limit keeps), Host or self link.

    Parameters:
        key_id: names the image-signing key (outputs embed links signed with it).
        articles: which articles full text filled in (``FillResult.digest``), None without
            full text: a partial result never passes for the whole.
        hour: the hour, for feeds with a max_age filter (their outputs age out hourly).
    """
    digest = hashlib.sha256()
    for part in (
        fingerprint.output_version(process.OUTPUT_VERSION),  # this release's code
        stored.url,
        stored.final_url,
        settings.images,
        settings.image_template,
        str(settings.proxy_media),
        key_id,
        job.ruleset.fingerprint,
        repr(job.options),
        job.name,
        str(job.opencc),
        hour,
        articles if articles is not None else "-",
        str(job.limit) if articles is not None else "",
    ):
        digest.update(part.encode("utf-8") + b"\0")
    digest.update(records.body_digest(stored).encode("ascii"))  # the body, hashed once
    return digest.hexdigest()


# -- what a request may ask for --------------------------------------------------------------


def check_format(fmt: str | None) -> str | None:
    """A request's format= (None when not asked), lower-cased; BadRequest if unknown."""
    if fmt in (None, ""):
        return None
    lowered = fmt.lower()
    if lowered not in output.FORMATS:
        raise BadRequest(f"format must be rss, atom or json, not {fmt!r}")
    return lowered


def check_opencc(name: str | None) -> str | None:
    """A request's opencc= conversion (None when not asked); BadRequest if unknown."""
    if name in (None, ""):
        return None
    try:
        return outtext.check_opencc(name)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
