"""The clean stage's one entry: what each rule removed (attribution), link changes, feed rules,
the cache key of a ruleset, metrics, and the one lazy-image list."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from lxml.html import HtmlElement

from proxy import metrics, rewrite
from proxy.clean import (
    DEFAULT_PACKS,
    FeedContext,
    Ruleset,
    clean,
    clean_items,
    compile_ruleset,
    registry,
)
from proxy.clean.attribution import RuleInfo
from proxy.clean.nodes import drop
from proxy.feedconfig import FeedOptions, FieldFilter, Replacement
from proxy.models import REMOVED_TEXT_CHARS, Cleaned

SEED = Path(__file__).parent / "data" / "seed" / "feedx-rfi-item.html"


def rules_of(cleaned: Cleaned) -> set[str]:
    return {removal.rule for removal in cleaned.removals}


def test_seed_removals_are_attributed_to_each_rule() -> None:
    cleaned = clean(SEED.read_text(encoding="utf-8"))
    assert {"feedx.footer", "share.endpoint_links", "share.widgets", "spans.bare"} <= rules_of(
        cleaned
    )
    footer, *separators = [r for r in cleaned.removals if r.rule == "feedx.footer"]
    assert [r.tag for r in separators] == ["hr", "br"]  # the <br><hr> before it
    assert footer.pack == "feedx" and footer.tag == "div"
    assert footer.text.startswith("获取更多RSS") and "feedx.net" in footer.text
    assert footer.reason.startswith("Remove feedx.net")
    # The first share link, then the containers it left empty, the "分享 :" label with them.
    shares = [(r.tag, r.text) for r in cleaned.removals if r.rule == "share.endpoint_links"]
    assert shares[0] == ("a", "") and ("div", "分享 :") in shares
    [spans] = [r for r in cleaned.removals if r.rule == "spans.bare"]
    assert spans.action == "unwrap" and spans.tag == "span" and spans.count > 10
    assert cleaned.failed is None


def test_removed_text_is_bounded_and_whitespace_collapsed() -> None:
    html = "<p>Text.</p><div class='feedflare'>" + "flare\n\t " * 500 + "</div>"
    [removal] = clean(html, Ruleset(packs=("feedburner",))).removals
    assert removal.rule == "feedburner.feedflare"
    assert len(removal.text) == REMOVED_TEXT_CHARS and removal.text.endswith("…")
    assert "\n" not in removal.text and "  " not in removal.text


def test_link_changes_say_old_and_new_url() -> None:
    html = '<p><a href="https://a.example/x?utm_source=feed&amp;id=3">x</a></p>'
    cleaned = clean(html)
    [change] = cleaned.links
    assert (change.rule, change.pack) == ("tracking.parameters", "tracking")
    assert (change.old, change.new) == (
        "https://a.example/x?utm_source=feed&id=3",
        "https://a.example/x?id=3",
    )
    assert cleaned.removals == ()


def test_custom_rules_are_attributed_as_custom() -> None:
    options = FeedOptions(
        remove=(".ad",),
        remove_text=("^Sponsored by",),
        strip_params=("ref",),
    )
    html = (
        '<p>Body <a href="https://b.example/?ref=rss">link</a></p><div class="ad">Buy</div>'
        "<p>Sponsored by ACME</p>"
    )
    cleaned = clean(html, compile_ruleset(options, ()))
    assert [(r.rule, r.tag, r.text) for r in cleaned.removals] == [
        ("custom.remove", "div", "Buy"),
        ("custom.remove_text", "p", "Sponsored by ACME"),
    ]
    assert [(c.rule, c.new) for c in cleaned.links] == [
        ("custom.strip_params", "https://b.example/")
    ]


def test_hits_feed_rule_hits_total_for_every_built_in_rule() -> None:
    before = _rule_hits()
    clean(SEED.read_text(encoding="utf-8"))
    after = _rule_hits()

    def moved(rule: str) -> float:
        return after.get(rule, 0) - before.get(rule, 0)

    assert moved("feedx.footer") == 3  # the footer and the <br><hr> before it
    assert moved("share.endpoint_links") >= 4
    assert moved("spans.bare") > 10


def _rule_hits() -> dict[str, float]:
    found = re.findall(
        r'^feedscrub_rule_hits_total\{rule="([^"]*)"\} (\S+)$', metrics.render(), re.M
    )
    return {rule: float(value) for rule, value in found}


# --- feed rules: a hook that sees every item of a feed -------------------------------------


def _with_feed_rule(
    monkeypatch: pytest.MonkeyPatch,
    function: registry.FeedRuleFunction,
) -> Ruleset:
    pack = registry.Pack("auto", "test: feed-level rules")
    info = RuleInfo("auto", "boilerplate", "Recurs in every item of the feed.")
    pack.rules.append(registry.Rule(info, feed=function))
    monkeypatch.setitem(registry.PACKS, "auto", pack)
    return Ruleset(packs=("spans", "auto", "empty"))


def test_a_feed_rule_sees_every_item_and_is_attributed_per_item(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[int, FeedContext]] = []

    def footer_in_every_item(roots: Sequence[HtmlElement], context: FeedContext) -> None:
        calls.append((len(roots), context))
        texts = [[p.text_content() for p in root.iter("p")] for root in roots]
        common = set(texts[0]).intersection(*texts[1:])
        for root in roots:
            for p in list(root.iter("p")):
                if p.text_content() in common:
                    drop(p)

    ruleset = _with_feed_rule(monkeypatch, footer_in_every_item)
    items = [f"<p>Story {n}.</p><div><p><span>© Site</span></p></div>" for n in range(3)]
    feed = FeedContext(feed_key="https://f.example/feed")
    results = clean_items(items, ruleset, feed=feed)
    assert [r.html for r in results] == ["<p>Story 0.</p>", "<p>Story 1.</p>", "<p>Story 2.</p>"]
    assert calls == [(3, feed)]
    for result in results:
        assert [(r.rule, r.pack, r.tag, r.text) for r in result.removals if r.pack == "auto"] == [
            ("auto.boilerplate", "auto", "p", "© Site")
        ]


def test_a_failing_feed_rule_leaves_every_item_as_it_came(monkeypatch: pytest.MonkeyPatch) -> None:
    def half_then_fail(roots: Sequence[HtmlElement], context: FeedContext) -> None:
        drop(roots[0][0])
        raise RuntimeError("boom")

    ruleset = _with_feed_rule(monkeypatch, half_then_fail)
    items = ['<p>a<span class="x">b</span></p>', "<p>c</p><br>"]
    results = clean_items(items, ruleset)
    as_they_came = [clean(html, Ruleset(packs=())).html for html in items]
    assert [(r.html, r.failed, r.removals) for r in results] == [
        (as_they_came[0], "auto.boilerplate", ()),
        (as_they_came[1], "auto.boilerplate", ()),
    ]


# --- the ruleset's cache key ---------------------------------------------------------------

# A value for each option that differs from its default.
_CHANGED: dict[str, Any] = {
    "format": "atom",
    "ttl": 60,
    "images": "none",
    "user_agent": "x",
    "headers": (("X-A", "b"),),
    "rules": ("share",),
    "remove": (".a",),
    "remove_xpath": ("//a",),
    "remove_text": ("a",),
    "remove_after": ("a",),
    "unwrap": ("b",),
    "replace": (Replacement("a", "b"),),
    "strip_params": ("a",),
    "include": (FieldFilter("title", "a"),),
    "exclude": (FieldFilter("title", "a"),),
    "max_age": 60,
    "limit": 3,
    "fulltext": True,
    "fulltext_selector": "article",
    "image_referer": "none",
    "auto_boilerplate": False,
    "opencc": "s2t",
}


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(FeedOptions)])
def test_every_option_changes_the_fingerprint(name: str) -> None:
    """Derived from the options, not listed by hand: a new option cannot miss the key."""
    assert name in _CHANGED, f"add a changed value for the new option {name!r} here"
    plain = compile_ruleset(FeedOptions(), DEFAULT_PACKS)
    changed = compile_ruleset(FeedOptions(**{name: _CHANGED[name]}), DEFAULT_PACKS)
    assert plain.fingerprint != changed.fingerprint
    assert plain.fingerprint == compile_ruleset(FeedOptions(), DEFAULT_PACKS).fingerprint


def test_fingerprint_shows_no_option_value() -> None:
    ruleset = compile_ruleset(FeedOptions(headers=(("Authorization", "Bearer s3cret"),)), ())
    assert "s3cret" not in ruleset.fingerprint and len(ruleset.fingerprint) == 32


# --- one lazy-image list -------------------------------------------------------------------


@pytest.mark.parametrize("attribute", ["data-src", "data-lazy", "data-lazyload", "data-orig-src"])
def test_a_lazy_image_with_a_1x1_placeholder_is_recovered_not_dropped(attribute: str) -> None:
    html = f'<p>Text.</p><img src="blank.gif" {attribute}="real.jpg" width="1" height="1">'
    policy = rewrite.ImagePolicy(mode="absolute")
    cleaned = clean(
        html,
        rewrite=lambda root: rewrite.rewrite_tree(
            root, base_url="https://site.example/post/", policy=policy
        ),
    )
    assert 'src="https://site.example/post/real.jpg"' in cleaned.html
    assert "pixels.tracking_images" not in rules_of(cleaned)


def test_every_stage_reads_the_one_lazy_list() -> None:
    from proxy import htmlurls
    from proxy.clean import nodes
    from proxy.fulltext import extract as fulltext  # the module

    assert rewrite.LAZY_SRC_ATTRIBUTES is htmlurls.LAZY_SRC_ATTRIBUTES
    assert nodes.LAZY_SRC_ATTRIBUTES is htmlurls.LAZY_SRC_ATTRIBUTES
    assert set(htmlurls.LAZY_ATTRIBUTES) <= set(
        fulltext._URL_ATTRIBUTES + fulltext._SRCSET_ATTRIBUTES
    )
    assert rewrite.parse_srcset is htmlurls.parse_srcset


def test_the_value_types_need_no_lxml() -> None:
    code = (
        "import sys; sys.modules['lxml'] = None\n"
        "from proxy.models import Cleaned, Removal, LinkChange\n"
        "r = Removal('share.endpoint_links', 'share', 'a', 'Tweet', 'why.')\n"
        "print(Cleaned('<p>x</p>', (r,)).hits())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "{'share.endpoint_links': 1}"


def test_fast_removal_records_equal_the_dataclass_made_ones() -> None:
    """attribution._removal (made without Removal's frozen __init__) gives the very same
    record: equal, same hash, same fields and defaults."""
    from proxy.clean.attribution import _removal
    from proxy.models import Removal

    made = _removal("share.widgets", "share", "div", "分享", "Share widgets.")
    expected = Removal(
        rule="share.widgets", pack="share", tag="div", text="分享", reason="Share widgets."
    )
    assert made == expected
    assert hash(made) == hash(expected)
    assert (made.action, made.count, made.kind) == ("remove", 1, "element")
