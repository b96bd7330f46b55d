"""The trees issue 15.1's differential tests compare old and new code over: every element of
every item the test data holds (tests/clean_inputs.py), as parsed and as the auto pack sees
it (after the packs before it), and small trees with what the clean stage's parser never
makes (comments, processing instructions, upper-case tags set by hand).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from lxml import etree
from lxml.html import HtmlElement

from proxy import clean
from proxy.clean import boilerplate
from proxy.clean.nodes import html_parser
from proxy.clean.tree import parse_fragment
from tests import clean_inputs


@functools.cache
def _item_htmls() -> tuple[str, ...]:
    return tuple(html for _, htmls in clean_inputs.batches() for html in htmls)


@functools.cache
def _auto_inputs() -> tuple[str, ...]:
    """Each item as the auto pack's analysis receives it (the packs before it have run)."""
    seen: list[str] = []
    original = boilerplate.analyse

    def spy(root: HtmlElement) -> boilerplate._Item:
        seen.append(clean.serialise(root))
        return original(root)

    boilerplate.analyse = spy
    try:
        for _, htmls in clean_inputs.batches():
            clean.clean_items(list(htmls))
    finally:
        boilerplate.analyse = original
    return tuple(seen)


# What the parser never makes (it drops comments and PIs) but a tree handed to the helpers
# may hold: comments and PIs with text and tails, upper-case tags, whitespace-only pieces,
# NBSP, text just over and under each limit, media and sacred elements as leaves.
_ODD = (
    "<p>  a  b  </p><div>x<b>  </b>y<!-- hidden words -->tail</div>",
    "<DIV>Upper <SPAN>case</SPAN></DIV><IMG src='x.png'><BR><HR>",
    "<p>\u00a0\u00a0</p><p>\u3000</p><span> </span><a href='https://e.org/p'>link</a>",
    "<p>" + "x" * 40 + "</p><p>" + "y " * 40 + "</p><p>" + "z" * 41 + "</p>",
    "<div>" + "<p>" + "w" * 300 + "</p>" * 3 + "</div><p>" + "字" * 801 + "</p>",
    "<p>" + "ab " * 300 + "</p><p>" + "c" * 800 + "</p><p>" + "d" * 801 + "</p>",
    "<pre>code</pre><table><tr><td>cell</td></tr></table><code>x</code><img>",
    "<div><br></div><p><img src='a.png'></p><video src='v.mp4'></video><svg></svg>",
    "<p>one<br>two<br>three</p><p><small>a line here<br>another line</small></p>",
    # A separator the last of the last 2 * EDGE_BLOCKS children, one just before them, one
    # at the very start
    "<p>a</p>" * 3 + "<br><br>" + "<p>the footer line</p>" * 7,
    "<p>a</p>" * 3 + "<br><br>" + "<p>the footer line</p>" * 8,
    "<br><br>" + "<p>the footer line</p>" * 7,
    "<p>a</p>" * 2 + "<hr>" + "<p>f</p>" * 7,
    "<p>a</p>" * 2 + "<hr>" + "<p>f</p>" * 8,
    "<hr>" + "<p>f</p>" * 7,
    "<p>a</p><br> <br>" + "<p>f</p>" * 7 + "<hr>",
)


def odd_trees() -> Iterator[HtmlElement]:
    parser = html_parser()  # keeps comments and PIs, unlike the clean stage's parser
    for html in _ODD:
        document = etree.fromstring(f"<html><body>{html}<?pi some text?>tail</body></html>", parser)
        body = document.find("body")
        assert body is not None
        yield body
        root = parse_fragment(html)
        comment = etree.Comment(" a comment with words ")
        comment.tail = " after it "
        root.insert(0, comment)
        if len(root) > 1:
            root[1].append(etree.Comment("inner"))
            root[1].append(etree.ProcessingInstruction("pi", "text"))
        yield root
    # Tags a rule may set by hand (the parser lower-cases them): lxml's tag walks match them
    # case-sensitively, the helpers' lower-cased names do not.
    root = parse_fragment("<div><p>text before</p></div><div></div><p>short</p>")
    for at, tag in ((0, "A"), (0, "PRE"), (1, "IMG"), (1, "Br"), (2, "A")):
        element = root[at].makeelement(tag, {"href": "https://e.org/x", "src": "i.png"})
        element.text = "words" if tag != "IMG" else None
        root[at].append(element)
    yield root
    yield from (root.makeelement(tag, {}) for tag in ("A", "IMG", "HR", "P"))


@functools.cache
def trees() -> tuple[HtmlElement, ...]:
    """Parsed once for every test: none of the functions compared edits a tree."""
    parsed = [parse_fragment(html) for html in (*_item_htmls(), *_auto_inputs())]
    return (*parsed, *odd_trees())
