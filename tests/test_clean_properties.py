"""Properties of the clean stage: article text survives the seed's junk, and nothing raises."""

from __future__ import annotations

import html
import re

import lxml.html
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.clean import clean_html

# Words that would make generated article text look like junk the rules are meant to remove.
_JUNK_WORDS = re.compile(r"分享|share|sharing|[获獲]取更多", re.IGNORECASE)

_words = st.text(
    alphabet=st.characters(categories=("L", "N", "P", "Zs"), exclude_characters="<>&"),
    min_size=1,
    max_size=24,
).filter(lambda text: _JUNK_WORDS.search(text) is None)


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
    cleaned = clean_html(item)
    assert text(cleaned) == text(article)
    for junk in ("获取更多RSS", "feedx.", "分享", "share-", "selfpromo", "whatsapp", "<span"):
        assert junk not in cleaned


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet="<>/&;#\"'= \n\tabpdivspanimgbr!-", max_size=60)))
def test_clean_html_never_raises(anything: str) -> None:
    assert isinstance(clean_html(anything), str)
