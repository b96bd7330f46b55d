"""The `evidence` pack: junk known by generic evidence, not by a site list. Part of the clean
stage; does no I/O.

- `widget_tokens`: an element whose class, id or data-* names (split into whole words on
  `-`, `_`, spaces and camelCase) name an ad, sponsor, promo, newsletter, subscription,
  social/share or related-content widget, and that carries little text (mostly links, or a
  line or two), holds no code, table, quote, figure, formula or video, does not sit inside a
  sentence and is not the item's only content. Whole words only: `shadow`, `header`, `lead`,
  `download` never read as "ad"; taxonomy classes (`category-advertising`, `tag-sponsored`)
  say what an article is about, not what a widget is, and are not read.
- `ad_labels`: a block whose whole text is an ad label ("Advertisement", "Anzeige",
  スポンサーリンク, 广告, 광고…), with the empty ad slot next to it.
- `subscription_forms`: a subscription form's whole container (an email field or a subscribe
  button in a <form>, or in a newsletter/subscribe/signup-named block) with its leftover lines
  ("Enter your email", "No spam. Unsubscribe anytime."), when nothing else is in it.
- `tracker_images`: images from tracker URL shapes (Matomo/Piwik endpoints, `/pixel`,
  `/track`, `/open`, `/beacon` endpoints carrying an id) and ad-system hosts whatever their
  size; the `pixels` pack has the 1×1 images and the platform hosts already.

Precision over recall: each rule needs its evidence and a small amount of text together, so
an article about advertising, a `social-media-article` with paragraphs, or a paper's
related-work section stays.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean.nodes import (
    LAZY_SRC_ATTRIBUTES,
    MEDIA_TAGS,
    STRUCTURAL_TAGS,
    domains_of,
    drop,
    has_media,
    host_of,
    is_attached,
    is_blank,
    short_text,
    split_url,
    tag_of,
)
from proxy.clean.registry import declare_pack, item_rule

PACK = declare_pack(
    "evidence",
    "generic junk evidence: ad/sponsor/promo/newsletter/share/related widget class names on"
    " short blocks, ad labels in many languages, subscription forms, tracker URL shapes",
)

# --- what a block must not be or hold ------------------------------------------------------

# Content that no widget rule ever removes, nor anything holding it.
PROTECTED_TAGS = frozenset(
    {
        "pre",
        "code",
        "kbd",
        "samp",
        "table",
        "blockquote",
        "figure",
        "math",
        "video",
        "audio",
        "iframe",
        "picture",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "figcaption",
    }
)
_PROTECTED_INSIDE = tuple(
    sorted(PROTECTED_TAGS - {"h1", "h2", "h3", "h4", "h5", "h6", "figcaption"})
)
_NEVER_REMOVED = STRUCTURAL_TAGS | MEDIA_TAGS | PROTECTED_TAGS | {"html", "body"}


def _holds_protected(node: HtmlElement) -> bool:
    return next(node.iter(*_PROTECTED_INSIDE), None) is not None


def _inside_protected(node: HtmlElement) -> bool:
    """node is part of code, a table, a quote, a figure, a formula or a heading."""
    return any(tag_of(ancestor) in PROTECTED_TAGS for ancestor in node.iterancestors())


# Elements whose text is not shown: a script inside an ad slot is not the slot's text.
HIDDEN_TAGS = frozenset({"script", "style", "template", "noscript"})


def _visible_pieces(node: HtmlElement) -> Iterator[str]:
    """The pieces of node's shown text (not inside scripts, styles or comments), in order."""
    stack: list[tuple[HtmlElement, bool]] = [(node, False)]
    while stack:
        element, done = stack.pop()
        if done:
            if element is not node and element.tail:
                yield element.tail
            continue
        stack.append((element, True))
        tag = tag_of(element)
        if tag and tag not in HIDDEN_TAGS:  # (a comment: only its tail)
            if element.text:
                yield element.text
            stack.extend((child, False) for child in reversed(element))


def visible_text(node: HtmlElement, limit: int | None = None) -> str | None:
    """node's shown text, or None once it has more than limit non-whitespace characters."""
    pieces: list[str] = []
    count = 0
    for piece in _visible_pieces(node):
        pieces.append(piece)
        if limit is not None:
            count += sum(map(len, piece.split()))
            if count > limit:
                return None
    return "".join(pieces)


def _characters(node: HtmlElement) -> int:
    """Non-whitespace characters of node's shown text."""
    return sum(sum(map(len, piece.split())) for piece in _visible_pieces(node))


def _media_count(node: HtmlElement) -> int:
    return sum(1 for _ in node.iter(*MEDIA_TAGS))


def _in_running_text(node: HtmlElement) -> bool:
    """node sits inside a sentence: text right before or after it in its parent."""
    if not is_blank(node.tail):
        return True
    previous = node.getprevious()
    if previous is not None:
        return not is_blank(previous.tail)
    parent = node.getparent()
    return parent is not None and not is_blank(parent.text)


class _Item:
    """How much text and media the item holds, to never remove its only content."""

    __slots__ = ("characters", "media")

    def __init__(self, root: HtmlElement) -> None:
        self.characters = _characters(root)
        self.media = _media_count(root)

    def leaves_something(self, characters: int, media: int) -> bool:
        return self.characters > characters or self.media > media

    def remove(self, node: HtmlElement, characters: int, media: int) -> None:
        drop(node)
        self.characters -= characters
        self.media -= media


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


def _widget_names(node: HtmlElement) -> list[str]:
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
    return _node_strength(node) > 0


def _node_strength(node: HtmlElement) -> int:
    return max((widget_strength(name) for name in _widget_names(node)), default=0)


def _link_characters(node: HtmlElement) -> int:
    total = 0
    for link in node.iter("a"):
        if not any(a.tag == "a" for a in link.iterancestors()) or link is node:
            total += _characters(link)
    return total


def _little_text(node: HtmlElement, strength: int) -> int | None:
    """node's characters when it carries little text (see WIDGET_*), else None. A weakly
    named widget (share, social, related) has no text of its own: it is empty or links."""
    if visible_text(node, WIDGET_LIST) is None:
        return None
    characters = _characters(node)
    if characters == 0 or (characters <= WIDGET_SHORT and strength > 1):
        return characters
    links = _link_characters(node)
    if characters <= WIDGET_LINKY and links >= LINK_SHARE * characters:
        return characters
    if links >= LIST_LINK_SHARE * characters:
        return characters
    return None


# --- ad_labels ------------------------------------------------------------------------------

# A block's whole text, case-folded, decorations stripped: an ad label. Only words that are
# labels when alone ("Advertising" or "Sponsors" alone can head a section, and stay).
AD_LABELS = frozenset(
    {
        "advertisement",
        "advertisements",
        "sponsored",
        "sponsored links",
        "sponsored link",
        "sponsored content",
        "sponsored post",
        "paid content",
        "paid post",
        "anzeige",
        "werbung",
        "gesponsert",
        "publicidade",
        "publicidad",
        "publicité",
        "publicite",
        "pubblicità",
        "sponsorisé",
        "patrocinado",
        "advertentie",
        "advertenties",
        "reclame",
        "reklame",
        "reklam",
        "reklama",
        "sponsorowane",
        "mainos",
        "annons",
        "annonse",
        "hirdetés",
        "διαφήμιση",
        "реклама",
        "спонсорский материал",
        "iklan",
        "quảng cáo",
        "โฆษณา",
        "إعلان",
        "פרסומת",
        "スポンサーリンク",
        "スポンサードリンク",
        "広告",
        "广告",
        "廣告",
        "推广",
        "赞助",
        "贊助",
        "광고",
    }
)
LABEL_DECORATION = " \t\n\r\f\u3000\xa0·•—–-_~|｜:：.。!！*=[]()（）【】<>《》"
LABEL_MAX = max(map(len, AD_LABELS)) + 8
_LABEL_TAGS_NEVER = STRUCTURAL_TAGS | MEDIA_TAGS | PROTECTED_TAGS | {"a", "html", "body"}


def ad_label(text: str) -> bool:
    """The whole text is an ad label; one ending in a colon introduces what follows."""
    line = " ".join(text.split())
    if line.endswith((":", "：")):
        return False
    return line.strip(LABEL_DECORATION).casefold() in AD_LABELS


def _is_label_block(node: HtmlElement) -> bool:
    if tag_of(node) in _LABEL_TAGS_NEVER or _in_running_text(node) or _inside_protected(node):
        return False
    text = visible_text(node, LABEL_MAX)
    return (
        text is not None
        and ad_label(text)
        and not has_media(node)
        and next(node.iter("a"), None) is None
    )


# What an emptied ad slot is (never a line break or a rule: those belong to the text).
SLOT_TAGS = frozenset({"div", "ins", "span", "aside", "section", "p", "a", "center"})


def _empty_slot(node: HtmlElement | None) -> bool:
    return (
        node is not None
        and isinstance(node.tag, str)
        and tag_of(node) in SLOT_TAGS
        and visible_text(node, 0) is not None
        and not has_media(node)
    )


# A label's text node: cheap to find, then the block around it is checked.
_LABEL_TEXT = etree.XPath(
    f"descendant::text()[string-length(normalize-space(.)) > 0"
    f" and string-length(normalize-space(.)) <= {LABEL_MAX}]"
)


@item_rule(PACK, "ad_labels")
def remove_ad_labels(root: HtmlElement) -> None:
    """A block that only says "Advertisement" / "Anzeige" / 广告 (and its emptied ad slot)."""
    found: list[HtmlElement] = []
    seen: set[int] = set()
    for piece in _LABEL_TEXT(root):
        if not ad_label(str(piece)):
            continue
        owner = piece.getparent()
        if owner is None or (piece.is_tail and (owner := owner.getparent()) is None):
            continue
        if owner is root or not _is_label_block(owner):
            continue
        while (up := owner.getparent()) is not None and up is not root and _is_label_block(up):
            owner = up
        if id(owner) not in seen:
            seen.add(id(owner))
            found.append(owner)
    if not found:
        return
    item = _Item(root)
    for label in found:
        if not is_attached(label, root):
            continue
        characters = _characters(label)
        slots = [
            slot
            for slot in (label.getnext(), label.getprevious())
            if _empty_slot(slot) and is_blank(label.tail if slot is label.getnext() else slot.tail)
        ][:1]
        if not item.leaves_something(characters, 0):
            continue
        item.remove(label, characters, 0)
        for slot in slots:
            item.remove(slot, 0, 0)


# --- subscription_forms -------------------------------------------------------------------

SUBSCRIBE_WORDS = frozenset(
    {
        "newsletter",
        "newsletters",
        "subscribe",
        "subscription",
        "signup",
        "optin",
        "mc4wp",
        "convertkit",
        "mailchimp",
        "mailerlite",
    }
)
# Button and leftover-line wording (case-folded substrings).
SUBSCRIBE_BUTTONS = (
    "subscribe",
    "sign up",
    "sign me up",
    "signup",
    "join",
    "get updates",
    "abonnieren",
    "s'abonner",
    "s’abonner",
    "abonner",
    "suscribir",
    "assinar",
    "iscriviti",
    "aanmelden",
    "подписаться",
    "订阅",
    "訂閱",
    "登録",
    "購読",
    "구독",
)
LEFTOVER_WORDS = (
    *SUBSCRIBE_BUTTONS,
    "newsletter",
    "email",
    "e-mail",
    "inbox",
    "spam",
    "unsubscribe",
    "privacy",
    "邮箱",
    "メール",
)
FORM_TEXT_MAX = 300  # the whole container
LEFTOVER_MAX = 160  # each leftover line next to it
_CONTROL_TAGS = ("form", "input", "button", "textarea", "select")
_CONTAINER_TAGS = frozenset({"div", "section", "aside", "p", "span", "form", "footer"})


def _subscription_named(node: HtmlElement) -> bool:
    for name in _widget_names(node):
        words = words_of(name)
        if any(word in SUBSCRIBE_WORDS for word in words) or any(
            pair in WIDGET_PAIRS for pair in zip(words, words[1:], strict=False)
        ):
            return True
    return False


def _is_email_field(node: HtmlElement) -> bool:
    if (node.get("type") or "").strip().lower() == "email":
        return True
    return any("mail" in (node.get(name) or "").lower() for name in ("name", "id", "placeholder"))


def _is_subscribe_button(node: HtmlElement) -> bool:
    tag = tag_of(node)
    if tag == "input" and (node.get("type") or "").strip().lower() not in ("submit", "button"):
        return False
    label = (node.get("value") or "") if tag == "input" else (short_text(node, 40) or "")
    label = label.casefold()
    return any(word in label for word in SUBSCRIBE_BUTTONS)


def _has_subscription_controls(node: HtmlElement) -> bool:
    if next(node.iter("textarea", "select"), None) is not None:
        return False  # a comment, contact or search form asks for more than an address
    return any(_is_email_field(field) for field in node.iter("input")) or any(
        _is_subscribe_button(button) for button in node.iter("button", "input")
    )


def _is_leftover(node: HtmlElement) -> bool:
    """A line next to a form that only talks about subscribing ("No spam. Unsubscribe")."""
    if tag_of(node) in _NEVER_REMOVED or has_media(node) or _holds_protected(node):
        return False
    if next(node.iter(*_CONTROL_TAGS), None) is not None:
        return False  # another form: a candidate of its own
    text = visible_text(node, LEFTOVER_MAX)
    if text is None or is_blank(text):
        return False
    folded = text.casefold()
    return any(word in folded for word in LEFTOVER_WORDS)


LEFTOVER_SIBLINGS = 3  # leftover lines taken on each side of a form, at most


def _leftover_run(node: HtmlElement, *, backwards: bool) -> list[HtmlElement]:
    """The leftover lines right before (or after) node, with no other text between."""
    run: list[HtmlElement] = []
    current = node
    for _ in range(LEFTOVER_SIBLINGS):
        sibling = current.getprevious() if backwards else current.getnext()
        if sibling is None or not isinstance(sibling.tag, str):
            break
        if not is_blank(sibling.tail if backwards else current.tail) or not _is_leftover(sibling):
            break
        run.append(sibling)
        current = sibling
    return run


def _text_leftover(text: str | None) -> bool:
    if is_blank(text):
        return True
    assert text is not None
    folded = text.casefold()
    return len(text.strip()) <= LEFTOVER_MAX and any(w in folded for w in LEFTOVER_WORDS)


def _only_leftovers_besides(parent: HtmlElement, child: HtmlElement) -> bool:
    if not _text_leftover(parent.text):
        return False
    for sibling in parent:
        if not _text_leftover(sibling.tail):
            return False
        if sibling is not child and isinstance(sibling.tag, str) and not _is_leftover(sibling):
            return False
    return True


def _fits(node: HtmlElement) -> bool:
    return visible_text(node, FORM_TEXT_MAX) is not None and not _holds_protected(node)


_FORM_CANDIDATES = etree.XPath(
    "descendant::form | descendant::*[@class or @id][.//input or .//button]"
)


@item_rule(PACK, "subscription_forms")
def remove_subscription_forms(root: HtmlElement) -> None:
    """A newsletter signup form's whole container, with its "Enter your email" leftovers."""
    if next(root.iter("form", "input", "button"), None) is None:
        return
    item: _Item | None = None
    for node in _FORM_CANDIDATES(root):
        if node is root or not is_attached(node, root) or _inside_protected(node):
            continue
        if tag_of(node) != "form" and (
            tag_of(node) not in _CONTAINER_TAGS or not _subscription_named(node)
        ):
            continue
        if not _fits(node) or not _has_subscription_controls(node):
            continue
        # Up through wrappers holding only the form and its leftover lines.
        while (
            (parent := node.getparent()) is not None
            and parent is not root
            and tag_of(parent) in _CONTAINER_TAGS
            and _fits(parent)
            and _only_leftovers_besides(parent, node)
        ):
            node = parent
        group = [node, *_leftover_run(node, backwards=True), *_leftover_run(node, backwards=False)]
        item = item or _Item(root)
        characters = sum(_characters(n) for n in group)
        media = sum(_media_count(n) for n in group)
        if len(group) > 1 and not item.leaves_something(characters, media):
            group = [node]  # its leftover lines are all the item has: they stay
            characters, media = _characters(node), _media_count(node)
        if not item.leaves_something(characters, media):
            continue
        for member in group:
            item.remove(member, _characters(member), _media_count(member))


# (after the forms: a newsletter block goes there with its leftover lines)
_NAMED = etree.XPath("descendant::*[@class or @id or @*[starts-with(name(), 'data-')]]")


@item_rule(PACK, "widget_tokens")
def remove_named_widgets(root: HtmlElement) -> None:
    """An ad, sponsor, promo, newsletter, share or related widget with little text.

    Known by the whole words of its class, id or data-* names; it is not the article.
    """
    item: _Item | None = None
    for node in _NAMED(root):
        if tag_of(node) in _NEVER_REMOVED or not is_attached(node, root):
            continue
        strength = _node_strength(node)
        if not strength or _in_running_text(node) or _inside_protected(node):
            continue
        characters = _little_text(node, strength)
        if characters is None or _holds_protected(node):
            continue
        item = item or _Item(root)
        media = _media_count(node)
        if item.leaves_something(characters, media):
            item.remove(node, characters, media)


# --- tracker_images -------------------------------------------------------------------------

# Hosts (and their subdomains) whose images are ads or view counters; the `pixels` pack
# has the platforms' own (FeedBurner, WordPress.com, Medium, Google Analytics…).
TRACKER_HOSTS = frozenset(
    {
        "assoc-amazon.com",
        "assoc-amazon.co.uk",
        "assoc-amazon.de",
        "assoc-amazon.fr",
        "assoc-amazon.jp",
        "assoc-amazon.ca",
        "doubleclick.net",
        "googlesyndication.com",
        "googleadservices.com",
        "adnxs.com",
        "bat.bing.com",
        "analytics.twitter.com",
        "px.ads.linkedin.com",
        "ct.pinterest.com",
        "pixel.mathtag.com",
        "counter.yadro.ru",
        "top-fwz1.mail.ru",
    }
)
# Amazon's ad system serves product images too (ws-*); only ir-* counts views.
AMAZON_AD_SYSTEM = "amazon-adsystem.com"
# Script names that only ever count a view (Matomo, Piwik), on any host.
TRACKER_SCRIPTS = frozenset({"matomo.php", "piwik.php"})
# A path segment naming a tracking endpoint, when an id follows it or a query is given.
TRACKER_SEGMENTS = frozenset({"pixel", "track", "tracking", "open", "beacon", "trk"})
_ENDPOINT_SUFFIXES = (".php", ".gif", ".png", ".aspx", ".jsp")
ID_MIN = 8  # an id segment: this long at least, with a digit


def _stem(segment: str) -> str:
    for suffix in _ENDPOINT_SUFFIXES:
        if segment.endswith(suffix):
            return segment[: -len(suffix)]
    return segment


def _is_id(segment: str) -> bool:
    stem = segment[:-4] if segment.endswith(".gif") else segment
    return (
        len(stem) >= ID_MIN
        and "." not in stem
        and any(c.isdigit() for c in stem)
        and all(c.isalnum() or c in "-_=" for c in stem)
    )


def is_tracker_url(value: str | None) -> bool:
    parts = split_url(value)
    if parts is None or parts.scheme.lower() not in ("http", "https", ""):
        return False
    host = host_of(parts)
    if not host:
        return False
    domains = domains_of(host)
    if any(domain in TRACKER_HOSTS for domain in domains):
        return True
    if AMAZON_AD_SYSTEM in domains and host.startswith("ir-"):
        return True
    segments = [s for s in (parts.path or "").lower().split("/") if s]
    if segments and segments[-1] in TRACKER_SCRIPTS:
        return True
    for index, segment in enumerate(segments):
        if _stem(segment) not in TRACKER_SEGMENTS:
            continue
        rest = segments[index + 1 :]
        if rest and all(_is_id(s) for s in rest):
            return True
        if not rest and "=" in parts.query:
            return True
    return False


@item_rule(PACK, "tracker_images")
def remove_tracker_images(root: HtmlElement) -> None:
    """An image from a tracker endpoint or ad-system host, whatever its size: it counts views."""
    found = [
        image
        for image in root.iter("img")
        if any(is_tracker_url(image.get(name)) for name in ("src", *LAZY_SRC_ATTRIBUTES))
        and short_text(image, 0) is not None
        and len((image.get("alt") or "").strip()) <= 20
    ]
    for image in found:
        drop(image)
