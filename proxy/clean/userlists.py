"""The rule of the tracker lists people supply (FEEDSCRUB_TRACKER_LISTS, proxy.trackerlists):
images the lists block are removed like known tracking pixels, links to pages they block
are unwrapped (text kept). Part of the clean stage; does no I/O.

The rule is not a built-in pack (it needs the compiled lists): the pipeline appends it to
every feed's ruleset (extend), after the feed's own rules. Its label carries the lists'
digest, so the ruleset's fingerprint, and with it every cached output, changes with them.
"""

from __future__ import annotations

import dataclasses

from lxml.html import HtmlElement

from proxy.clean.nodes import LAZY_SRC_ATTRIBUTES, drop, unwrapped
from proxy.clean.packs.pixels import is_authored_image
from proxy.clean.registry import Rule, make_rule
from proxy.clean.ruleset import Ruleset
from proxy.trackerlists import MAX_CHECKS_PER_ITEM, TrackerLists

__all__ = ["PACK", "RULE", "extend", "rule_for"]

PACK = "lists"
RULE = "trackers"
REASON = "an image the tracker lists (FEEDSCRUB_TRACKER_LISTS) block"


def _absolute(url: str | None) -> str | None:
    if not url:
        return None
    url = url.strip()
    return "https:" + url if url.startswith("//") else url


def rule_for(lists: TrackerLists) -> Rule:
    """The item rule that applies lists."""

    def apply(root: HtmlElement) -> None:
        budget = MAX_CHECKS_PER_ITEM
        for image in list(root.iter("img")):
            urls = [u for n in ("src", *LAZY_SRC_ATTRIBUTES) if (u := _absolute(image.get(n)))]
            budget -= len(urls)
            if budget < 0:
                return
            if any(lists.blocks_image(url) for url in urls) and not is_authored_image(image):
                drop(image)
        links = 0
        for link in list(root.iter("a")):
            url = _absolute(link.get("href"))
            if url is None:
                continue
            budget -= 1
            if budget < 0:
                break
            if lists.blocks_page(url):
                link.drop_tag()
                links += 1
        unwrapped(root, "a", links)

    return make_rule(PACK, RULE, apply, REASON, label=f"{PACK}.{RULE}[{lists.digest}]")


def extend(ruleset: Ruleset, lists: TrackerLists | None) -> Ruleset:
    """ruleset with the lists' rule last (once: a ruleset that has it is returned as it is)."""
    if lists is None or any(rule.id == f"{PACK}.{RULE}" for rule in ruleset.custom_rules):
        return ruleset
    return dataclasses.replace(
        ruleset, custom_rules=(*ruleset.custom_rules, rule_for(lists)), fingerprint=""
    )
