"""What cleaning did to one feed, as facts: the report behind the preview page and
`feedscrub explain`. Does no I/O: it is given the upstream body and runs the same pure chain
serving runs (parse → filters → clean/rewrite/sanitise, pipeline.transform).

    report = build_report(body, source=…, options=…, ruleset=…, policy=…, fetch=facts)
    report.items[0].removals[0].removal.rule   # "feedx.footer"
    report.hits                                 # {"share.endpoint_links": 5, …}
    format_text(report, colour=False)           # what `feedscrub explain` prints (terminal)
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml.html import HtmlElement

from proxy import clean, filters, parse, rewrite
from proxy.clean import userlists
from proxy.explain.tried import TriedRule, tripping, with_rules
from proxy.feedconfig import FeedOptions
from proxy.models import Cleaned, Entry, FetchResult, LinkChange, Removal
from proxy.pipeline.freshness import BodyState
from proxy.pipeline.process import transform


@dataclass(frozen=True, slots=True)
class FetchFacts:
    """How the upstream body was had (the server or CLI fills this in)."""

    url: str
    status: int | None = None  # 200, 304; None when it came from the cache or a file
    cache: str = "file"  # "miss", "hit", "revalidated", "stale", "revalidating", "file"
    age: int = 0  # seconds since the upstream last confirmed the body
    size: int = 0  # bytes of the upstream body
    fetch_ms: float | None = None
    stale_reason: str | None = None


def fetch_facts(state: BodyState, *, url: str, fetch_ms: float, now: float) -> FetchFacts:
    """FetchFacts from the pipeline's answer for the body (pipeline.Pipeline.body)."""
    if state.stale_reason:
        cache = "stale"
    elif state.feed is not None:
        cache = "miss"
    elif state.asked_upstream:
        cache = "revalidated"
    else:
        cache = "revalidating" if state.revalidating else "hit"
    status = state.stale_status
    if status is None and state.asked_upstream:
        status = 200 if state.feed is not None else 304
    return FetchFacts(
        url=url,
        status=status,
        cache=cache,
        age=max(0, int(now - state.stored.checked_at)),
        size=len(state.stored.body),
        fetch_ms=fetch_ms,
        stale_reason=state.stale_reason,
    )


@dataclass(frozen=True, slots=True)
class Shown:
    """One removal, with the element it took out where the marked tree shows it."""

    removal: Removal
    element: str = ""  # its start tag, e.g. <div data-selfpromo-newsletter> ("" for a line)
    links: tuple[str, ...] = ()  # the links it held (share endpoints …)

    @property
    def part(self) -> str:
        """What was taken out, for people: its start tag, "line", "text", or "unwrapped 78
        <span>" (explain and the preview page both print this)."""
        r = self.removal
        if r.action == "unwrap":
            return f"unwrapped {r.count} <{r.tag}>"
        if r.kind != "element":
            return r.kind  # "line" (between two <br>s of a block), "text"
        return self.element or (f"<{r.tag}>" if r.tag else "text")


@dataclass(frozen=True, slots=True)
class ItemReport:
    number: int  # 1-based position among the upstream's items
    title: str
    link: str
    field: str  # "content" or "summary": the HTML shown
    before: HtmlElement | None  # the item as parsed, removals marked (see clean.MARK_RULE)
    after: str  # the served HTML
    removals: tuple[Shown, ...]
    links: tuple[LinkChange, ...]
    failed: str | None


@dataclass(frozen=True, slots=True)
class Dropped:
    """An item the filters took out, with the test that took it."""

    number: int
    title: str
    reason: str


@dataclass(frozen=True, slots=True)
class Boilerplate:
    """A block the automatic detector (pack "auto") removed across the feed's items."""

    rule: str
    text: str
    items: int  # how many items carried it
    kind: str = "element"  # "line": a line of a block (boilerplate_lines.py); Removal.kind


@dataclass(frozen=True, slots=True)
class FeedReport:
    source: str
    title: str
    kind: str
    total: int  # items upstream
    items: tuple[ItemReport, ...]
    hits: dict[str, int]
    boilerplate: tuple[Boilerplate, ...]
    dropped: tuple[Dropped, ...]
    fetch: FetchFacts
    timings: dict[str, float] = field(default_factory=dict)  # stage → milliseconds
    rules: tuple[TriedRule, ...] = ()
    reasons: dict[str, str] = field(default_factory=dict)  # rule → why it removes (or changes)

    def reason_of(self, rule: str) -> str:
        return self.reasons.get(rule, "")


def build_report(
    body: bytes,
    *,
    source: str,
    options: FeedOptions,
    default_packs: Sequence[str],
    ruleset: clean.Ruleset | None = None,
    policy: rewrite.ImagePolicy,
    fetch: FetchFacts,
    feed_name: str = "",
    tried: Sequence[TriedRule] = (),
    final_url: str = "",
    content_type: str = "",
    now: datetime | None = None,
    learnt: dict[str, Any] | None = None,
) -> FeedReport:
    """Run the serving chain on body and say what each stage did.

    Parameters:
        body: the upstream body (the cached copy on the server: no refetch).
        source: the upstream URL or file name, for people.
        options: the feed's options (named feed, or [defaults]).
        default_packs: the packs a feed without `rules` runs.
        ruleset: the feed's compiled ruleset; rebuilt from options when tried rules are given.
        policy: image and link rewriting, as serving would do it.
        fetch: how the body was had.
        tried: rules to try on top of the feed's own (already checked with rule_problem).
        learnt: what feed rules learnt on earlier fetches (a copy: it may be changed).
    Raises NotAFeed when body is not a feed.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    feed = parse.parse(FetchResult(url=final_url, status=200, body=body, content_type=content_type))
    timings["parse"] = _ms(started)
    if tried:
        # The tracker lists' rule (FEEDSCRUB_TRACKER_LISTS) is the pipeline's, not the feed's:
        # it stays on top of the rules tried.
        lists = [r for r in (ruleset.custom_rules if ruleset else ()) if r.pack == userlists.PACK]
        options = with_rules(options, tried)
        ruleset = clean.compile_ruleset(options, default_packs)
        if lists:
            ruleset = dataclasses.replace(
                ruleset, custom_rules=(*ruleset.custom_rules, *lists), fingerprint=""
            )
    elif ruleset is None:
        ruleset = clean.compile_ruleset(options, default_packs)
    ruleset = tripping(ruleset)

    started = time.perf_counter()
    now = now or datetime.now(UTC)
    kept = filters.filter_entries(feed, options, now=now, feed_name=feed_name or source)
    timings["filter"] = _ms(started)
    numbers = {id(entry): n for n, entry in enumerate(feed.entries, 1)}
    kept_ids = {id(entry) for entry in kept.entries}
    dropped = tuple(
        Dropped(numbers[id(e)], e.title or e.link or "", _why_dropped(e, options, now))
        for e in feed.entries
        if id(e) not in kept_ids
    )

    seen: dict[tuple[int, str], tuple[Cleaned, HtmlElement]] = {}

    def observe(field_name: str, index: int, cleaned: Cleaned, tree: HtmlElement) -> None:
        seen[(index, field_name)] = (cleaned, tree)

    started = time.perf_counter()
    transform(
        kept,
        policy=policy,
        ruleset=ruleset,
        feed_name=feed_name,
        opencc=options.opencc,
        learnt=learnt,
        observe=observe,
    )
    timings["clean"] = _ms(started)

    hits: dict[str, int] = {}
    for cleaned, _tree in seen.values():
        for rule, count in cleaned.hits().items():
            hits[rule] = hits.get(rule, 0) + count
    items = tuple(
        _item(
            numbers[id(entry)],
            entry,
            seen.get((i, "content")) or seen.get((i, "summary")),
            "content" if (i, "content") in seen else "summary",
        )
        for i, entry in enumerate(kept.entries)
    )
    return FeedReport(
        source=source,
        title=feed.title or "",
        kind=feed.kind,
        total=len(feed.entries),
        items=items,
        hits=dict(sorted(hits.items(), key=lambda kv: (-kv[1], kv[0]))),
        boilerplate=_boilerplate(items),
        dropped=dropped,
        fetch=fetch,
        timings=timings,
        rules=tuple(tried),
        reasons=_reasons(items),
    )


def _reasons(items: Sequence[ItemReport]) -> dict[str, str]:
    """Each rule's reason, as its first removal or link change in the feed gives it (a rule
    gives one reason; one that gave another for a removal is shown beside that removal)."""
    found: dict[str, str] = {}
    for item in items:
        for shown in item.removals:
            found.setdefault(shown.removal.rule, shown.removal.reason)
        for change in item.links:
            found.setdefault(change.rule, change.reason)
    return found


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _item(
    number: int, entry: Entry, found: tuple[Cleaned, HtmlElement] | None, field_name: str
) -> ItemReport:
    title = entry.title or ""
    if found is None:
        return ItemReport(number, title, entry.link or "", field_name, None, "", (), (), None)
    cleaned, tree = found
    markers = {
        marker.get(clean.MARK_REMOVAL): marker
        for marker in tree.iter("del")
        if marker.get(clean.MARK_RULE)
    }
    shown = []
    for index, removal in enumerate(cleaned.removals):
        marker = markers.get(str(index))
        element, links = "", tuple[str, ...]()
        if marker is not None and removal.kind == "line":
            # A line's marker holds the line itself (its text, inline elements): no element.
            links = _links_in(marker, marker)
        elif marker is not None and len(marker):
            inner = marker[0]
            element = _start_tag(inner)
            links = _links_in(inner, marker)
        shown.append(Shown(removal, element, links))
    return ItemReport(
        number,
        title,
        entry.link or "",
        field_name,
        tree,
        cleaned.html,
        tuple(shown),
        cleaned.links,
        cleaned.failed,
    )


def _links_in(node: HtmlElement, marker: HtmlElement) -> tuple[str, ...]:
    """The links under node (in marker) that no marker nested in marker lists already."""
    return tuple(
        a.get("href", "") for a in node.iter("a") if a.get("href") and not _marked_inside(a, marker)
    )


def _marked_inside(node: HtmlElement, marker: HtmlElement) -> bool:
    """Whether node sits in a marker nested in marker (an earlier removal lists it)."""
    for ancestor in node.iterancestors():
        if ancestor is marker:
            return False
        if ancestor.tag == "del" and ancestor.get(clean.MARK_RULE):
            return True
    return False


def _start_tag(element: HtmlElement, limit: int = 80) -> str:
    if not isinstance(element.tag, str):
        return ""
    parts = [element.tag]
    for name, value in element.attrib.items():
        parts.append(f'{name}="{value}"' if value else name)
    text = "<" + " ".join(parts) + ">"
    return text if len(text) <= limit else text[: limit - 2] + "…>"


def _boilerplate(items: Sequence[ItemReport]) -> tuple[Boilerplate, ...]:
    """Blocks the automatic detector (pack "auto") removed, with how many items had each."""
    carriers: dict[tuple[str, str, str], set[int]] = {}
    for item in items:
        for shown in item.removals:
            if shown.removal.pack == "auto":
                key = (shown.removal.rule, shown.removal.text, shown.removal.kind)
                carriers.setdefault(key, set()).add(item.number)
    return tuple(
        Boilerplate(rule, text, len(numbers), kind)
        for (rule, text, kind), numbers in sorted(carriers.items(), key=lambda kv: -len(kv[1]))
    )


def _why_dropped(entry: Entry, options: FeedOptions, now: datetime) -> str:
    # The same tests filters.filter_entries makes, asked one by one to name the reason.
    name = "explain"
    if options.include and not any(filters._matches(entry, f, name) for f in options.include):
        return "matched no include filter"
    for rule in options.exclude:
        if filters._matches(entry, rule, name):
            return f"exclude: {rule.field} matches {rule.pattern!r}"
    date = entry.published or entry.updated
    if options.max_age and date is not None and date < now - timedelta(seconds=options.max_age):
        return f"older than max_age ({options.max_age} s)"
    return f"past limit ({options.limit} newest items)"
