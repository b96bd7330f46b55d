"""What cleaning did to one feed: the report behind the preview page and `feedscrub explain`.
`report` builds it (no I/O), `tried` checks and applies rules being tried, `marked` shows an
item's removals as safe HTML, `terminal` prints the report,
`export` gives it as JSON.
"""

from proxy.explain.export import as_data, format_json
from proxy.explain.marked import marked_html
from proxy.explain.report import (
    Boilerplate,
    Dropped,
    FeedReport,
    FetchFacts,
    ItemReport,
    Shown,
    build_report,
    fetch_facts,
)
from proxy.explain.terminal import format_text
from proxy.explain.tried import (
    MAX_RULE_CHARS,
    RULE_KINDS,
    TriedRule,
    parse_rule,
    rule_problem,
    toml_snippet,
    with_rules,
)

__all__ = [
    "MAX_RULE_CHARS",
    "RULE_KINDS",
    "Boilerplate",
    "Dropped",
    "FeedReport",
    "FetchFacts",
    "ItemReport",
    "Shown",
    "TriedRule",
    "as_data",
    "build_report",
    "fetch_facts",
    "format_json",
    "format_text",
    "marked_html",
    "parse_rule",
    "rule_problem",
    "toml_snippet",
    "with_rules",
]
