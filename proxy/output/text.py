"""Text that leaves as text: titles readers cannot take for markup, XML-safe strings, and
Chinese script conversion (OpenCC). Part of the output stage; no I/O.

Only this module imports opencc. The binding is the upstream project's own (BYVoid/OpenCC
on PyPI as ``opencc``): maintained, with wheels that ship the dictionaries, so nothing is
downloaded or configured at run time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import lxml.html
import opencc

from proxy.feedconfig import OPENCC_CONFIGS

# Characters XML 1.0 forbids; one of them would make the whole document unreadable.
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# "<" that an HTML parser would read as the start of a tag, a comment or a declaration.
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
# U+2060 WORD JOINER: invisible and unbreakable, and no tag name starts with it, so a reader
# that sniffs titles for HTML (feedparser does) sees text. The title reads the same.
_JOINER = "\u2060"

Converter = Callable[[str], str]


def xml_safe(text: str | None) -> str | None:
    if text is None:
        return None
    return _XML_FORBIDDEN.sub("", text)


def neutral_title(text: str | None) -> str | None:
    """A title as text that no reader takes for markup (issue 9.5)."""
    if text is None:
        return None
    return _TAG_START.sub("<" + _JOINER, xml_safe(text) or "")


def check_opencc(name: str) -> str:
    lowered = name.strip().lower()
    if lowered not in OPENCC_CONFIGS:
        raise ValueError(f"opencc must be one of {', '.join(OPENCC_CONFIGS)}, not {name!r}")
    return lowered


@functools.lru_cache(maxsize=len(OPENCC_CONFIGS))
def converter(name: str) -> Converter:
    """The OpenCC conversion for a config name (loaded once: dictionaries take ~10 ms)."""
    engine = opencc.OpenCC(check_opencc(name))
    convert: Converter = engine.convert
    return convert


def convert_tree(root: lxml.html.HtmlElement, convert: Converter) -> None:
    """OpenCC over the text nodes of an item's HTML tree (before it is serialised and
    sanitised); tags, attributes and URLs are never touched."""
    for node in root.iter():
        if isinstance(node.tag, str) and node.tag not in ("script", "style") and node.text:
            node.text = convert(node.text)
        if node is not root and node.tail:
            node.tail = convert(node.tail)
