"""Tried rules: a rule typed in the preview form or given as `--rule kind=value`, checked
with the same validation as the config file (one-line reason) and added to the feed's own
options for one report only: nothing is stored.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lxml.html import HtmlElement

from proxy import clean
from proxy.clean.custom import check
from proxy.clean.registry import Rule
from proxy.feedconfig import FeedOptions

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


def tripping(ruleset: clean.Ruleset) -> clean.Ruleset:
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
