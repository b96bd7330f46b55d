"""The evidence rules' own first tests (speed-ups only): each says "nothing here" only where the
rule's full reading finds nothing, over every item of tests/data (the real corpus included),
the evidence tests' inputs and generated URLs. (Whole items cleaned with and without them:
tests/test_clean_prefilters.py, through registry.use_prefilters, which they obey too.)"""

from __future__ import annotations

import functools
from collections.abc import Callable
from copy import deepcopy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from lxml.html import HtmlElement

from proxy.clean import DEFAULT_PACKS, Ruleset, clean_items, parse_fragment, registry
from proxy.clean.nodes import LAZY_SRC_ATTRIBUTES, text_of
from proxy.clean.packs.evidence import downloads, folding, labels, related, trackers, widgets
from proxy.clean.packs.evidence.labels import AD_LABELS
from proxy.clean.packs.evidence.related import LABELS as RELATED_LABELS
from tests import (
    clean_inputs,
    test_clean_evidence,
    test_clean_evidence_disclaimers,
    test_clean_evidence_lists,
)

_BEFORE_EVIDENCE = Ruleset(packs=DEFAULT_PACKS[: DEFAULT_PACKS.index("evidence")])


# The before/after tables of the evidence tests (pytest params of HTML strings).
_TABLES = (
    *(test_clean_evidence.LOOK_ALIKES, test_clean_evidence.WIDGETS, test_clean_evidence.LABELS),
    *(test_clean_evidence.RELATED, test_clean_evidence.FORMS),
    *(test_clean_evidence_disclaimers.CASES, test_clean_evidence_lists.CASES),
)


@functools.cache
def _htmls() -> tuple[str, ...]:
    """Every item HTML of tests/data and every HTML of the evidence tests' tables."""
    found = [html for _name, htmls in clean_inputs.batches() for html in htmls]
    for table in _TABLES:
        for case in table:
            found.extend(value for value in case.values if isinstance(value, str))
    return tuple(found)


@functools.cache
def _trees() -> tuple[HtmlElement, ...]:
    """Each item parsed, and each item as the evidence pack gets it (after the packs before)."""
    trees = [parse_fragment(html) for html in _htmls()]
    before: list[HtmlElement] = []
    clean_items(list(_htmls()), _BEFORE_EVIDENCE, rewrite=lambda _i, root: before.append(root))
    return (*trees, *before)


def test_the_trees_are_many() -> None:
    assert len(_htmls()) > 1500
    assert len(_trees()) > 3000


def test_any_named_answers_as_the_widget_xpath_does() -> None:
    """any_named(root) is whether _NAMED(root) finds anything, for every item and every
    element of the first levels of each (some with a class, an id or data-*, most without)."""
    answers = set()
    for tree in _trees():
        for root in [tree, *tree.iterchildren(etree.Element)]:
            answer = widgets.any_named(root)
            assert answer is bool(widgets._NAMED(root)), etree.tostring(root)[:200]
            answers.add(answer)
    assert answers == {True, False}


def _urls() -> set[str]:
    found = set()
    for tree in _trees():
        for node in tree.iter(etree.Element):
            for name in ("src", "href", *LAZY_SRC_ATTRIBUTES):
                if value := node.get(name):
                    found.add(value)
    return found


def test_a_tracker_url_is_never_passed_over_in_the_test_data() -> None:
    urls = _urls()
    trackers_found = [url for url in urls if trackers.read_as_tracker_url(url)]
    for url in trackers_found:
        assert trackers.may_be_tracker_url(url), url
    assert len(urls) > 1000
    assert trackers_found, "some tracker URL is in the test data"
    assert sum(not trackers.may_be_tracker_url(url) for url in urls) > len(urls) // 2


@pytest.mark.parametrize(("url", "tracker"), test_clean_evidence.TRACKERS)
def test_the_tracker_table_reads_the_same_without_the_first_test(url: str, tracker: bool) -> None:
    assert trackers.read_as_tracker_url(url) is tracker
    assert trackers.may_be_tracker_url(url) or not tracker


# Tracker URLs written as feeds write them: odd cases, escaped once or twice, split by tabs
# and line breaks, and the characters whose lower case is ASCII (KELVIN SIGN: "k").
_URL_PIECES = st.sampled_from(
    [
        "https://",
        "//",
        "HTTP://",
        "stats.example.org/",
        "ir-na.amazon-adsystem.com/",
        "IR-NA.Amazon-AdSystem.COM/",
        "ad.DoubleClick.net/",
        "doublecli\u212a.net/",
        "doubleclic\u212a.net/",
        "ad.double&#99;lick.net/",
        "ad.double&amp;#99;lick.net/",
        "doubleclick\t.net/",
        "pixel.mathtag.com/",
        "matomo.php",
        "MATOMO.PHP",
        "piwik.php",
        "matomo.p&#104;p",
        "/pixel/",
        "/PIXEL/",
        "/pi\nxel/",
        "/trac\u212a/",
        "/TRK/",
        "/open",
        "/Open.gif",
        "/beacon/",
        "a1b2c3d4e5f6",
        "a1b2c3d4e5f6.gif",
        "?",
        "idsite=3",
        "IdSite=3",
        "id&#115;ite=3",
        "&rec=1",
        "&amp;action_name=x",
        ";url=y",
        "x=1",
        "/photo.jpg",
        " ",
        "\r",
    ]
)


@settings(max_examples=600, deadline=None)
@given(st.lists(_URL_PIECES, max_size=7).map("".join))
def test_a_tracker_url_is_never_passed_over(url: str) -> None:
    """Whenever the full reading takes url for a tracker's, the first test lets it through."""
    if trackers.read_as_tracker_url(url):
        assert trackers.may_be_tracker_url(url), url


def _without_links(tree: HtmlElement) -> bool:
    return next(tree.iter("a"), None) is None


@pytest.mark.parametrize(
    ("rule", "skips"),
    [
        pytest.param(related.remove_related_lists, _without_links, id="related_lists"),
        pytest.param(downloads.remove_download_prompts, _without_links, id="download_prompts"),
        pytest.param(
            widgets.remove_named_widgets, lambda t: not widgets.any_named(t), id="widgets"
        ),
        pytest.param(
            labels.remove_ad_labels, lambda t: not labels.may_hold_label(text_of(t)), id="labels"
        ),
    ],
)
def test_a_rule_finds_nothing_where_its_first_test_skips_it(
    rule: Callable[[HtmlElement], None],
    skips: Callable[[HtmlElement], bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Run in full (prefilters off) on every tree its first test skips, the rule leaves the
    tree as it was; and the test data has trees of both kinds."""
    monkeypatch.setattr(registry, "use_prefilters", False)
    skipped = 0
    for tree in _trees():
        if not skips(tree):
            continue
        skipped += 1
        before = etree.tostring(tree)
        copy = deepcopy(tree)
        rule(copy)
        assert etree.tostring(copy) == before
    assert 100 < skipped < len(_trees())


def test_the_folding_blocks_hold_every_character_that_folds() -> None:
    """folding.FOLDING_BLOCKS is where every character of all of Unicode whose casefold() is
    not itself lives (a new Python with a new Unicode fails here first)."""
    blocks = set(folding.FOLDING_BLOCKS)
    outside = [
        hex(code)
        for code in range(0x110000)
        if code >> 8 not in blocks and chr(code).casefold() != chr(code)
    ]
    assert outside == []


@functools.cache
def _folding_into() -> dict[str, frozenset[str]]:
    """Read from all of Unicode: for each character of the labels, every character whose
    casefold() holds it (what folding.preimages must answer)."""
    wanted = {c for label in (*AD_LABELS, *RELATED_LABELS) for c in label if not c.isspace()}
    into: dict[str, set[str]] = {c: set() for c in wanted}
    for code in range(0x110000):
        character = chr(code)
        for part in set(character.casefold()):
            if part in into:
                into[part].add(character)
    return {c: frozenset(found) for c, found in into.items()}


def test_preimages_are_every_character_folding_into_one() -> None:
    for character, found in _folding_into().items():
        assert folding.preimages(character) == found, character
    assert folding.preimages("k") == {"k", "K", "\u212a"}
    assert folding.preimages("μ") == {"μ", "Μ", "\xb5"}


def _spellings(label: str) -> st.SearchStrategy[str]:
    """Texts whose casefold() is label: each character (or run that one character folds
    into, "ss" from "ß") written in any way that folds into it."""
    ways: list[list[tuple[str, str]]] = []  # per position: (written, what it folds into)
    for at in range(len(label)):
        if label[at].isspace():
            ways.append([(label[at], label[at])])
            continue
        ways.append(
            [
                (y, folded)
                for y in sorted(_folding_into()[label[at]])
                if label.startswith(folded := y.casefold(), at)
            ]
        )

    @st.composite
    def spell(draw: st.DrawFn) -> str:
        out, at = [], 0
        while at < len(label):
            written, folded = draw(st.sampled_from(ways[at]))
            out.append(written)
            at += len(folded)
        return "".join(out)

    return spell()


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_a_label_in_any_case_holds_a_piece(data: st.DataObject) -> None:
    """Whatever the case of a label's characters (KELVIN SIGN, MICRO SIGN, ligatures, "ß"),
    the text holds one of the pieces its rule is first tested with."""
    for labels_of, pieces in (
        (AD_LABELS, labels.LABEL_PIECES),
        (RELATED_LABELS, folding.folded_needs(RELATED_LABELS)),
    ):
        label = data.draw(st.sampled_from(sorted(labels_of)))
        text = data.draw(_spellings(label))
        assert label in text.casefold()
        assert any(piece in text for piece in pieces), (label, text)
    text = data.draw(_spellings(data.draw(st.sampled_from(sorted(AD_LABELS)))))
    assert labels.may_hold_label(f"Article text.\n<{text}>\n2024"), text


def test_ad_labels_pieces_are_found_in_every_case() -> None:
    for text in ("ADVERTISEMENT", "Anzeige", "РЕКЛАМА", "ΔΙΑΦΉΜΙΣΗ", "广告", "スポンサーリンク"):
        assert labels.ad_label(text), text
        assert labels._ANY_PIECE.search(text), text
    assert not labels._ANY_PIECE.search("18/06/2023 - 23:50，美国国务卿布林肯")
