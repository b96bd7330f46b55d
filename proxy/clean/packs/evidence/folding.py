"""Text needs (registry.Needs) for rules that compare case-folded text with labels: pieces of
text, as written, at least one of which an item's text holds whenever its casefold() holds
one of the labels. What evidence.ad_labels and evidence.related_lists are skipped by; no
rule of its own, no I/O.

The runner looks for text needs as written (case-sensitive), so a label's own letters are
not enough: "ADVERTISEMENT", "Reklama" with a KELVIN SIGN (casefold: "k") or "ΔΙΑΦΉΜΙΣΗ"
with a MICRO SIGN (casefold: "μ") fold into labels too. A label therefore needs either a run
of its characters that nothing else folds into (CJK, Thai, Arabic…: the run itself, as
written), or one of its characters in every way it can be written: each character whose
casefold() holds it (preimages). Labels of the same scripts share such characters ("a" is
in most Latin ones), so few single characters stand for all of them: on an item in another
script (the seed feed's Chinese) none is there and the rule is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable

# The 256-code-point blocks that hold every character whose casefold() is not itself
# (Python 3.11's Unicode 14; tests/test_clean_evidence_folding.py reads all of Unicode).
# Reading these at import takes ~1 ms, all of Unicode ~180 ms.
FOLDING_BLOCKS = (
    *(0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x10, 0x13, 0x1C, 0x1E, 0x1F, 0x21, 0x24, 0x2C),
    *(0xA6, 0xA7, 0xAB, 0xFB, 0xFF, 0x104, 0x105, 0x10C, 0x118, 0x16E, 0x1E9),
)
_FOLDS: dict[str, str] = {
    character: folded
    for character in (chr(block << 8 | low) for block in FOLDING_BLOCKS for low in range(256))
    if (folded := character.casefold()) != character
}
_INTO: dict[str, set[str]] = {}  # a character: those that fold into something holding it
for _character, _folded in _FOLDS.items():
    for _part in _folded:
        _INTO.setdefault(_part, set()).add(_character)


def preimages(character: str) -> frozenset[str]:
    """Every character whose casefold() holds character (itself, if it folds to itself)."""
    found = set(_INTO.get(character, ()))
    if character not in _FOLDS:
        found.add(character)
    return frozenset(found)


def _caseless_runs(label: str) -> list[str]:
    """The label's runs of characters, whitespace excluded, that only they fold into, each
    folding to itself: such a run is in the text as written wherever its casefold has it."""
    runs: list[str] = []
    current: list[str] = []
    for character in label:
        if not character.isspace() and preimages(character) == {character}:
            current.append(character)
        elif current:
            runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    return runs


def folded_needs(labels: Iterable[str]) -> tuple[str, ...]:
    """Pieces (no whitespace in them) at least one of which a text holds whenever the
    casefold() of that text holds any of labels: for each label its longest caseless run,
    else (all its characters have case) the ways to write one of its characters, chosen
    greedily so that few characters cover every such label."""
    runs: list[str] = []
    cased: list[set[str]] = []  # each remaining label's characters
    for label in sorted(set(labels)):
        characters = {c for c in label if not c.isspace()}
        if any(not preimages(c) for c in characters):
            continue  # (a character no casefold() gives: the label never matches)
        caseless = _caseless_runs(label)
        if caseless:
            runs.append(max(caseless, key=len))
        elif characters:
            cased.append(characters)
    pieces: list[str] = []  # (the characters first: on text in their script, found at once)
    while cased:
        best = min(sorted(set().union(*cased)), key=lambda c: _worth(c, cased))
        pieces.extend(sorted(preimages(best) - set(pieces)))
        cased = [characters for characters in cased if best not in characters]
    pieces.extend(run for run in runs if run not in pieces)
    # (a piece holding another is found only where that one is: it adds nothing)
    return tuple(p for p in pieces if not any(q != p and q in p for q in pieces))


def _worth(character: str, cased: list[set[str]]) -> tuple[float, str]:
    """The labels character is in, per way of writing it (the least first, as min reads it)."""
    covered = sum(1 for characters in cased if character in characters)
    return (-covered / len(preimages(character)), character)
