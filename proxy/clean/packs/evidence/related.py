"""evidence.related_lists: a "related articles" label line that only link lines follow, at the
end of an item: the site's recirculation, not the article.

Known by structure and a label, in many languages, not by one site's markup: the label is a
block of its own whose whole text (decorations and a colon stripped) is a related-reading
label (往期推荐, 推荐阅读, 相关文章, 関連記事, "Related posts", "Ähnliche Beiträge", "Leia
também"…), and every block after it, to the end of the item, is a short line that is mostly
link text (an article title), or an image; at least one of them links. WeChat accounts end
with such a list, and so does NYTimes-cn (`相关文章:` then titles and the site's own back-link).

A label can also be the leading text of the block that holds its list, with nothing else in
that block (`<div>闪卓博识相关文章：<ul><li><a>…</a></li></ul></div>`, lists.py): such a
block is a self-contained widget and goes wherever it stands in the item.

Not here, because they are an article's own: "See also", "Further reading", "References",
"Sources" (citations), a label line in the middle of the article with the article going on
after its links, a list with prose after the label, or a list item that is a sentence.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from proxy.clean import registry
from proxy.clean.nodes import short_text, text_of
from proxy.clean.packs.common import drop_all
from proxy.clean.packs.evidence.common import PACK
from proxy.clean.packs.evidence.lists import labelled_groups, remove_groups
from proxy.clean.packs.wechat import DECORATION, media_only, top_blocks
from proxy.clean.registry import item_rule

LIST_ITEMS = 20  # a related list has at most this many lines
LIST_LINE_CHARS = 90  # …each of them an article title
LINKED_SHARE = 0.6  # a list line's text is mostly link text

# Chinese labels, built from their parts: (往期|相关|…)(推荐|阅读|文章|…)(推荐|阅读|…)
_CJK_LABEL = re.compile(
    r"(?:往期|近期|历史|热门|精彩|相关|延伸|更多|今日)?"
    r"(?:推荐|回顾|精选|精彩|阅读|文章|推文|好文|热文)(?:推荐|阅读|回顾|文章)?"
    r"|猜你喜欢"
)
# …or a name with up to four characters around it (▼往期推荐▼ is stripped already; 【往期推荐】
# and "往期推荐 | " are not).
_CJK_NAMES = re.compile(
    r".{0,4}(?:往期推荐|推荐阅读|往期回顾|精彩推荐|相关阅读|相关文章|延伸阅读|猜你喜欢|热门推荐|往期精选"
    r"|精选推荐)"
    r".{0,4}"
)
# Other languages: the whole label, case-folded. Only labels that head recirculation; "see
# also", "further reading", "references" head an article's own citations and are not here.
LABELS = frozenset(
    {
        # English
        "related",
        "related posts",
        "related articles",
        "related stories",
        "related reading",
        "related content",
        "you may also like",
        "you might also like",
        "recommended for you",
        # German
        "ähnliche beiträge",
        "ähnliche artikel",
        "verwandte artikel",
        "verwandte beiträge",
        "das könnte dich auch interessieren",
        "das könnte sie auch interessieren",
        # French
        "articles similaires",
        "articles liés",
        "à lire aussi",
        "sur le même sujet",
        # Spanish, Portuguese, Italian, Dutch
        "artículos relacionados",
        "entradas relacionadas",
        "también te puede interesar",
        "posts relacionados",
        "artigos relacionados",
        "leia também",
        "articoli correlati",
        "potrebbe interessarti anche",
        "gerelateerde berichten",
        "gerelateerde artikelen",
        # Russian
        "похожие статьи",
        "читайте также",
        # Japanese, Korean
        "関連記事",
        "関連投稿",
        "おすすめ記事",
        "あわせて読みたい",
        "合わせて読みたい",
        "관련 기사",
        "관련기사",
        "추천 기사",
    }
)


# Alone, these say "article", "reading", "wonderful": not that the links are other articles
# ("阅读：" before a link to the paper the post discusses is the post's own).
_BARE_WORDS = frozenset({"文章", "阅读", "精彩"})


def is_list_label(line: str) -> bool:
    """Whether a line's whole text is a related-reading label."""
    label = line.strip(DECORATION)
    if not label or label in _BARE_WORDS:
        return False
    if _CJK_LABEL.fullmatch(label) or _CJK_NAMES.fullmatch(label):
        return True
    return " ".join(label.casefold().split()) in LABELS


def _is_list_line(node: HtmlElement) -> bool:
    """A line of a related list: a link (or links) with a title, or an image."""
    if media_only(node):
        return True
    text = short_text(node, LIST_LINE_CHARS * 3)
    if text is None:
        return False
    words = "".join(text.split())
    if not words:
        return True
    linked = "".join("".join(text_of(a).split()) for a in node.iter("a"))
    return len(linked) >= LINKED_SHARE * len(words) or (len(words) <= 4 and is_list_label(words))


@item_rule(PACK, "related_lists")
def remove_related_lists(root: HtmlElement) -> None:
    """A related-articles label line followed to the item's end only by link lines or images."""
    if registry.use_prefilters and next(root.iter("a"), None) is None:
        return  # (both readings want a link in the list: an item without one has no list)
    # A block holding only a related label and its list of links, wherever it stands.
    remove_groups(root, labelled_groups(root, is_list_label))
    _remove_list_at_the_end(root)


def _remove_list_at_the_end(root: HtmlElement) -> None:
    blocks = top_blocks(root)
    if len(blocks) < 2:
        return
    for at in range(len(blocks) - 2, max(-1, len(blocks) - LIST_ITEMS - 2), -1):
        text = short_text(blocks[at], LIST_LINE_CHARS)
        if not text or not is_list_label(" ".join(text.split())):
            continue
        if at == 0:
            return  # the label opens the item: whatever follows is the item
        rest = blocks[at + 1 :]
        if all(_is_list_line(node) for node in rest) and any(
            next(node.iter("a"), None) is not None for node in rest
        ):
            drop_all(root, [blocks[at], *rest])
        return
