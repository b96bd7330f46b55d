"""Widget names: class, id and data-* values split into whole words, and how strongly they name
an ad, sponsor, promo, newsletter, share or related widget (evidence.widget_tokens and
evidence.subscription_forms read them)."""

from __future__ import annotations

import functools

from lxml.html import HtmlElement

from proxy.clean.packs.evidence.common import shown_characters, visible_text

# --- widget_tokens ------------------------------------------------------------------------

# Whole words (lower case) that name a widget, not the subject of an article.
WIDGET_WORDS = frozenset(
    {
        "ad",
        "ads",
        "adv",
        "advert",
        "adverts",
        "advertisement",
        "advertisements",
        "adsense",
        "adsbygoogle",
        "adslot",
        "adunit",
        "adbox",
        "adbanner",
        "adcontainer",
        "adwrapper",
        "sponsor",
        "sponsored",
        "sponsorship",
        "promo",
        "promos",
        "promoted",
        "newsletter",
        "newsletters",
        "subscribe",
        "subscription",
        "signup",
        "optin",
        "social",
        "share",
        "sharing",
        "sharebar",
        "related",
        "relatedposts",
        "outbrain",
        "taboola",
        "mc4wp",
        "convertkit",
        "mailchimp",
        "mailerlite",
    }
)
# Words that are also an article's ("share price", "social policy", "related work"): a widget
# named only by them must be mostly links.
WEAK_WIDGET_WORDS = frozenset({"social", "share", "sharing", "sharebar", "related", "relatedposts"})
# Two adjacent words that together name a widget ("ck-form", "mc_embed_signup", "sign-up").
WIDGET_PAIRS = frozenset(
    {("ck", "form"), ("mc", "embed"), ("sign", "up"), ("opt", "in"), ("google", "ad")}
)
# A word that makes the next one ordinary: "ad hoc".
_NOT_WIDGET_AFTER = {"ad": frozenset({"hoc"})}
# A class starting with one of these names a taxonomy term (WordPress `category-advertising`,
# `tag-sponsored`): what the article is about.
TAXONOMY_PREFIXES = frozenset({"category", "tag", "cat", "topic", "topics", "section", "term"})

# How little text a widget has.
WIDGET_SHORT = 120  # a line or two: "Sign up for our newsletter", "Share this:"
WIDGET_LINKY = 200  # longer, when most of it is link text
WIDGET_LIST = 600  # a related-links list: link text only
LINK_SHARE = 0.6
LIST_LINK_SHARE = 0.8
DATA_VALUE_MAX = 40  # a data-* value longer than this is data, not a widget name


def words_of(value: str) -> list[str]:
    """The whole words of a name: split on anything not a letter or digit and on camelCase
    ("adSlot" → ad, slot; "HTMLAd" → html, ad; "mc4wp" stays one word). By hand: linear."""
    words: list[str] = []
    current: list[str] = []
    previous = ""
    for index, character in enumerate(value):
        if not character.isalnum():
            if current:
                words.append("".join(current).lower())
                current = []
            previous = ""
            continue
        if current and character.isupper():
            following = value[index + 1] if index + 1 < len(value) else ""
            if (
                previous.islower()
                or previous.isdigit()
                or (previous.isupper() and following.islower())
            ):
                words.append("".join(current).lower())
                current = []
        current.append(character)
        previous = character
    if current:
        words.append("".join(current).lower())
    return words


def names_widget(value: str) -> bool:
    """Whether one class token, id or data-* name/value names a widget (by whole words)."""
    return widget_strength(value) > 0


@functools.lru_cache(maxsize=4096)
def widget_strength(value: str) -> int:
    """2: the name says ad/sponsor/promo/newsletter…; 1: only share, social or related
    (also words of articles: "share price", "social policy"); 0: not a widget name."""
    words = words_of(value)
    if not words or words[0] in TAXONOMY_PREFIXES:
        return 0
    strength = 0
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else ""
        if (word in WIDGET_WORDS and following not in _NOT_WIDGET_AFTER.get(word, ())) or (
            word,
            following,
        ) in WIDGET_PAIRS:
            strength = max(strength, 1 if word in WEAK_WIDGET_WORDS else 2)
    return strength


def widget_names(node: HtmlElement) -> list[str]:
    names: list[str] = []
    for attribute, value in node.attrib.items():
        if attribute == "class":
            names += value.split()
        elif attribute == "id":
            names.append(value)
        elif attribute.startswith("data-"):
            names.append(attribute[5:])
            if value and len(value) <= DATA_VALUE_MAX and " " not in value and "/" not in value:
                names.append(value)
    return names


def is_widget_named(node: HtmlElement) -> bool:
    return node_strength(node) > 0


def node_strength(node: HtmlElement) -> int:
    return max((widget_strength(name) for name in widget_names(node)), default=0)


def _link_characters(node: HtmlElement) -> int:
    total = 0
    for link in node.iter("a"):
        if not any(a.tag == "a" for a in link.iterancestors()) or link is node:
            total += shown_characters(link)
    return total


def little_text(node: HtmlElement, strength: int) -> int | None:
    """node's characters when it carries little text (see WIDGET_*), else None. A weakly
    named widget (share, social, related) has no text of its own: it is empty or links."""
    if visible_text(node, WIDGET_LIST) is None:
        return None
    characters = shown_characters(node)
    if characters == 0 or (characters <= WIDGET_SHORT and strength > 1):
        return characters
    links = _link_characters(node)
    if characters <= WIDGET_LINKY and links >= LINK_SHARE * characters:
        return characters
    if links >= LIST_LINK_SHARE * characters:
        return characters
    return None
