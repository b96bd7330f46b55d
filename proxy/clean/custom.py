"""Rules people write in the config file, compiled once into the same shape as built-in rules.

remove / remove_xpath / remove_text / remove_after / unwrap / strip_params work on the item
tree; replace works on the HTML text before it is parsed. Regexes use the ``regex`` module
because it can stop a pathological pattern after a time bound (``re`` cannot): a rule that
runs out of time fails, and a failed rule leaves its item as it was.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import regex
from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement

from proxy import clean, metrics
from proxy.feedconfig import FeedOptions, Replacement

logger = logging.getLogger(__name__)

REGEX_SECONDS = 0.25  # per match; a feed of 100 items cannot stall a worker for long
Rule = Callable[[HtmlElement], None]


@dataclass(frozen=True, slots=True)
class NamedRule:
    name: str  # e.g. "remove[0]" — how the log names a rule that failed
    apply: Rule


def check(kind: str, value: str) -> str | None:
    """Compile one selector, XPath, regex or glob; return why it is invalid, or None."""
    try:
        if kind == "css":
            CSSSelector(value)
        elif kind == "xpath":
            etree.XPath(value)
        elif kind == "regex":
            regex.compile(value)
        elif kind == "glob" and not value.strip():
            return "must not be empty"
    except Exception as exc:  # each library has its own error tree; the message is what counts
        label = {"css": "CSS selector", "xpath": "XPath", "regex": "regex"}.get(kind, kind)
        quoted = '"' + value.replace('"', '\\"') + '"'
        return f"invalid {label} {quoted}: {exc}"
    return None


def _drop(element: HtmlElement) -> None:
    if element.getparent() is not None:
        element.drop_tree()  # keeps the tail text: it belongs to the parent


def _remove_css(selector: str) -> Rule:
    compiled = CSSSelector(selector)

    def rule(root: HtmlElement) -> None:
        for element in compiled(root):
            if element is not root:
                _drop(element)

    return rule


def _remove_xpath(expression: str) -> Rule:
    compiled = etree.XPath(expression)

    def rule(root: HtmlElement) -> None:
        for element in compiled(root):
            if isinstance(element, etree._Element) and element is not root:
                _drop(element)

    return rule


def _unwrap(selector: str) -> Rule:
    compiled = CSSSelector(selector)

    def rule(root: HtmlElement) -> None:
        for element in compiled(root):
            if element is not root and element.getparent() is not None:
                element.drop_tag()

    return rule


def _smallest_matches(root: HtmlElement, pattern: regex.Pattern[str]) -> list[HtmlElement]:
    """Elements whose text matches while none of their children's text does."""
    found: list[HtmlElement] = []
    for element in root.iter(etree.Element):
        if element is root:
            continue
        if pattern.search(element.text_content(), timeout=REGEX_SECONDS) is None:
            continue
        if any(
            pattern.search(child.text_content(), timeout=REGEX_SECONDS) is not None
            for child in element.iterchildren(etree.Element)
        ):
            continue
        found.append(element)
    return found


def _remove_text(expression: str) -> Rule:
    pattern = regex.compile(expression)

    def rule(root: HtmlElement) -> None:
        for element in _smallest_matches(root, pattern):
            _drop(element)

    return rule


def _remove_after(expression: str) -> Rule:
    pattern = regex.compile(expression)

    def rule(root: HtmlElement) -> None:
        matches = _smallest_matches(root, pattern)
        if not matches:
            return
        marker = matches[0]
        # Everything after the marker, at every level up to the item itself, goes too.
        node = marker
        while node is not root:
            parent = node.getparent()
            for sibling in list(node.itersiblings()):
                parent.remove(sibling)
            node.tail = None
            node = parent
        _drop(marker)

    return rule


def _strip_params(globs: Sequence[str]) -> Rule:
    patterns = tuple(glob.lower() for glob in globs)

    def keep(name: str) -> bool:
        lowered = name.lower()
        return not any(fnmatch.fnmatchcase(lowered, p) for p in patterns)

    def rule(root: HtmlElement) -> None:
        for element in root.iter("a", "img"):
            attribute = "href" if element.tag == "a" else "src"
            url = element.get(attribute)
            if not url or "?" not in url:
                continue
            parts = urlsplit(url)
            query = parse_qsl(parts.query, keep_blank_values=True)
            kept = [(k, v) for k, v in query if keep(k)]
            if len(kept) != len(query):
                element.set(attribute, urlunsplit(parts._replace(query=urlencode(kept))))

    return rule


def compile_rules(options: FeedOptions) -> tuple[NamedRule, ...]:
    """The tree rules of one feed's options, in a fixed order (removals, then unwraps)."""
    rules: list[NamedRule] = []
    for i, selector in enumerate(options.remove):
        rules.append(NamedRule(f"remove[{i}]", _remove_css(selector)))
    for i, expression in enumerate(options.remove_xpath):
        rules.append(NamedRule(f"remove_xpath[{i}]", _remove_xpath(expression)))
    for i, expression in enumerate(options.remove_text):
        rules.append(NamedRule(f"remove_text[{i}]", _remove_text(expression)))
    for i, expression in enumerate(options.remove_after):
        rules.append(NamedRule(f"remove_after[{i}]", _remove_after(expression)))
    for i, selector in enumerate(options.unwrap):
        rules.append(NamedRule(f"unwrap[{i}]", _unwrap(selector)))
    if options.strip_params:
        rules.append(NamedRule("strip_params", _strip_params(options.strip_params)))
    return tuple(rules)


def apply_replacements(html: str, replacements: Sequence[Replacement]) -> str:
    """The `replace` rules, on the HTML text. Raises TimeoutError on a runaway pattern."""
    for item in replacements:
        html = regex.sub(item.pattern, item.replacement, html, timeout=REGEX_SECONDS)
    return html


@dataclass(frozen=True, slots=True)
class Ruleset:
    """Everything that decides how one feed's items are cleaned, compiled once."""

    packs: tuple[str, ...]
    tree_rules: tuple[NamedRule, ...] = ()
    replacements: tuple[Replacement, ...] = ()
    fingerprint: str = ""  # changes whenever any rule changes: part of the output cache key


def compile_ruleset(options: FeedOptions, default_packs: Sequence[str]) -> Ruleset:
    packs = tuple(options.rules) if options.rules is not None else tuple(default_packs)
    fingerprint = repr(
        (
            packs,
            options.remove,
            options.remove_xpath,
            options.remove_text,
            options.remove_after,
            options.unwrap,
            options.replace,
            options.strip_params,
            options.include,
            options.exclude,
            options.max_age,
            options.limit,
            options.images,
            options.fulltext,
            options.fulltext_selector,
            options.image_referer,
        )
    )
    return Ruleset(
        packs=packs,
        tree_rules=compile_rules(options),
        replacements=options.replace,
        fingerprint=fingerprint,
    )


def clean_with(html: str, ruleset: Ruleset, *, context: str = "") -> HtmlElement:
    """Built-in packs, then the feed's own rules, on one tree.

    A custom rule that fails (a runaway regex, a selector that throws) leaves the item as it
    was upstream; the log names the rule and the item.
    """
    original = html
    if ruleset.replacements:
        try:
            html = apply_replacements(html, ruleset.replacements)
        except Exception as exc:
            logger.warning("rule=replace %s failed, item left as it was: %s", context, exc)
            return clean.parse_fragment(original)
    root = clean.clean_tree(html, ruleset.packs, context=context)
    for rule in ruleset.tree_rules:
        try:
            rule.apply(root)
            metrics.count_rule("custom:" + rule.name.split("[")[0])
        except Exception as exc:
            logger.warning("rule=%s %s failed, item left as it was: %s", rule.name, context, exc)
            return clean.parse_fragment(original)
    return root
