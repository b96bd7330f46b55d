"""Small helpers over lxml nodes, shared by the cleaning rules (URLs: `urls`). Does no I/O.

Cost model, for rules that must stay cheap on every item of every feed: a Python proxy
for an lxml element, an XPath predicate on a node and a Python loop step each cost about
as much as parsing that node did. So rules reach their candidates with `iter(tag)` or one
XPath of location paths, ask the item's `ItemHints` (a substring test on the source)
before looking for markup names that may well be absent, and run Python only on what they
found.
"""

from __future__ import annotations

import html
import html.entities
import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction

from proxy import htmlurls
from proxy.clean import attribution

# Elements that show something without any text. An <img> counts even with only a lazy
# `data-src`: the rewrite stage turns that into a real src after cleaning.
MEDIA_TAGS = frozenset(
    {"img", "video", "audio", "iframe", "picture", "svg", "object", "embed", "source"}
)

# Table and list structure: removing an empty cell or item would shift the columns or the
# numbering, so no rule ever removes these because they are empty.
STRUCTURAL_TAGS = frozenset(
    {
        "table",
        "caption",
        "colgroup",
        "col",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "td",
        "th",
        "li",
        "dt",
        "dd",
    }
)

VOID_TAGS = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "keygen",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)

SEPARATOR_TAGS = frozenset({"br", "hr"})

# Lazy-loading attributes the rewrite stage reads; rules treat them like `src` (the one list
# is in proxy.htmlurls).
LAZY_SRC_ATTRIBUTES = htmlurls.LAZY_SRC_ATTRIBUTES
LAZY_ATTRIBUTES = htmlurls.LAZY_ATTRIBUTES

# Every element is an lxml.html.HtmlElement (drop_tree, drop_tag, text_content, cssselect…),
# with the class chosen in C. lxml.html's own parser asks a Python method for every element
# proxy it makes, a fifth of the clean stage's time. Nothing here uses the form classes
# (FormElement, InputElement…) that its lookup would pick for form controls.
HTML_LOOKUP = etree.ElementDefaultClassLookup(
    element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
)


def html_parser(**options: Any) -> etree.HTMLParser:
    """An lxml HTML parser (options as for etree.HTMLParser) that makes HtmlElements.

    Parsers are not thread-safe: keep one per thread.
    """
    parser = etree.HTMLParser(**options)
    parser.set_element_class_lookup(HTML_LOOKUP)
    return parser


# --- patterns -------------------------------------------------------------------------


def one_of(words: Iterable[str]) -> str:
    """A regex matching any of words (longest first at each branch), factored as a trie.

    `a|ab|abc|…` with hundreds of names tries every name at every position; the trie tries
    one character per level, which keeps patterns over feed text fast on any input (the
    built-in patterns are timed on worst-case inputs by tests/test_patterns.py).
    """
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for character in word:
            node = node.setdefault(character, {})
        node[""] = {}
    return _trie_pattern(trie)


def _trie_pattern(node: dict[str, Any]) -> str:
    ends = "" in node
    branches = [re.escape(c) + _trie_pattern(child) for c, child in sorted(node.items()) if c]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends:  # a shorter word ends here: the longer ones are tried first, greedily
        return "(?:" + body + ")?"
    return body


# --- what an item can contain -----------------------------------------------------------

# What a marker may contain: ASCII letters and digits, these, and non-ASCII text (CJK).
MARKER_PUNCTUATION = "._/:=-"


def _spells_marker_text(value: str) -> bool:
    return any(c.isascii() and (c.isalnum() or c in MARKER_PUNCTUATION) for c in value)


# A character reference that can stand for a marker character, also escaped once more
# (`&amp;#46;`): numeric ones, and the few named ones such as `&period;`.
REVEALING_REFERENCE = re.compile(
    "&(?:amp;?|AMP;?)?(?:#|"
    + one_of(n for n, v in html.entities.html5.items() if _spells_marker_text(v))
    + ")"
)


# The characters outside ASCII whose str.lower() holds an ASCII letter ("K" KELVIN SIGN is
# "k", "İ" is "i" and a combining dot): URL rules lower-case hosts with str.lower, so a host
# spelled with them matches an ASCII domain. (Looked for one by one: `in` finds one
# character at memchr speed, a regex class took 57 µs on the seed item.)
_LOWERS_TO_ASCII = ("\u0130", "\u212a")
# What ends a start tag's name as libxml2 reads it (see ItemHints.tag_names_with).
_NAME_END = re.compile(rb"[\t\n\f\r />]")


def _ascii_lowered(text: str) -> bytes:
    """text's ASCII characters, lower-cased as str.lower does, without tabs and line breaks
    (urlsplit drops them from a URL before reading it), everything else left out.

    Leaving characters out only joins what was around them, so every ASCII marker found in
    text (lower-cased) is found here too: a test here can say "maybe" wrongly, never "no".
    """
    if any(c in text for c in _LOWERS_TO_ASCII):
        text = text.lower()
    return text.encode("ascii", "ignore").lower().translate(None, b"\t\n\r")


# Where a URL's host can be: urlsplit reads a netloc only right after "//", up to the next
# "/", "?" or "#" (the host is its part after any "@" and before any ":port").
_NETLOC = re.compile(rb"//([^/?#\0]*+)")


class ItemHints:
    """What one item's markup can hold, so that rules skip work that cannot find anything.

    Built from the HTML the tree was parsed from, lower-cased (as the parser lower-cases
    names, and as URL rules lower-case hosts), plus the same for the source decoded once and
    twice when it has character references that could stand for marker characters
    (attribute values are decoded once by the parser, URLs a second time by the rules).
    ASCII markers (all the built-in ones) are looked up in the ASCII characters of those
    texts only: half the bytes on CJK items, and no marker is lost (_ascii_lowered).

    Only for markers in tag names, attribute names and attribute values: those are whole
    in the source and no rule writes them. Text is not: the parser drops comments and
    stray tags, and rules drop elements, so two pieces of text can come to touch. Rules
    look for text markers in the tree itself. When a rule replaces the tree with markup
    that was not in the source (the escaped pack), it says so with `reparsed`, which makes
    the hints again from the new tree.
    """

    __slots__ = ("_source", "_decoded", "_ascii", "_full", "_names", "_hosts")

    def __init__(self, source: str) -> None:
        self.read(source)

    def read(self, source: str) -> None:
        """Forget what these hints knew: they are about source now."""
        self._source = source
        self._decoded: tuple[str, ...] = ()
        if "&" in source and REVEALING_REFERENCE.search(source):
            once = html.unescape(source)
            self._decoded = (once, html.unescape(once))
        self._ascii = b"\0".join([_ascii_lowered(t) for t in (source, *self._decoded)])
        self._full: bytes | None = None  # every character, for markers outside ASCII
        self._names: dict[str, set[str]] = {}  # tag_names_with, per word
        self._hosts: bytes | None = None  # every netloc the markup can hold (may_link_to)

    def may_contain(self, *markers: str) -> bool:
        """Whether any marker (lower-case, see MARKER_PUNCTUATION) can be in a tag name, an
        attribute name or an attribute value."""
        for marker in markers:
            if marker.isascii():
                if marker.encode() in self._ascii:
                    return True
            elif marker.encode() in self._everything():
                return True
        return False

    def may_hold(self, markers: tuple[bytes, ...]) -> bool:
        """may_contain for ASCII markers already encoded (the runner's prefilters)."""
        data = self._ascii
        return any(marker in data for marker in markers)

    def may_link_to(self, *domains: str) -> bool:
        """Whether a URL in an attribute can be on any of domains (ASCII, lower-case, e.g.
        "medium.com"), as urls.host_of and urls.domains_of read it (its subdomains too).

        The host of a URL is in its netloc, which urlsplit reads only after "//": so the
        domain has to be in the text after some "//" of the markup (decoded once or twice,
        tabs and line breaks gone, as for may_contain) before the next "/", "?" or "#".
        """
        return self.may_link_to_any(tuple(domain.encode() for domain in domains))

    def may_link_to_any(self, domains: tuple[bytes, ...]) -> bool:
        """may_link_to for domains already encoded (the runner's prefilters)."""
        hosts = self._hosts
        if hosts is None:
            hosts = self._hosts = b"\0".join(_NETLOC.findall(self._ascii))
        return any(domain in hosts for domain in domains)

    def _everything(self) -> bytes:
        if self._full is None:
            self._full = b"\0".join(
                t.lower().encode("utf-8", "surrogatepass") for t in (self._source, *self._decoded)
            )
        return self._full

    def tag_names_with(self, word: str) -> set[str]:
        """The tag names holding word (lower-case) that the tree can have, as lxml reads them.

        libxml2 (2.14) reads a start tag the HTML5 way: `<`, an ASCII letter, then anything
        up to whitespace, `/` or `>` (another `<` included), lower-cased in ASCII only.
        """
        found = self._names.get(word)
        if found is None:
            found = self._names[word] = _tag_names_with(
                self._source.encode("utf-8", "surrogatepass").lower(), word.encode()
            )
        return set(found)


def _tag_names_with(raw: bytes, needle: bytes) -> set[str]:
    """The names _TAG_NAME.findall(raw) finds that hold needle, without reading every tag.

    findall takes, in each run of bytes between two name ends (_NAME_END), everything from
    the run's first "<" + letter to the run's end (the name is possessive and "<" is no end).
    So an occurrence of needle is in a name when the run it is in has such a "<" before it:
    the "<"s before it are looked at back to the run's start, which is near (a pattern with
    the word inside the name backtracked over each later "<": "<a" × 50,000 took minutes;
    looking for each end byte backwards read the whole item when one never occurs).
    """
    names: set[str] = set()
    if not needle or _NAME_END.search(needle):
        return names
    at = raw.find(needle)
    while at >= 0:
        end = _NAME_END.search(raw, at)
        stop = end.start() if end else len(raw)
        opener = -1
        lt = raw.rfind(b"<", 0, at)
        while lt >= 0 and _NAME_END.search(raw, lt, at) is None:  # (lt is in the run)
            if 97 <= raw[lt + 1] <= 122:  # "<" then a-z
                opener = lt
            lt = raw.rfind(b"<", 0, lt)
        if opener >= 0:
            names.add(raw[opener + 1 : stop].decode("utf-8", "replace"))
            at = raw.find(needle, stop)  # (the rest of the run is in that same name)
        else:  # a "<" later in the run may open a name holding a later occurrence
            at = raw.find(needle, at + 1)
    return names


# A start tag's name as libxml2 reads it (possessive: a name never gives characters back).
_TAG_NAME = re.compile(rb"<(?=[a-z])[^\t\n\f\r />]*+")


_current = threading.local()


def enter_item(root: HtmlElement, hints: ItemHints) -> object:
    """Let the rules run until leave_item(previous) look up `hints` for root (hints_for).

    Returns what leave_item(previous) puts back (the runner enters once per rule and item:
    a context manager cost more than most rules on an item they skip).
    """
    previous = getattr(_current, "item", None)
    _current.item = (root, hints)
    return previous


def leave_item(previous: object) -> None:
    _current.item = previous


def reparsed(root: HtmlElement) -> None:
    """The running rule replaced root's content with markup that was not in the source (the
    escaped pack): the item's hints are made again from the tree as it is now."""
    hints = _current_hints(root)
    if hints is not None:
        markup = str(etree.tostring(root, method="html", encoding="unicode", with_tail=False))
        hints.read(markup)


def _current_hints(root: HtmlElement) -> ItemHints | None:
    current = getattr(_current, "item", None)
    if current is not None and current[0] is root:
        hints: ItemHints = current[1]
        return hints
    return None


def hints_for(root: HtmlElement) -> ItemHints:
    """The hints of the item being cleaned, or fresh ones made from root's markup."""
    hints = _current_hints(root)
    if hints is None:
        markup = str(etree.tostring(root, method="html", encoding="unicode", with_tail=False))
        hints = ItemHints(markup)
    return hints


# --- nodes ------------------------------------------------------------------------------


def tag_of(node: HtmlElement) -> str:
    """The lower-case tag name, or "" for comments and processing instructions."""
    tag = node.tag
    return tag.lower() if isinstance(tag, str) else ""


_CLASS_SEPARATORS = re.compile("[ \t\n\f\r]+")


def class_tokens(node: HtmlElement) -> list[str]:
    """The names in node's class attribute (split on ASCII whitespace, as browsers do)."""
    value = node.get("class")
    return _CLASS_SEPARATORS.split(value.strip(" \t\n\f\r")) if value else []


def is_blank(text: str | None) -> bool:
    """True for None and for text that is only whitespace (str.strip also removes NBSP)."""
    return not text or text.isspace()  # (isspace stops at the first other character)


def elements(root: HtmlElement) -> list[HtmlElement]:
    """Every element under root (root included) in document order, without comments."""
    return list(root.iter(etree.Element))


def in_document_order(nodes: Iterable[HtmlElement]) -> list[HtmlElement]:
    """nodes (all in one tree, no duplicates) sorted into document order. For a few nodes."""

    def path(node: HtmlElement) -> list[int]:
        steps = []
        parent = node.getparent()
        while parent is not None:
            steps.append(parent.index(node))
            node, parent = parent, parent.getparent()
        steps.reverse()
        return steps

    listed = list(nodes)
    if len(listed) < 2:
        return listed
    return sorted(listed, key=path)


def text_owners(root: HtmlElement, search: etree.XPath) -> list[HtmlElement] | None:
    """Elements whose .text or .tail holds a text node that `search` returned.

    search selects text nodes under root (e.g. `descendant-or-self::text()[contains(., 'x')]`)
    and the answer is in document order, root included when its own text matched. This
    relies on each .text and .tail being one text node, as the parser and every rule leave
    them; for a tree that is not being cleaned (clean_tree) it returns None, and the caller
    has to look at every element instead.
    """
    if _current_hints(root) is None:
        return None
    owners: dict[int, HtmlElement] = {}
    for piece in search(root):
        owner = piece.getparent()
        if owner is not None:
            owners.setdefault(id(owner), owner)
    return in_document_order(owners.values())


def has_media(node: HtmlElement) -> bool:
    return next(node.iter(*MEDIA_TAGS), None) is not None


def text_of(node: HtmlElement) -> str:
    return str(node.text_content())


def _text_pieces(node: HtmlElement) -> Iterator[str | None]:
    """The pieces of text_of(node), in no particular order."""
    yield node.text
    if isinstance(node.tag, str):  # a comment's text is its content, and it has no children
        for inner in node.iterdescendants():
            if isinstance(inner.tag, str):
                yield inner.text
            yield inner.tail


def has_text(node: HtmlElement) -> bool:
    """`not is_blank(text_of(node))`, stopping at the first piece of text that is not blank."""
    return any(not is_blank(piece) for piece in _text_pieces(node))


def short_text(node: HtmlElement, limit: int) -> str | None:
    """text_of(node), or None as soon as it has more than limit non-whitespace characters."""
    count = 0
    for piece in _text_pieces(node):
        if piece:
            count += sum(map(len, piece.split()))
            if count > limit:
                return None
    return text_of(node)


def is_attached(node: HtmlElement, root: HtmlElement) -> bool:
    """Whether node is still inside root (an earlier removal may have taken it out)."""
    return node is root or any(ancestor is root for ancestor in node.iterancestors())


def drop(node: HtmlElement, reason: str | None = None) -> None:
    """Remove node and its content; its tail text stays where it was.

    The removal is attributed to the rule that is running (with reason, or the rule's own).
    """
    attribution.removed(node, reason)
    node.drop_tree()


def cut_text(owner: HtmlElement, text: str, reason: str | None = None) -> None:
    """Attribute text that the running rule cuts out of owner's .text or .tail (the rule
    writes the shortened text itself)."""
    attribution.removed_text(owner, text, reason)


def unwrapped(root: HtmlElement, tag: str, count: int = 1) -> None:
    """Attribute count <tag> wrappers under root that the running rule unwrapped."""
    attribution.unwrapped(root, tag, count)


def set_link(node: HtmlElement, attribute: str, new: str, reason: str | None = None) -> None:
    """Rewrite one URL attribute of node, attributed to the running rule."""
    old = node.get(attribute) or ""
    if new != old:
        attribution.link_changed(node, old, new, reason)
        node.set(attribute, new)
