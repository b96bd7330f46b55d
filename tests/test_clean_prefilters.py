"""The rules' prefilters (registry.Needs) and the item hints they read only ever skip work:
every item of tests/data cleans the very same with them and without them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.clean import all_rules, clean, parse_fragment, registry
from proxy.clean.hints import MARKER_PUNCTUATION, ItemHints, _ascii_lowered, _tag_names_with
from proxy.clean.packs.common import url_matches
from proxy.sanitize import drop_non_xml_chars
from tests import clean_inputs

Outcomes = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def with_them() -> Outcomes:
    return clean_inputs.outcomes()


def test_every_item_cleans_the_same_without_prefilters(
    with_them: Outcomes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTML, removals (rule, tag, text, reason), link changes, failures and the preview's
    marked tree of each of the ~1,500 items of tests/data (the real corpus included)."""
    monkeypatch.setattr(registry, "use_prefilters", False)
    without = clean_inputs.outcomes()
    assert with_them.keys() == without.keys()
    for name in with_them:
        assert with_them[name] == without[name], name


def test_the_test_data_has_items_the_prefilters_skip_and_items_they_keep(
    with_them: Outcomes,
) -> None:
    """The comparison above means something: some rules are skipped on some items and run
    (and remove something) on others."""
    rules = {rule.id for rule in all_rules() if rule.needs is not None}
    hit = {
        removal[0] for items in with_them.values() for item in items for removal in item["removals"]
    }
    assert len(rules) >= 8
    assert len(rules & hit) >= 4, sorted(rules & hit)


def test_a_text_need_holds_no_whitespace() -> None:
    with pytest.raises(ValueError, match="whitespace"):
        registry.Needs(text=("The post",))


@pytest.mark.parametrize(
    "html",
    [
        "&lt;p&gt;Text of the article, long enough.&lt;/p&gt;&lt;share-button&gt;x&lt;/share-button&gt;",
        "&lt;p&gt;Text of the article.&lt;/p&gt;&lt;mp-miniprogram&gt;card&lt;/mp-miniprogram&gt;",
    ],
)
def test_markup_that_was_escaped_twice_is_seen_once_parsed(html: str) -> None:
    """The escaped pack turns text into markup: the hints learn its names, so the rules
    after it see the share button and the WeChat card it holds."""
    cleaned = clean(html)
    assert cleaned.html.startswith("<p>Text of the article"), cleaned.html
    assert "share-button" not in cleaned.html and "card" not in cleaned.html, cleaned.html


def test_a_ghost_portal_link_written_with_a_character_reference_is_removed() -> None:
    """`&num;` is `#` once parsed: the portal rule's `#/portal` marker must not be ruled
    out by the hints because the source spells it as a reference."""
    for spelling in ("&num;", "&#35;", "&#x23;", "&#0035;"):
        html = f'<p>Text of the article, long enough.</p><a href="{spelling}/portal/signup">Join</a>'
        assert ItemHints(html).may_contain("#/portal"), spelling
        assert "portal" not in clean(html).html, spelling


def test_every_markup_marker_character_is_one_the_hints_decode() -> None:
    """A marker character the hints do not decode from a reference (MARKER_PUNCTUATION)
    would let a prefilter skip an item whose parsed tree holds the marker."""
    for rule in all_rules():
        if rule.needs is None:
            continue
        for marker in rule.needs.markup:
            odd = {c for c in marker if not c.isalnum() and c not in MARKER_PUNCTUATION}
            assert not odd, (rule.id, marker, odd)


# URLs as feeds write them: escaped once or twice, split by tabs and line breaks, with
# userinfo, ports, odd cases and the characters whose lower case is ASCII.
_URL_PIECES = st.sampled_from(
    [
        "https://",
        "//",
        "http:",
        "///",
        "feeds.feedburner.com",
        "feeds.feed&#98;urner.com",
        "feeds.feed&amp;#98;urner.com",
        "FEEDS.FeedBurner.COM",
        "feeds.feed\tburner.com",
        "feeds.feed\nburner.com",
        "medium.com",
        "BOO\u212a.com",
        "medi&#x75;m.com",
        "user@",
        ":8080",
        "/",
        "/~r/x",
        "?a=1&amp;b=2",
        "#f",
        "x.",
        " ",
        "\\",
        "%2F",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_URL_PIECES, max_size=8).map("".join))
def test_the_hosts_index_knows_every_domain_a_url_rule_reads(url: str) -> None:
    """Whenever url_matches finds a link on a domain, ItemHints.may_link_to says it may."""
    markup = f"<a href=\"{url}\">x</a><img src='{url}'>"
    hints = ItemHints(markup)
    for node in parse_fragment(markup).iter("a", "img"):
        value = node.get("href") or node.get("src")
        for domain in ("feeds.feedburner.com", "medium.com", "book.com", "com"):
            if url_matches(value, {domain: ("/",)}):
                assert hints.may_link_to(domain), (url, domain)


# Words tag_names_with is asked for (the share pack's), names the items hold, and words that
# are nowhere; then pieces that put tabs, line breaks, case and Unicode around them.
_NAME_WORDS = ("share-", "-share", "share", "button", "mp-", "x-", "-", "a", "zz-absent", "Share-")


def _names_as_before(source: str, word: str) -> set[str]:
    """tag_names_with as it was: read off the whole source, encoded and lower-cased."""
    return _tag_names_with(source.encode("utf-8", "surrogatepass").lower(), word.encode())


def test_tag_names_with_finds_what_the_whole_source_held_on_every_item() -> None:
    """tag_names_with skips items whose ASCII text lacks the word (no encoding of the whole
    item): over every item of the test data, the very names a read of it all finds."""
    checked = skipped = 0
    for _, htmls in clean_inputs.batches():
        for html in htmls:
            source = drop_non_xml_chars(html)
            hints = ItemHints(source)
            for word in _NAME_WORDS:
                assert hints.tag_names_with(word) == _names_as_before(source, word), word
                checked += 1
                skipped += hints._raw is None
    assert checked > 1000 and skipped > 100, (checked, skipped)


_NAME_PIECES = st.sampled_from(
    [
        "<",
        ">",
        " ",
        "\t",
        "\n",
        "\r",
        "\f",
        "/",
        "share",
        "SHARE",
        "-",
        "\u212a",
        "\u0130",
        "\u00e9",
        "布",
        "&amp;",
        "&#60;",
        "x",
        "<share-",
        "-share>",
        '="',
        '"',
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_NAME_PIECES, max_size=12).map("".join))
def test_tag_names_with_finds_what_the_whole_source_held(markup: str) -> None:
    source = drop_non_xml_chars(markup)
    for word in ("share-", "-share", "share", "\u00e9-", "x\t"):
        assert ItemHints(source).tag_names_with(word) == _names_as_before(source, word), word


def test_ascii_text_is_lower_cased_as_before_on_every_item() -> None:
    """_ascii_lowered lower-cases and drops tabs and line breaks in one translate: over
    every item of the test data (and every byte value), what lower() then the deletion made."""
    texts = [html for _, htmls in clean_inputs.batches() for html in htmls]
    texts.append("".join(map(chr, range(256))) + "K\u0130\u212a\t\n\r\f")
    for text in texts:
        lowered = text.lower() if any(c in text for c in ("\u0130", "\u212a")) else text
        before = lowered.encode("ascii", "ignore").lower().translate(None, b"\t\n\r")
        assert _ascii_lowered(text) == before
