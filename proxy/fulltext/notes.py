"""Footnotes kept through extraction: the page's note sections, taken out before readability
and put back on the article that refers to them. No I/O; called by proxy.fulltext.extract.

readability-lxml drops footnotes twice over: every element whose class or id says "foot"
(`<div class="footnotes">`, Pandoc's `<section id="footnotes">`, the references themselves:
`<a class="footnote-ref">`, Substack's `<a id="footnote-anchor-1">`) is an "unlikely
candidate" removed before scoring, and a list of notes whose text is mostly links is
"cleaned" as link-heavy. So, on the parsed page:

1. a **reference** is a link `href="#X"` to an element of the page; its class and id (and
   those of the inline elements around it, such as `<sup>`) are hidden from readability in
   data attributes, and given back on the article (take_notes / give_back);
2. a **note section** holds a reference's target: the outermost block around the target
   whose class, id or role says footnote/endnote/references (`footnotes`,
   `wp-block-footnotes`, `doc-endnotes`, `reflist`…) and that does not hold a reference to
   that target itself (so never the article around the notes: it holds the references);
   sections are taken out of the page before readability runs (take_notes);
3. after extraction, each section the article has a reference to, and none of whose
   targets the article already holds, is appended to the article in page order
   (attach_sections). A section nothing in the article points at stays out (a sidebar
   of references to another page, a reference list of a comment).

Targets and references without such a section are left to readability as before (notes
written as plain paragraphs at the end are paragraphs it keeps). Bounded: at most
MAX_REFERENCES links are read per page.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from lxml.html import HtmlElement

from proxy.htmlurls import anchor_targets, fragment_target

__all__ = [
    "MAX_REFERENCES",
    "Section",
    "attach_sections",
    "give_back",
    "take_notes",
]

# A long article has a few hundred notes; a page with more in-page links than this is an
# index, and its links are not read further.
MAX_REFERENCES = 2_000
# What a note section's class, id or role says (tokens, any case): Jekyll/kramdown and Hugo
# "footnotes", markdown-it "footnotes-list", WordPress "wp-block-footnotes", Substack
# "footnote", DPUB-ARIA "doc-endnotes"/"doc-footnote", MediaWiki "references"/"reflist".
_MARKER = re.compile(r"foot-?notes?|end-?notes?|\breferences\b|\breflist\b", re.IGNORECASE)
# Blocks a section may be (never the inline <a>/<sup> of a target, nor the page itself).
_BLOCKS = frozenset(
    {"aside", "blockquote", "dd", "details", "div", "dl", "footer", "li", "ol", "p"}
    | {"section", "table", "ul"}
)
# Where readability's eyes are kept off a reference's class and id.
HIDDEN_CLASS = "data-feedscrub-class"
HIDDEN_ID = "data-feedscrub-id"
# The inline elements around a reference whose class/id readability also reads.
_INLINE = frozenset({"a", "sup", "sub", "span", "small", "em", "strong", "b", "i", "cite"})


@dataclass(frozen=True, slots=True)
class Section:
    """One note section taken out of the page: the element, and the ids references in the
    page point at inside it."""

    element: HtmlElement
    targets: frozenset[str]


def _references(root: HtmlElement, targets: set[str]) -> list[tuple[HtmlElement, str]]:
    """(link, the id it points at) for each in-page link of the page, up to MAX_REFERENCES."""
    found: list[tuple[HtmlElement, str]] = []
    for link in root.iter("a"):
        href = link.get("href")
        if href is None or not href.lstrip().startswith("#"):
            continue
        target = fragment_target(href, targets)
        if target is not None:
            found.append((link, target))
            if len(found) >= MAX_REFERENCES:
                break
    return found


def _marked(element: HtmlElement) -> bool:
    said = " ".join(element.get(name, "") for name in ("class", "id", "role"))
    return bool(said.strip()) and _MARKER.search(said) is not None


def _by_id(root: HtmlElement) -> dict[str, HtmlElement]:
    """Each id (and <a name>) of the page, to its first element."""
    elements: dict[str, HtmlElement] = {}
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for value in (element.get("id"), element.get("name") if element.tag == "a" else None):
            if value and value not in elements:
                elements[value] = element
    return elements


def take_notes(root: HtmlElement) -> list[Section]:
    """Take the page's note sections out of root (each leaves its tail text in place), hide
    the class and id of every reference left in it from readability (give_back puts them
    back), and return the sections in page order."""
    for element in root.xpath(f"//*[@{HIDDEN_CLASS} or @{HIDDEN_ID}]"):
        element.attrib.pop(HIDDEN_CLASS, None)  # the page's own: not ours to give back
        element.attrib.pop(HIDDEN_ID, None)
    elements = _by_id(root)
    references = _references(root, set(elements))
    if not references:
        return []
    # Per target, every element around one of its references: a section never holds one.
    around: dict[str, set[HtmlElement]] = {}
    for link, target in references:
        holders = around.setdefault(target, set())
        holders.add(link)
        holders.update(link.iterancestors())
    chosen: list[HtmlElement] = []
    for target, holders in around.items():
        section = None
        node: HtmlElement | None = elements[target]
        while node is not None and node not in holders and node.tag not in ("body", "html"):
            if node.tag in _BLOCKS and _marked(node):
                section = node  # the outermost so far
            node = node.getparent()
        if section is not None and section not in chosen:
            chosen.append(section)
    # A section inside another chosen one goes with it.
    picked = set(chosen)
    outermost = [s for s in chosen if not any(a in picked for a in s.iterancestors())]
    order = {element: i for i, element in enumerate(root.iter())}
    outermost.sort(key=order.__getitem__)
    lifted = set(outermost)
    for link, _ in references:
        if not any(a in lifted for a in link.iterancestors()):
            _hide(link)
    sections = []
    for element in outermost:
        held = anchor_targets(element) & set(around)
        element.drop_tree()
        element.tail = None
        sections.append(Section(element, frozenset(held)))
    return sections


def _hide(link: HtmlElement) -> None:
    """Move the class and id of link, and of the inline elements around it, to data
    attributes readability does not read."""
    node: HtmlElement | None = link
    while node is not None and node.tag in _INLINE:
        for name, hidden in (("class", HIDDEN_CLASS), ("id", HIDDEN_ID)):
            value = node.attrib.pop(name, None)
            if value is not None:
                node.set(hidden, value)
        node = node.getparent()


def give_back(root: HtmlElement) -> None:
    """The classes and ids take_notes hid, back where they were."""
    for element in root.xpath(f"descendant-or-self::*[@{HIDDEN_CLASS} or @{HIDDEN_ID}]"):
        for name, hidden in (("class", HIDDEN_CLASS), ("id", HIDDEN_ID)):
            value = element.attrib.pop(hidden, None)
            if value is not None:
                element.set(name, value)


def attach_sections(article: HtmlElement, sections: list[Section]) -> None:
    """Append to article (in page order) a copy of each section it refers to and holds no
    target of."""
    if not sections:
        return
    held = anchor_targets(article)
    wanted = {target for section in sections for target in section.targets}
    pointed = {target for _, target in _references(article, wanted)}
    for section in sections:
        if section.targets & pointed and not section.targets & held:
            article.append(copy.deepcopy(section.element))
