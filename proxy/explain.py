"""What cleaning did to one feed, as facts: the report behind the preview page and
`feedscrub explain`. Does no I/O: it is given the upstream body and runs the same pure chain
serving runs (parse → filters → clean/rewrite/sanitise, pipeline.transform).

    report = build_report(body, source=…, options=…, ruleset=…, policy=…, fetch=facts)
    report.items[0].removals[0].removal.rule   # "feedx.footer"
    report.hits                                 # {"share.endpoint_links": 5, …}
    format_text(report, colour=False)           # what `feedscrub explain` prints

Tried rules (`TriedRule`, from the form or `--rule kind=value`) are checked with the same
validation as the config file (one-line reason) and added to the feed's own options for this
report only: nothing is stored.
"""

from __future__ import annotations

import dataclasses
import html as html_lib
import json
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml.html import HtmlElement

from proxy import clean, filters, parse, rewrite
from proxy.clean.custom import check
from proxy.clean.registry import Rule
from proxy.clean.tree import serialise
from proxy.feedconfig import FeedOptions
from proxy.models import Cleaned, Entry, FetchResult, LinkChange, Removal
from proxy.pipeline.freshness import BodyState
from proxy.pipeline.process import transform
from proxy.sanitize import sanitize_html

# The rules a user may try, and what check() calls their values (the config file's kinds).
RULE_KINDS: dict[str, str] = {
    "remove": "css",
    "remove_xpath": "xpath",
    "remove_text": "regex",
    "remove_after": "regex",
    "unwrap": "css",
    "strip_params": "glob",
}
MAX_RULE_CHARS = 500  # a tried rule is one selector or pattern, not a document


@dataclass(frozen=True, slots=True)
class TriedRule:
    kind: str  # a key of RULE_KINDS
    value: str  # strip_params: comma-separated globs


def parse_rule(text: str) -> TriedRule:
    """`kind=value` (the --rule form) → TriedRule; ValueError with a one-line reason."""
    kind, equals, value = text.partition("=")
    kind = kind.strip()
    if not equals or kind not in RULE_KINDS:
        raise ValueError(
            f"--rule must be kind=value with kind one of {', '.join(RULE_KINDS)}; not {text!r}"
        )
    return TriedRule(kind, value)


def rule_problem(rule: TriedRule) -> str | None:
    """Why a tried rule cannot run (the config file's own message), or None."""
    if not rule.value.strip():
        return "must not be empty"
    if len(rule.value) > MAX_RULE_CHARS:
        return f"longer than {MAX_RULE_CHARS} characters"
    for value in _values(rule):
        problem = check(RULE_KINDS[rule.kind], value)
        if problem:
            return problem
    return None


def _values(rule: TriedRule) -> tuple[str, ...]:
    if rule.kind == "strip_params":
        return tuple(part.strip() for part in rule.value.split(",") if part.strip())
    return (rule.value,)


def with_rules(options: FeedOptions, rules: Sequence[TriedRule]) -> FeedOptions:
    """options with the (valid) tried rules added after the feed's own."""
    changes: dict[str, Any] = {}
    for rule in rules:
        current = changes.get(rule.kind, getattr(options, rule.kind))
        changes[rule.kind] = (*current, *_values(rule))
    return dataclasses.replace(options, **changes) if changes else options


def toml_snippet(rules: Sequence[TriedRule], *, name: str, url: str) -> str:
    """A [[feeds]] entry carrying the tried rules, ready to paste into the config file."""

    def string(value: str) -> str:
        # A JSON string is a TOML basic string, once DEL and lone surrogates (which JSON
        # leaves raw and TOML refuses) are escaped too.
        return "".join(
            f"\\u{ord(ch):04x}" if ch == "\x7f" or "\ud800" <= ch <= "\udfff" else ch
            for ch in json.dumps(value, ensure_ascii=False)
        )

    lines = ["[[feeds]]", f"name = {string(name)}", f"url = {string(url)}"]
    merged: dict[str, list[str]] = {}
    for rule in rules:
        merged.setdefault(rule.kind, []).extend(_values(rule))
    for kind, values in merged.items():
        lines.append(f"{kind} = [{', '.join(string(v) for v in values)}]")
    return "\n".join(lines) + "\n"


# --- the report ---------------------------------------------------------------------------


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
    element: str = ""  # its start tag, e.g. <div data-selfpromo-newsletter>
    links: tuple[str, ...] = ()  # the links it held (share endpoints …)


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
    number: int
    title: str
    reason: str


@dataclass(frozen=True, slots=True)
class Boilerplate:
    rule: str
    text: str
    items: int  # how many items carried it


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
        options = with_rules(options, tried)
        ruleset = clean.compile_ruleset(options, default_packs)
    elif ruleset is None:
        ruleset = clean.compile_ruleset(options, default_packs)
    ruleset = _tripping(ruleset)

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
    )


def _tripping(ruleset: clean.Ruleset) -> clean.Ruleset:
    """ruleset with each custom rule failing at once on every item after the one where it
    failed (a regex out of time): anyone who may open the page can type a regex, and a
    runaway one must cost one time bound per report, not one per item."""

    def trip(rule: Rule) -> Rule:
        run = rule.item
        if run is None:
            return rule
        failed: list[BaseException] = []

        def item(root: HtmlElement) -> None:
            if failed:
                raise TimeoutError(f"skipped: failed on an earlier item ({failed[0]!r})")
            try:
                run(root)
            except Exception as exc:
                failed.append(exc)
                raise

        return dataclasses.replace(rule, item=item)

    if not ruleset.custom_rules:
        return ruleset
    return dataclasses.replace(
        ruleset, custom_rules=tuple(trip(rule) for rule in ruleset.custom_rules)
    )


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
        element, links = ("", ())
        if marker is not None and len(marker):
            inner = marker[0]
            element = _start_tag(inner)
            links = tuple(
                a.get("href", "")
                for a in inner.iter("a")
                if a.get("href") and not _marked_inside(a, marker)
            )
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
    carriers: dict[tuple[str, str], set[int]] = {}
    for item in items:
        for shown in item.removals:
            if shown.removal.pack == "auto":
                key = (shown.removal.rule, shown.removal.text)
                carriers.setdefault(key, set()).add(item.number)
    return tuple(
        Boilerplate(rule, text, len(numbers))
        for (rule, text), numbers in sorted(carriers.items(), key=lambda kv: -len(kv[1]))
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


# --- the item HTML, for the page ------------------------------------------------------------


def marked_html(tree: HtmlElement | None) -> str:
    """The marked tree as safe HTML: through the sanitiser, each marker then made a
    <del class="fs-removed" data-rule="…"> with a <span class="fs-rule"> label.

    The sanitiser keeps <del title>; the title carries a random nonce, so only our markers
    (never the upstream's own <del>) become labelled ones after it.
    """
    if tree is None:
        return ""
    nonce = secrets.token_hex(8)
    work = _copy(tree)
    for marker in work.iter("del"):
        rule = marker.get(clean.MARK_RULE)
        if rule is None:
            continue
        index = marker.get(clean.MARK_REMOVAL, "")
        for name in (clean.MARK_RULE, clean.MARK_REMOVAL):
            marker.attrib.pop(name, None)
        marker.set("title", f"{nonce} {rule} {index}")
    safe = sanitize_html(serialise(work))
    pattern = re.compile('<del title="' + nonce + r' ([A-Za-z0-9_.\-\[\]]{1,80}) ([0-9]{1,6})">')

    def label(match: re.Match[str]) -> str:
        rule = html_lib.escape(match.group(1))
        return (
            f'<del class="fs-removed" data-rule="{rule}" data-removal="{match.group(2)}">'
            f'<span class="fs-rule">{rule}</span>'
        )

    return pattern.sub(label, safe)


def _copy(tree: HtmlElement) -> HtmlElement:
    import copy

    return copy.deepcopy(tree)


# --- the terminal ------------------------------------------------------------------------------

_COLOURS = {"rule": "36", "removed": "31", "head": "1", "dim": "2", "link": "33"}


def format_text(report: FeedReport, *, colour: bool = False, item: int | None = None) -> str:
    """The report as `feedscrub explain` prints it (item: only that 1-based item)."""

    def c(kind: str, text: str) -> str:
        return f"\x1b[{_COLOURS[kind]}m{text}\x1b[0m" if colour else text

    out: list[str] = []
    f = report.fetch
    out.append(c("head", f"feed: {report.title or '(untitled)'}") + f"  ({report.source})")
    shown = [i for i in report.items if item is None or i.number == item]
    out.append(
        f"items: {report.total} upstream, {len(report.items)} served, "
        f"{len(report.dropped)} dropped by filters"
    )
    facts = [f"cache {f.cache}", f"{f.size} bytes", f"age {f.age} s"]
    if f.status is not None:
        facts.insert(0, f"status {f.status}")
    if f.stale_reason:
        facts.append(f"stale: {f.stale_reason}")
    timings = dict(report.timings)
    if f.fetch_ms is not None:
        timings = {"fetch": f.fetch_ms, **timings}
    facts.append(", ".join(f"{stage} {ms:.1f} ms" for stage, ms in timings.items()))
    out.append("fetch: " + "; ".join(facts))
    if report.rules:
        out.append("tried: " + ", ".join(f"{r.kind}={r.value}" for r in report.rules))
    out.append("")
    out.append(c("head", "rule hits:"))
    width = max((len(rule) for rule in report.hits), default=0)
    for rule, count in report.hits.items():
        out.append(f"  {c('rule', rule.ljust(width))}  {count}")
    if not report.hits:
        out.append("  (no rule removed anything)")
    out.append(c("head", "boilerplate found:"))
    for block in report.boilerplate:
        out.append(f"  {c('rule', block.rule)}  in {block.items} items: {block.text!r}")
    if not report.boilerplate:
        out.append("  (none)")
    if report.dropped:
        out.append(c("head", "dropped by filters:"))
        for d in report.dropped:
            out.append(f"  #{d.number} {d.title!r}: {d.reason}")
    for entry in shown:
        out.append("")
        out.append(c("head", f"item {entry.number}: {entry.title or '(untitled)'}"))
        if entry.link:
            out.append(c("dim", f"  {entry.link}"))
        if entry.failed:
            out.append(f"  rule {entry.failed} failed: item served as it came (sanitised)")
        for s in entry.removals:
            r = s.removal
            if r.action == "unwrap":
                what = f"unwrapped {r.count} <{r.tag}>"
            else:
                what = s.element or (f"<{r.tag}>" if r.tag else "text")
            line = f"  - {c('rule', r.rule)}  {what}"
            if r.text:
                line += "  " + c("removed", repr(r.text))
            out.append(line)
            for href in s.links:
                short = href if len(href) <= 100 else href[:99] + "…"
                out.append(f"      {c('link', short)}")
        for change in entry.links:
            out.append(f"  ~ {c('rule', change.rule)}  {change.old} → {change.new}")
        if not entry.removals and not entry.links:
            out.append("  (nothing removed)")
    return "\n".join(out) + "\n"
