"""What one item's markup can hold (ItemHints), so that rules skip work that cannot find
anything, and the trie patterns (one_of) the hints and the rules build on. Part of the
clean stage; does no I/O. (proxy.clean.nodes gives rules the hints of the item they clean.)
"""

from __future__ import annotations

import html
import html.entities
import re
from collections.abc import Iterable
from typing import Any

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
MARKER_PUNCTUATION = "._/:=-#"


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
# bytes.lower() as a translate table (A-Z to a-z, every other byte as it is).
_ASCII_LOWER = bytes(range(256)).lower()
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
    # (lower() and the deletion in one translate: 39k instructions on the seed item, 60k)
    return text.encode("ascii", "ignore").translate(_ASCII_LOWER, b"\t\n\r")


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

    __slots__ = ("_source", "_decoded", "_ascii", "_full", "_names", "_raw", "_hosts")

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
        self._raw: bytes | None = None  # the source in UTF-8, lower-cased (tag_names_with)
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
            if word.isascii() and word.encode() not in self._ascii:
                # Each run of the source's ASCII is in _ascii, lower-cased as the raw bytes
                # are, but for tabs and line breaks, which end a name anyway: a word not
                # there is in no name. (Most items, and no encoding of the whole item.)
                found = self._names[word] = set()
                return set()
            if self._raw is None:  # (encoded once for every word: 10 µs on a CJK item)
                self._raw = self._source.encode("utf-8", "surrogatepass").lower()
            found = self._names[word] = _tag_names_with(self._raw, word.encode())
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
