"""The `ghost` pack: Ghost's newsletter and membership chrome. Part of the clean stage; does
no I/O.

Ghost renders signup cards (`kg-signup-card`), upgrade calls (`gh-post-upgrade-cta`) and
Portal links and buttons (`data-portal`, `#/portal/…`) that open its membership pop-up: in a
feed reader they are forms without their script. Ghost's other cards (bookmark, callout,
toggle, product, file, audio, video, gallery) are the author's content and stay.
"""

from __future__ import annotations

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean.nodes import class_tokens, short_text, tag_of
from proxy.clean.packs.common import drop_all
from proxy.clean.registry import Needs, declare_pack, item_rule

PACK = declare_pack(
    "ghost",
    "Ghost signup cards (kg-signup-card), upgrade calls (gh-post-upgrade-cta) and Portal"
    " links/buttons (data-portal, #/portal/…)",
)

GHOST_CARD_CLASSES = frozenset(
    {"kg-signup-card", "gh-post-upgrade-cta", "gh-subscribe", "gh-cta", "kg-subscribe-card"}
)
_CARDS = etree.XPath(
    "descendant::*/@class[contains(., 'kg-signup-card') or contains(., 'gh-post-upgrade-cta')"
    " or contains(., 'gh-subscribe') or contains(., 'gh-cta') or contains(., 'kg-subscribe')]/.."
)
_PORTAL = etree.XPath("descendant::*[@data-portal] | descendant::a[contains(@href, '#/portal')]")
# A Portal link is a button ("Subscribe", "Sign in", "Upgrade"); one with a sentence of its
# own is left alone.
PORTAL_TEXT_CHARS = 40


# (Needs, here and below: what the rules asked the item's hints themselves, asked by the
# runner with the markers encoded once. Each card class holds one of these.)
@item_rule(
    PACK,
    "signup_cards",
    needs=Needs(markup=("kg-signup", "gh-post-upgrade", "gh-subscribe", "gh-cta", "kg-subscribe")),
)
def remove_ghost_cards(root: HtmlElement) -> None:
    """Ghost's signup and upgrade cards are a membership form, not the article."""
    drop_all(root, [n for n in _CARDS(root) if GHOST_CARD_CLASSES.intersection(class_tokens(n))])


# (Needs: the attribute and the link _PORTAL finds.)
@item_rule(PACK, "portal_links", needs=Needs(markup=("data-portal", "#/portal")))
def remove_ghost_portal(root: HtmlElement) -> None:
    """Ghost Portal links and buttons open a membership pop-up that a reader cannot show."""
    drop_all(
        root,
        [
            n
            for n in _PORTAL(root)
            if tag_of(n) in ("a", "button", "span", "div", "form")
            and short_text(n, PORTAL_TEXT_CHARS) is not None
        ],
    )
