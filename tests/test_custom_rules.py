"""Rules people write: each type on small tables, and failures that leave the item alone."""

from __future__ import annotations

import logging

import pytest

from proxy import clean
from proxy.clean import custom
from proxy.feedconfig import FeedOptions, Replacement

NO_PACKS: tuple[str, ...] = ()


def run(html: str, **options: object) -> str:
    """The item tree after the feed's own rules (no packs), as the rewrite hook sees it."""
    ruleset = clean.compile_ruleset(FeedOptions(**options), NO_PACKS)  # type: ignore[arg-type]
    seen: list[str] = []
    clean.clean(html, ruleset, rewrite=lambda root: seen.append(clean.serialise(root)))
    return seen[0]


@pytest.mark.parametrize(
    ("options", "before", "after"),
    [
        (
            {"remove": (".ad", "aside")},
            '<p>a</p><div class="ad">x</div><aside>y</aside>tail',
            "<p>a</p>tail",
        ),
        ({"remove_xpath": ("//div[@data-x]",)}, '<p>a</p><div data-x="1">x</div>', "<p>a</p>"),
        (
            {"remove_text": ("appeared first on",)},
            '<p>Body</p><p>The post <a href="/x">X</a> appeared first on <a href="/">Y</a>.</p>',
            "<p>Body</p>",
        ),
        (
            {"remove_text": ("^Continue reading",)},
            "<div><p>Body</p><p>Continue reading <a>here</a></p></div>",
            "<div><p>Body</p></div>",
        ),
        (
            {"remove_after": ("^Related",)},
            "<p>Body</p><h3>Related</h3><ul><li>a</li></ul><p>more</p>",
            "<p>Body</p>",
        ),
        (
            {"remove_after": ("— Sponsored —",)},
            "<div><p>Body</p><div><p>— Sponsored —</p><p>ad</p></div><p>after</p></div>tail",
            "<div><p>Body</p><div></div></div>",
        ),
        ({"unwrap": ("font",)}, '<p><font color="red">red</font> text</p>', "<p>red text</p>"),
        (
            {"replace": (Replacement(r"\(via \w+\)", ""),)},
            "<p>News (via Feedly)</p>",
            "<p>News </p>",
        ),
        (
            {"strip_params": ("utm_*", "fbclid")},
            '<a href="https://a.test/x?id=1&utm_source=rss&fbclid=z&ref=home">l</a>',
            '<a href="https://a.test/x?id=1&amp;ref=home">l</a>',
        ),
        (
            {"strip_params": ("utm_*",)},
            '<a href="https://a.test/x?id=1">l</a>',
            '<a href="https://a.test/x?id=1">l</a>',
        ),
    ],
    ids=[
        "remove-css",
        "remove-xpath",
        "remove-text-smallest",
        "remove-text-anchored",
        "remove-after-siblings",
        "remove-after-nested",
        "unwrap",
        "replace",
        "strip-params",
        "strip-params-untouched",
    ],
)
def test_rule_types(options: dict[str, object], before: str, after: str) -> None:
    assert run(before, **options) == after


def test_look_alikes_survive() -> None:
    html = "<p>Stories that appeared first on radio are fine.</p><p>Body</p>"
    # Anchored pattern: the sentence in the body does not match.
    assert run(html, remove_text=("^The post .* appeared first on",)) == html


def test_runaway_regex_leaves_item_as_it_was(caplog: pytest.LogCaptureFixture) -> None:
    html = "<p>" + "x" * 3000 + '</p><div class="ad">junk</div>'
    with caplog.at_level(logging.WARNING):
        out = run(html, remove_text=("(x+x+)+y",), remove=(".ad",))
    assert out == html
    assert "remove_text[0]" in caplog.text and "item left as it was" in caplog.text


def test_runaway_replace_leaves_item_as_it_was(caplog: pytest.LogCaptureFixture) -> None:
    html = "<p>" + "x" * 3000 + "</p>"
    with caplog.at_level(logging.WARNING):
        out = run(html, replace=(Replacement("(x+x+)+y", ""),))
    assert out == html
    assert "'custom.replace'" in caplog.text


def test_packs_and_custom_rules_together() -> None:
    # (a class no built-in pack knows: `evidence` would take a "promo" block itself)
    ruleset = clean.compile_ruleset(FeedOptions(remove=(".offer",)), clean.DEFAULT_PACKS)
    html = (
        '<p>Body</p><div class="offer">buy</div><br><hr><div>获取更多RSS：<br>'
        '<a href="https://feedx.net">https://feedx.net</a></div>'
    )
    cleaned = clean.clean(html, ruleset)
    assert cleaned.html == "<p>Body</p>"
    assert [(r.rule, r.text) for r in cleaned.removals if r.pack == "custom"] == [
        ("custom.remove", "buy")
    ]


@pytest.mark.parametrize(
    ("kind", "value", "ok"),
    [
        ("css", "div.a > p", True),
        ("css", "div[", False),
        ("xpath", "//p", True),
        ("xpath", "//p[", False),
        ("regex", "a+", True),
        ("regex", "(", False),
        ("glob", "utm_*", True),
        ("glob", " ", False),
    ],
)
def test_check(kind: str, value: str, ok: bool) -> None:
    assert (custom.check(kind, value) is None) is ok
