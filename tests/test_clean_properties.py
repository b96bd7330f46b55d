"""Properties of the clean stage: article text survives the seed's junk, nothing raises, and
the shortcuts the rules take (hints, fast unescaping and parsing) agree with the long way."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.clean import clean, parse_fragment, serialise
from proxy.clean.nodes import ItemHints
from proxy.clean.urls import query_values, unescape
from proxy.sanitize import NOT_XML_CHARS, drop_non_xml_chars

# Words that would make generated article text look like junk the rules are meant to remove.
_JUNK_WORDS = re.compile(
    r"分享|share|sharing|[获獲]取更多|feedx\.|selfpromo|whatsapp", re.IGNORECASE
)


def _junk_on_its_own(words: str) -> bool:
    """Whether a paragraph holding only these words is junk to the cleaner (an ad label such
    as "PAID CONTENT"): Hypothesis draws strings from the rules' own constants, so the
    article generator must not hand the rules their own labels as article text."""
    item = f"<p>0</p><p>{html.escape(words)}</p>"  # a label is never an item's only content
    return text(clean(item).html) != text(item)


_words = (
    st.text(
        alphabet=st.characters(categories=("L", "N", "P", "Zs"), exclude_characters="<>&"),
        min_size=1,
        max_size=24,
    )
    .filter(lambda words: _JUNK_WORDS.search(words) is None)
    .filter(lambda words: not _junk_on_its_own(words))
)


def _spans(depth: int, inner: str) -> str:
    return "<span>" * depth + inner + "</span>" * depth


_inline = st.one_of(
    _words.map(html.escape),
    _words.map(lambda t: f"<strong>{html.escape(t)}</strong>"),
    _words.map(lambda t: f"<em>{html.escape(t)}</em>"),
    st.builds(
        lambda path, t: f'<a href="https://example.org/{path}">{html.escape(t)}</a>',
        st.sampled_from(["", "story/1", "a?b=1&amp;c=2", "tag/x#y"]),
        _words,
    ),
    st.builds(_spans, st.integers(1, 6), _words.map(html.escape)),
    st.just("<br>"),
)
_paragraph = st.lists(_inline, min_size=1, max_size=6).map(lambda parts: f"<p>{''.join(parts)}</p>")
_article = st.builds(
    lambda paragraphs, wrap: f"<div>{paragraphs}</div>" if wrap else paragraphs,
    st.lists(_paragraph, min_size=1, max_size=6).map("".join),
    st.booleans(),
)

# The seed's junk, piece by piece (tests/data/seed/feedx-rfi-item.html).
SELFPROMO = "<div data-selfpromo-newsletter></div><div data-selfpromo-app></div>"
SHARE_BLOCK = (
    '<div><div>分享 :</div><div><a href="https://www.facebook.com/dialog/share?app_id=1&amp;'
    'href=x" target="_blank" rel="noopener nofollow"><span></span></a><a href="whatsapp://send?'
    'text=x"><span></span></a><a href="https://web.whatsapp.com/send?text=x"><span></span></a>'
    '<a href="https://twitter.com/intent/tweet?url=x&amp;via=RFI_Cn"><span></span></a>'
    '<span data-root-share><share-button v-on:open="openModal"></share-button><share-modal '
    'v-if="displayModal" v-on:close="closeModal"></share-modal></span></div></div>'
)
FEEDX_FOOTER = (
    '<br><hr><div>获取更多RSS：<br><a href="https://feedx.net" style="color:orange" '
    'target="_blank">https://feedx.net</a> <br><a href="https://feedx.best" style="color:orange"'
    ' target="_blank">https://feedx.best</a><br></div>'
)
BARE_FOOTER = '<hr/>获取更多RSS：<a href="https://feedx.net">feedx.net</a>'


def text(fragment: str) -> str:
    """The fragment's text with whitespace normalised (runs collapsed, ends trimmed)."""
    if not fragment.strip():
        return ""
    return " ".join(lxml.html.fragment_fromstring(fragment, "div").text_content().split())


@settings(max_examples=100, deadline=None)
@given(
    article=_article,
    selfpromo=st.booleans(),
    share=st.booleans(),
    footer=st.sampled_from(["", FEEDX_FOOTER, BARE_FOOTER]),
)
def test_cleaning_keeps_exactly_the_article_text(
    article: str, selfpromo: bool, share: bool, footer: str
) -> None:
    item = article + (SELFPROMO if selfpromo else "") + (SHARE_BLOCK if share else "") + footer
    cleaned = clean(item).html
    assert text(cleaned) == text(article)
    for junk in ("获取更多RSS", "feedx.", "分享", "share-", "selfpromo", "whatsapp", "<span"):
        assert junk not in cleaned


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet="<>/&;#\"'= \n\tabpdivspanimgbr!-", max_size=60)))
def test_clean_html_never_raises(anything: str) -> None:
    assert isinstance(clean(anything).html, str)


# --- the shortcuts the rules take must not change what they find -----------------------


# Markers the rules look for in names and attribute values, and pieces that spell or hide
# them in markup.
MARKERS = ["share", "data-root-share", "data-selfpromo", "sharedaddy"]
_markup = st.lists(
    st.sampled_from(
        [
            "share",
            "SHARE",
            "ſhare",
            "s&#104;are",
            "&#115;hare",
            "s&amp;#104;are",
            "sh\tare",
            "data-",
            "root-",
            "selfpromo",
            "DATA-SELFPROMO",
            "sharedaddy",
            " class='",
            "feed",
            "FeEd",
            "fe\ned",
            "medium",
            "MEDIUM",
            "med&period;ium",
            "med\tium",
            "<span>",
            "<SPAN class=x>",
            "</span>",
            "<p>",
            "</p>",
            "<a href='",
            '<img src="',
            "'>",
            '">',
            "</a>",
            "<div ",
            ">",
            "=",
            '"',
            "&amp;",
            "&",
            ";",
            "#",
            " ",
            "<",
            "x",
            "-",
            "<share-",
            "<x-share",
            "<x<share-y>",
            "button>",
            "<a href='fe\ned'>",
            "<img src='//med\tium.com/_/stat'>",
            "<img src='//medium&#46;com/_/stat'>",
            ".com",
        ]
    ),
    max_size=30,
).map("".join)


def _everything(root: lxml.html.HtmlElement) -> str:
    """Tag and attribute names and attribute values (also unescaped again), lower-cased."""
    parts = []
    for node in root.iter():
        if isinstance(node.tag, str):
            parts.append(node.tag)
            for name, value in node.attrib.items():
                parts += [name, value, unescape(value)]
    return "\0".join(parts).lower()


@settings(max_examples=200, deadline=None)
@given(_markup)
def test_hints_never_miss_a_marker_in_the_tree(markup: str) -> None:
    hints = ItemHints(markup)
    root = parse_fragment(markup)
    found = _everything(root)
    for marker in MARKERS:
        if marker in found:
            assert hints.may_contain(marker), marker


@settings(max_examples=200, deadline=None)
@given(_markup)
def test_hints_know_every_tag_name_holding_a_word(markup: str) -> None:
    names = {node.tag for node in parse_fragment(markup).iter() if isinstance(node.tag, str)}
    assert {name for name in names if "share" in name} <= ItemHints(markup).tag_names_with("share")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="&#;ampltxX0123456789abcdefnotcopy =?q", max_size=24))
def test_unescape_is_html_unescape(value: str) -> None:
    assert unescape(value) == html.unescape(value)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="share=status&%73+;x2Bt", max_size=24))
def test_query_values_is_parse_qs(query: str) -> None:
    for name in ("share", "status"):
        assert query_values(query, name) == parse_qs(query).get(name, [])


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_drop_non_xml_chars_is_the_regex(text: str) -> None:
    assert drop_non_xml_chars(text) == NOT_XML_CHARS.sub("", text)


def test_drop_non_xml_chars_is_the_regex_on_every_character() -> None:
    """Each code point (surrogates too) alone and amid CJK text: the byte table's verdict is
    the regex's."""
    for code in range(0x110000):
        character = chr(code)
        for text in (character, f"布{character}x"):
            assert drop_non_xml_chars(text) == NOT_XML_CHARS.sub("", text), hex(code)


@pytest.mark.parametrize(
    "html",
    ["", "text & <b>x</b> tail", "<p>a</p>b", " <br> ", "x\u00a0<i>y</i>\u3000", "<div>&lt;</div>"],
)
def test_serialise_is_the_text_and_children_of_the_container(html: str) -> None:
    root = parse_fragment(html)
    children = "".join(lxml.html.tostring(child, encoding="unicode") for child in root)
    text = html_lib_escape(root.text or "")
    assert serialise(root) == text + children


def html_lib_escape(text: str) -> str:
    return html.escape(text, quote=False)


@settings(max_examples=300, deadline=None)
@given(_markup)
def test_tag_names_with_is_every_name_the_tag_pattern_finds(markup: str) -> None:
    """The occurrence-based reading finds exactly what findall over every tag finds."""
    from proxy.clean.hints import _TAG_NAME

    raw = markup.encode("utf-8", "surrogatepass").lower()
    expected = {n[1:].decode("utf-8", "replace") for n in _TAG_NAME.findall(raw) if b"share" in n}
    assert ItemHints(markup).tag_names_with("share") == expected
