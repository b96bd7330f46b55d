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
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import regex
from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement

from proxy.clean import attribution
from proxy.clean.nodes import cut_text, drop, set_link
from proxy.clean.registry import Rule, make_rule
from proxy.feedconfig import FeedOptions, Replacement

logger = logging.getLogger(__name__)

# Per match; a feed of 100 items cannot stall a worker for long. concurrent=True on every
# match releases the GIL meanwhile, so the event loop keeps answering (issue 9.1).
REGEX_SECONDS = 0.25
ItemRule = Callable[[HtmlElement], None]

# Why each kind of the feed's own rules removes what it removes (attribution's reason).
REASONS = {
    "remove": "matched a CSS selector in this feed's `remove` rules",
    "remove_xpath": "matched an XPath in this feed's `remove_xpath` rules",
    "remove_text": "its text matched a pattern in this feed's `remove_text` rules",
    "remove_after": "at or after a match of this feed's `remove_after` rules",
    "unwrap": "matched a CSS selector in this feed's `unwrap` rules (content kept)",
    "strip_params": "query parameters named in this feed's `strip_params` rules",
}


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
        drop(element)  # keeps the tail text: it belongs to the parent


def _remove_css(selector: str) -> ItemRule:
    compiled = CSSSelector(selector)

    def rule(root: HtmlElement) -> None:
        for element in compiled(root):
            if element is not root:
                _drop(element)

    return rule


def _remove_xpath(expression: str) -> ItemRule:
    compiled = etree.XPath(expression)

    def rule(root: HtmlElement) -> None:
        for element in compiled(root):
            if isinstance(element, etree._Element) and element is not root:
                _drop(element)

    return rule


def _unwrap(selector: str) -> ItemRule:
    compiled = CSSSelector(selector)

    def rule(root: HtmlElement) -> None:
        for element in compiled(root):
            if element is not root and element.getparent() is not None:
                attribution.unwrapped(root, str(element.tag))
                element.drop_tag()

    return rule


def _smallest_matches(root: HtmlElement, pattern: regex.Pattern[str]) -> list[HtmlElement]:
    """Elements whose text matches while none of their children's text does."""
    found: list[HtmlElement] = []
    for element in root.iter(etree.Element):
        if element is root:
            continue
        if pattern.search(element.text_content(), timeout=REGEX_SECONDS, concurrent=True) is None:
            continue
        if any(
            pattern.search(child.text_content(), timeout=REGEX_SECONDS, concurrent=True) is not None
            for child in element.iterchildren(etree.Element)
        ):
            continue
        found.append(element)
    return found


def _remove_text(expression: str) -> ItemRule:
    pattern = regex.compile(expression)

    def rule(root: HtmlElement) -> None:
        for element in _smallest_matches(root, pattern):
            _drop(element)

    return rule


def _remove_after(expression: str) -> ItemRule:
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
                attribution.removed(sibling)
                cut_text(sibling, sibling.tail or "")
                parent.remove(sibling)
            cut_text(node, node.tail or "")
            node.tail = None
            node = parent
        _drop(marker)

    return rule


def _strip_params(globs: Sequence[str]) -> ItemRule:
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
                set_link(element, attribute, urlunsplit(parts._replace(query=urlencode(kept))))

    return rule


def compile_rules(options: FeedOptions) -> tuple[Rule, ...]:
    """The tree rules of one feed's options, in a fixed order (removals, then unwraps).

    Each is attributed as "custom.<kind>" (custom.remove_text…); the log names it with its
    index ("remove_text[0]").
    """
    rules: list[Rule] = []

    def add(kind: str, label: str, function: ItemRule) -> None:
        rules.append(make_rule("custom", kind, function, REASONS[kind], label=label))

    for i, selector in enumerate(options.remove):
        add("remove", f"remove[{i}]", _remove_css(selector))
    for i, expression in enumerate(options.remove_xpath):
        add("remove_xpath", f"remove_xpath[{i}]", _remove_xpath(expression))
    for i, expression in enumerate(options.remove_text):
        add("remove_text", f"remove_text[{i}]", _remove_text(expression))
    for i, expression in enumerate(options.remove_after):
        add("remove_after", f"remove_after[{i}]", _remove_after(expression))
    for i, selector in enumerate(options.unwrap):
        add("unwrap", f"unwrap[{i}]", _unwrap(selector))
    if options.strip_params:
        add("strip_params", "strip_params", _strip_params(options.strip_params))
    return tuple(rules)


def apply_replacements(html: str, replacements: Sequence[Replacement]) -> str:
    """The `replace` rules, on the HTML text. Raises TimeoutError on a runaway pattern."""
    for item in replacements:
        html = regex.sub(
            item.pattern, item.replacement, html, timeout=REGEX_SECONDS, concurrent=True
        )
    return html
