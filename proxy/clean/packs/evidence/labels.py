"""evidence.ad_labels: blocks whose whole text is an ad label, with the empty slot beside them."""

from __future__ import annotations

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean import registry
from proxy.clean.nodes import (
    MEDIA_TAGS,
    STRUCTURAL_TAGS,
    has_media,
    is_attached,
    is_blank,
    tag_of,
    text_of,
)
from proxy.clean.packs.evidence.common import (
    PACK,
    PROTECTED_TAGS,
    Item,
    in_running_text,
    inside_protected,
    shown_characters,
    visible_text,
)
from proxy.clean.packs.evidence.edges import any_of
from proxy.clean.packs.evidence.folding import folded_needs
from proxy.clean.registry import item_rule

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
    if tag_of(node) in _LABEL_TAGS_NEVER or in_running_text(node) or inside_protected(node):
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


# A label's text node: cheap to find, then the block around it is checked. (Its
# normalised length is in 1..LABEL_MAX: a text that short before normalising needs no
# normalising to pass the length test, so normalize-space runs once per text node, twice
# only for a long one that normalises short.)
_LABEL_TEXT = etree.XPath(
    f"descendant::text()[string-length(.) <= {LABEL_MAX}"
    f" or string-length(normalize-space(.)) <= {LABEL_MAX}][normalize-space(.)]"
)


# What a text holds wherever its casefold() holds a label (folding.py), found in one
# search of the item's text: an item without any is passed over before _LABEL_TEXT reads
# its text nodes one by one in libxml2 (the seed's Chinese item: 90 % of this rule's time;
# the search and the text it reads cost half as much). (Literals: the pattern is linear.)
LABEL_PIECES = folded_needs(AD_LABELS)
_ANY_PIECE = any_of(LABEL_PIECES)
# Then each label's first word ("sponsored links", "paid post": the telling one), in the
# case-folded text: casefold() folds each character on its own, so a label's word (no
# whitespace in it) is in the text's casefold() wherever a text node's is the label. On
# text in the labels' scripts (an English article: "e" is a piece) this second test is
# what passes most items over; `in` for each word reads the text faster than a pattern
# that stops at most letters. (A word holding another adds nothing.)
_FIRST_WORDS = {label.split()[0] for label in AD_LABELS}
LABEL_WORDS = tuple(
    sorted(w for w in _FIRST_WORDS if not any(o != w and o in w for o in _FIRST_WORDS))
)


def may_hold_label(text: str) -> bool:
    """False where no text node of an item whose text_of() is text can be an ad label."""
    if not _ANY_PIECE.search(text):
        return False
    folded = text.casefold()
    return any(word in folded for word in LABEL_WORDS)


@item_rule(PACK, "ad_labels")
def remove_ad_labels(root: HtmlElement) -> None:
    """A block that only says "Advertisement" / "Anzeige" / 广告 (and its emptied ad slot)."""
    if registry.use_prefilters and not may_hold_label(text_of(root)):
        return
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
    item = Item(root)
    for label in found:
        if not is_attached(label, root):
            continue
        characters = shown_characters(label)
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
