"""A big feed's items cleaned a few at a time (proxy/clean/staged.in_turn) against all at once.

Differential: every feed of tests/data and of the shared corpus, built once with every item's
tree alive together (clean_items as it was) and once in turn (the threshold forced to 0, and
chunks and kept trees small enough that every feed is cut into several chunks and most of its
items are parsed twice): the same served bytes, twice in a row with the feed's memory (the
second build decides with what the first learnt), and the same cleaned items, removals and
link changes. The failure paths of the feed rule send every item back, as clean_items does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml.html import HtmlElement

from proxy import clean, parse, rewrite
from proxy.clean import DEFAULT_RULESET, FeedContext, Ruleset, boilerplate, staged
from proxy.models import Cleaned, FetchResult
from proxy.pipeline import process
from tests.corpus import SHARED_CORPUS
from tests.helpers import DATA

LOCAL = sorted(
    p
    for folder in ("corpus", "feeds", "boilerplate")
    for p in (DATA / folder).iterdir()
    if p.suffix in (".xml", ".json")
)
SHARED = (
    sorted(p for p in SHARED_CORPUS.iterdir() if p.suffix in (".xml", ".json"))
    if SHARED_CORPUS.is_dir()
    else []
)
SOURCE = "https://upstream.example/feed"
POLICY = rewrite.ImagePolicy(mode="proxy", public_base="https://proxy.example", key=b"k" * 32)
WHEN = datetime(2026, 1, 1, tzinfo=UTC)
FOOTER = "<p>Thanks for reading the Example Weekly, forward it to a friend today.</p>"


@pytest.fixture
def in_turn(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """clean_items cleans every batch in turn, 3 KB of items per chunk, 4 KB kept."""
    monkeypatch.setattr(clean, "IN_TURN_CHARS", 0)
    monkeypatch.setattr(staged, "CHUNK_CHARS", 3000)
    monkeypatch.setattr(staged, "KEEP_CHARS", 4000)
    yield


def _served(path: Path, learnt: dict[str, Any]) -> bytes:
    body = path.read_bytes()
    feed = parse.parse(FetchResult(url=SOURCE, status=200, body=body, content_type=""))
    return process.build_output(
        feed,
        feed.kind,
        policy=POLICY,
        self_url="https://proxy.example/feed",
        fallback_date=WHEN,
        body=body,
        learnt=learnt,
    )


def _builds(path: Path) -> list[bytes]:
    learnt: dict[str, Any] = {}
    return [_served(path, learnt), _served(path, learnt)]


@pytest.mark.parametrize("path", LOCAL + SHARED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_feed_cleaned_in_turn_is_served_byte_for_byte_as_all_at_once(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at_once = _builds(path)
    monkeypatch.setattr(clean, "IN_TURN_CHARS", 0)
    monkeypatch.setattr(staged, "CHUNK_CHARS", 3000)
    monkeypatch.setattr(staged, "KEEP_CHARS", 4000)
    assert _builds(path) == at_once


def test_the_shared_corpus_is_in_the_differential() -> None:
    # Where ../shared is beside the clone (CI, worktrees) its feeds are compared too.
    if not SHARED_CORPUS.is_dir():
        pytest.skip(f"no shared corpus at {SHARED_CORPUS}")
    assert len(SHARED) >= 30


def _htmls() -> list[str]:
    """Every field of every local feed's items, and every clean golden input, as one batch:
    a footer in most of them, so the boilerplate decision removes something."""
    htmls: list[str] = []
    for path in LOCAL:
        body = path.read_bytes()
        feed = parse.parse(FetchResult(url=SOURCE, status=200, body=body, content_type=""))
        for entry in feed.entries:
            htmls.extend(h for h in (entry.summary, entry.content) if h)
    htmls.extend(p.read_text(encoding="utf-8") for p in sorted((DATA / "clean").glob("*.html")))
    return [h + FOOTER if i % 3 else h for i, h in enumerate(htmls)]


def _cleaned(htmls: list[str], ruleset: Ruleset = DEFAULT_RULESET) -> list[Cleaned]:
    def hook(i: int, root: HtmlElement) -> None:
        rewrite.rewrite_tree(root, base_url=SOURCE, policy=POLICY)

    return clean.clean_items(htmls, ruleset, rewrite=hook, feed=FeedContext(memory={}))


def test_in_turn_gives_the_same_items_removals_and_links(monkeypatch: pytest.MonkeyPatch) -> None:
    htmls = _htmls()
    at_once = _cleaned(htmls)
    assert any(r.rule == "auto.boilerplate" for c in at_once for r in c.removals)
    monkeypatch.setattr(clean, "IN_TURN_CHARS", 0)
    for chunk, keep in ((3000, 4000), (1, 0), (10**9, 0), (10**9, 10**9)):
        monkeypatch.setattr(staged, "CHUNK_CHARS", chunk)
        monkeypatch.setattr(staged, "KEEP_CHARS", keep)
        assert _cleaned(htmls) == at_once, (chunk, keep)


def test_in_turn_without_a_feed_rule_parses_each_item_once(
    in_turn: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    htmls = _htmls()
    ruleset = Ruleset(packs=tuple(p for p in clean.DEFAULT_PACKS if p != "auto"))
    monkeypatch.setattr(clean, "IN_TURN_CHARS", 10**12)
    at_once = _cleaned(htmls, ruleset)
    monkeypatch.setattr(clean, "IN_TURN_CHARS", 0)
    parsed = _count_parses(monkeypatch)
    assert _cleaned(htmls, ruleset) == at_once
    assert parsed == [len(htmls)]


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    count = [0]
    start = clean._Item.start

    def counting(self: Any, html: str, mark: bool = False) -> None:
        count[0] += 1
        start(self, html, mark)

    monkeypatch.setattr(clean._Item, "start", counting)
    return count


def test_in_turn_holds_one_chunk_of_trees_beyond_the_kept_ones(
    in_turn: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    htmls = _htmls()
    largest = [0]
    prepare = staged.Staged._prepare

    def watching(self: staged.Staged, indices: Any) -> None:
        prepare(self, indices)
        largest[0] = max(largest[0], sum(len(self.htmls[i]) for i in self._items))

    monkeypatch.setattr(staged.Staged, "_prepare", watching)
    _cleaned(htmls)
    longest = max(map(len, htmls))
    assert largest[0] <= 4000 + 3000 + longest  # kept, then one chunk (one item may be long)


def _article(i: int) -> str:
    return f"<p>Article {i} says something of its own, at some length, about topic {i}.</p>"


def test_boilerplate_plain_from_the_first_items_parses_each_item_once(
    in_turn: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    htmls = [_article(i) + FOOTER for i in range(300)]
    monkeypatch.setattr(clean, "IN_TURN_CHARS", 10**12)
    at_once = _cleaned(htmls)
    assert all(r.rule == "auto.boilerplate" for c in at_once for r in c.removals)
    monkeypatch.setattr(clean, "IN_TURN_CHARS", 0)
    parsed = _count_parses(monkeypatch)
    assert _cleaned(htmls) == at_once
    assert parsed == [len(htmls)]  # every guess was right


@pytest.mark.parametrize(
    "footed",
    [
        pytest.param(lambda i: i >= 120, id="a footer in the last 60 %: guessed absent first"),
        pytest.param(lambda i: i < 120, id="a footer in the first 40 %: guessed present first"),
    ],
)
def test_wrong_guesses_are_parsed_again_and_come_out_as_all_at_once(
    footed: Any, in_turn: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    htmls = [_article(i) + (FOOTER if footed(i) else "") for i in range(300)]
    monkeypatch.setattr(clean, "IN_TURN_CHARS", 10**12)
    at_once = _cleaned(htmls)
    monkeypatch.setattr(clean, "IN_TURN_CHARS", 0)
    parsed = _count_parses(monkeypatch)
    assert _cleaned(htmls) == at_once
    assert parsed[0] > len(htmls)


def _failing(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """boilerplate's `name` (analyse, or _clean_item which apply runs) raises on one item."""
    real = getattr(boilerplate, name)

    def failing(item: Any, *args: Any) -> Any:
        root = item if name == "analyse" else item.root
        if "poison" in root.text_content():
            raise RuntimeError("a rule bug")
        return real(item, *args)

    monkeypatch.setattr(boilerplate, name, failing)


@pytest.mark.parametrize("step", ["analyse", "_clean_item"])
def test_the_feed_rule_failing_on_one_item_sends_every_item_back_in_turn_too(
    step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    htmls = _htmls()
    htmls[len(htmls) // 2] = "<p>poison</p>" + FOOTER
    _failing(monkeypatch, step)
    at_once = _cleaned(htmls)
    assert all(c.failed for c in at_once)
    assert {c.failed for c in at_once} >= {"auto.boilerplate"}
    monkeypatch.setattr(clean, "IN_TURN_CHARS", 0)
    monkeypatch.setattr(staged, "CHUNK_CHARS", 3000)
    monkeypatch.setattr(staged, "KEEP_CHARS", 4000)
    assert _cleaned(htmls) == at_once


def test_a_feed_under_the_threshold_is_cleaned_all_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    htmls = ["<p>a</p>" + FOOTER] * 5
    called: list[int] = []

    def in_turn(*args: Any, **kwargs: Any) -> list[Cleaned]:
        called.append(1)
        return []

    monkeypatch.setattr(staged, "in_turn", in_turn)
    assert len(_cleaned(htmls)) == 5
    assert called == []


def test_an_edit_failing_only_on_a_wrong_guess_fails_nothing(
    in_turn: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A footer in the first 40 % only: guessed boilerplate early, not boilerplate in the end,
    # so the edit that fails on the poisoned item runs on the guess alone.
    htmls = [_article(i) + (FOOTER if i < 120 else "") for i in range(300)]
    htmls[60] = "<p>poison</p>" + FOOTER
    _failing(monkeypatch, "_clean_item")
    monkeypatch.setattr(clean, "IN_TURN_CHARS", 10**12)
    at_once = _cleaned(htmls)
    assert not any(c.failed for c in at_once)
    monkeypatch.setattr(clean, "IN_TURN_CHARS", 0)
    assert _cleaned(htmls) == at_once
