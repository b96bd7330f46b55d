"""Worst-case inputs for a regular expression, generated from its own syntax tree.

For every repeated part of a pattern (`\\s*`, `.+`, `[\\w-]*`, `(?:ab)+`…) the input is what
the pattern needs to reach that part (its literals and one of each earlier part), then a long
run of what the part repeats, then a character that makes the match fail: the shape of every
catastrophic-backtracking report (`width:1` + 2,500 spaces + `x`). Also the pattern's own
minimal match repeated end to end (the Medium footer: `… was originally published in ` × n),
and long runs of every character it names. Pure Python over `re._parser`: no dependency.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from typing import Any

# The parser behind re.compile (private, and untyped in typeshed): its tree is the pattern.
C: Any = importlib.import_module("re._constants")
P: Any = importlib.import_module("re._parser")

SIZE = 100_000  # characters per input
# Characters that end a run without matching what most classes repeat.
TERMINATORS = ("\x00", "!", "x", ">", "\n")

_CATEGORY = {
    C.CATEGORY_DIGIT: "1",
    C.CATEGORY_NOT_DIGIT: "a",
    C.CATEGORY_SPACE: " ",
    C.CATEGORY_NOT_SPACE: "a",
    C.CATEGORY_WORD: "a",
    C.CATEGORY_NOT_WORD: " ",
}


def _one_of(items: Any) -> str:
    """A character the set (an IN node's items) matches."""
    negate = False
    excluded: set[int] = set()
    for op, av in items:
        if op is C.NEGATE:
            negate = True
        elif not negate:
            if op is C.LITERAL:
                return chr(av)
            if op is C.RANGE:
                return chr(av[0])
            if op is C.CATEGORY:
                return _CATEGORY.get(av, "a")
        elif op is C.LITERAL:
            excluded.add(av)
        elif op is C.RANGE:
            excluded.update(range(av[0], min(av[1], av[0] + 512) + 1))
    if negate:
        for candidate in "a1 -_.:;=<x\u4e2d":
            if ord(candidate) not in excluded:
                return candidate
    return "a"


def render(tree: Any) -> str:
    """A short string the (sub)pattern matches, or close to it."""
    out: list[str] = []
    for op, av in tree:
        if op is C.LITERAL:
            out.append(chr(av))
        elif op is C.NOT_LITERAL:
            out.append("a" if av != ord("a") else "b")
        elif op is C.ANY:
            out.append("a")
        elif op is C.IN:
            out.append(_one_of(av))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            low, _high, sub = av
            out.append(render(sub) * max(low, 1))
        elif op is C.SUBPATTERN:
            out.append(render(av[-1]))
        elif op is C.BRANCH:
            out.append(render(av[1][0]))
        elif op is getattr(C, "ATOMIC_GROUP", None):
            out.append(render(av))
        elif op is C.GROUPREF_EXISTS:
            out.append(render(av[1]))
        # AT (anchors), ASSERT / ASSERT_NOT (lookarounds), GROUPREF: nothing of their own
    return "".join(out)


def _repeats(tree: Any, prefix: str) -> Iterator[tuple[str, str]]:
    """(what leads to a repeat, what it repeats) for every repeat in tree, in order."""
    for op, av in tree:
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            low, high, sub = av
            if high is C.MAXREPEAT or high > 1:
                yield prefix, render(sub) or "a"
            yield from _repeats(sub, prefix)
        elif op is C.SUBPATTERN:
            yield from _repeats(av[-1], prefix)
        elif op is C.BRANCH:
            for alternative in av[1]:
                yield from _repeats(alternative, prefix)
        elif op is getattr(C, "ATOMIC_GROUP", None):
            yield from _repeats(av, prefix)
        elif op in (C.ASSERT, C.ASSERT_NOT):
            yield from _repeats(av[1], prefix)
        prefix += render([(op, av)])


def _characters(tree: Any) -> set[str]:
    found: set[str] = set()
    for op, av in tree:
        if op is C.LITERAL:
            found.add(chr(av))
        elif op is C.IN:
            found.add(_one_of(av))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            found |= _characters(av[2])
        elif op is C.SUBPATTERN:
            found |= _characters(av[-1])
        elif op is C.BRANCH:
            for alternative in av[1][:50]:  # (entity-name lists have thousands)
                found |= _characters(alternative)
    return found


def inputs(pattern: re.Pattern[Any]) -> Iterator[tuple[str, str | bytes]]:
    """(label, input) pairs of about SIZE characters each that stress pattern."""
    as_bytes = isinstance(pattern.pattern, bytes)
    source = pattern.pattern.decode("latin-1") if as_bytes else pattern.pattern
    tree = P.parse(source, pattern.flags & (re.IGNORECASE | re.VERBOSE | re.DOTALL | re.MULTILINE))

    def encoded(text: str) -> str | bytes:
        return text.encode("utf-8") if as_bytes else text

    seen: set[str] = set()
    for prefix, unit in _repeats(tree, ""):
        run = unit * (SIZE // len(unit) + 1)
        for end in TERMINATORS:
            text = prefix + run[:SIZE] + end
            key = prefix[:50] + unit + end
            if key not in seen:
                seen.add(key)
                yield f"{prefix[:30]!r} + {unit!r}×n + {end!r}", encoded(text)
    whole = render(tree)
    if whole:
        yield f"{whole[:30]!r}×n", encoded((whole * (SIZE // len(whole) + 1))[:SIZE])
        # The same, each copy one character short at the end (no copy ever matches whole).
        if len(whole) > 1:
            cut = whole[:-1] + " "
            yield f"{cut[:30]!r}×n", encoded((cut * (SIZE // len(cut) + 1))[:SIZE])
    for character in sorted(_characters(tree)):
        yield f"{character!r}×n", encoded(character * SIZE)
