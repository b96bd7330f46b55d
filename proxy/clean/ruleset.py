"""What decides how one feed's items are cleaned, compiled once per feed (and per reload)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from proxy.clean.custom import compile_rules
from proxy.clean.registry import PACKS, Rule, rules_of
from proxy.feedconfig import FeedOptions, Replacement


@dataclass(frozen=True, slots=True)
class Ruleset:
    """Built-in packs (by name, in run order), then the feed's own rules.

    fingerprint is part of the output cache key. It is derived from every field of the
    ruleset and of the feed's options (not a hand-kept list), so an option added to
    FeedOptions later changes the key without anyone remembering to add it.
    """

    packs: tuple[str, ...]
    custom_rules: tuple[Rule, ...] = ()
    replacements: tuple[Replacement, ...] = ()
    options: FeedOptions | None = None
    fingerprint: str = dataclasses.field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", _fingerprint(self))

    def rules(self) -> tuple[Rule, ...]:
        """Every rule to run, in order. ValueError names an unknown pack."""
        return (*rules_of(self.packs), *self.custom_rules)


def _fingerprint(ruleset: Ruleset) -> str:
    parts = [
        repr(ruleset.packs),
        # Which rules each pack holds: a pack that gains a rule cleans differently.
        repr([rule.id for name in ruleset.packs if name in PACKS for rule in PACKS[name].rules]),
        repr([(rule.id, rule.label) for rule in ruleset.custom_rules]),
        repr(ruleset.replacements),
        # Every option, whatever it is called: dataclass repr lists all fields.
        repr(ruleset.options),
    ]
    # Hashed: options may hold header values (tokens) that must not show up where keys do.
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def compile_ruleset(options: FeedOptions, default_packs: Sequence[str]) -> Ruleset:
    packs = tuple(options.rules) if options.rules is not None else tuple(default_packs)
    return Ruleset(
        packs=packs,
        custom_rules=compile_rules(options),
        replacements=options.replace,
        options=options,
    )
