"""The report as plain data (`feedscrub explain --json`): what the terminal text says, for
scripts. Every removal names what it took out as the text does (`part`: a start tag, "line",
"text", "unwrapped N <tag>") and by `kind` ("element", "line", "text"), with its reason."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from proxy.explain.report import FeedReport, ItemReport, Shown


def as_data(report: FeedReport, *, item: int | None = None) -> dict[str, Any]:
    """The report (item: only that 1-based item) as JSON-able data."""
    return {
        "source": report.source,
        "title": report.title,
        "kind": report.kind,
        "upstream_items": report.total,
        "served_items": len(report.items),
        "fetch": dataclasses.asdict(report.fetch),
        "timings_ms": report.timings,
        "tried": [{"kind": r.kind, "value": r.value} for r in report.rules],
        "hits": [
            {"rule": rule, "count": count, "reason": report.reason_of(rule)}
            for rule, count in report.hits.items()
        ],
        "boilerplate": [dataclasses.asdict(b) for b in report.boilerplate],
        "dropped": [dataclasses.asdict(d) for d in report.dropped],
        "items": [_item(i) for i in report.items if item is None or i.number == item],
    }


def format_json(report: FeedReport, *, item: int | None = None) -> str:
    return json.dumps(as_data(report, item=item), ensure_ascii=False, indent=2) + "\n"


def _item(entry: ItemReport) -> dict[str, Any]:
    return {
        "number": entry.number,
        "title": entry.title,
        "link": entry.link,
        "field": entry.field,
        "failed": entry.failed,
        "removals": [_removal(shown) for shown in entry.removals],
        "links": [dataclasses.asdict(change) for change in entry.links],
        "served_html": entry.after,
    }


def _removal(shown: Shown) -> dict[str, Any]:
    r = shown.removal
    return {
        "rule": r.rule,
        "pack": r.pack,
        "kind": r.kind,
        "part": shown.part,
        "tag": r.tag,
        "text": r.text,
        "reason": r.reason,
        "action": r.action,
        "count": r.count,
        "links": list(shown.links),
    }
