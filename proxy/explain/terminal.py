"""The report as `feedscrub explain` prints it in a terminal."""

from __future__ import annotations

from proxy.explain.report import FeedReport

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
    counts = max((len(str(count)) for count in report.hits.values()), default=0)
    for rule, count in report.hits.items():
        why = report.reason_of(rule)
        out.append(
            f"  {c('rule', rule.ljust(width))}  {str(count).rjust(counts)}"
            + (f"  {c('dim', why)}" if why else "")
        )
    if not report.hits:
        out.append("  (no rule removed anything)")
    out.append(c("head", "boilerplate found:"))
    for block in report.boilerplate:
        what = "a line " if block.kind == "line" else ""
        out.append(f"  {c('rule', block.rule)}  {what}in {block.items} items: {block.text!r}")
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
            line = f"  - {c('rule', r.rule)}  {s.part}"
            if r.text:
                line += "  " + c("removed", repr(r.text))
            out.append(line)
            if r.reason != report.reason_of(r.rule):
                out.append(f"      {c('dim', 'why: ' + r.reason)}")
            for href in s.links:
                short = href if len(href) <= 100 else href[:99] + "…"
                out.append(f"      {c('link', short)}")
        for change in entry.links:
            out.append(f"  ~ {c('rule', change.rule)}  {change.old} → {change.new}")
            if change.reason != report.reason_of(change.rule):
                out.append(f"      {c('dim', 'why: ' + change.reason)}")
        if not entry.removals and not entry.links:
            out.append("  (nothing removed)")
    return "\n".join(out) + "\n"
