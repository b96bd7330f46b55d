"""evidence.shopping_lists: a block that is a shopping label and a list of shop links, and
nothing else: "推荐的购买链接：" / "购买链接：" then Taobao, Amazon, eBay entries; "Where to
buy:", "Shop the post", 購入はこちら… A shop's links, not the article's sentences.

Known by the label's whole text, in many languages, and the shape (lists.py): the label
alone before one list whose every entry is mostly a link, both in one block that holds
nothing else, or the label a line of its own right before the list. Not by one site's markup.
A review's own "Where to buy:" list goes too (the shops' links, the review's text stays);
"Buy the book", "Available at" and a bare "Shop" are not labels here (they head an author's
or a venue's own lines, or are one word of a sentence).
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from proxy.clean.packs.evidence.common import PACK
from proxy.clean.packs.evidence.lists import labelled_groups, remove_groups
from proxy.clean.packs.wechat import DECORATION
from proxy.clean.registry import item_rule

# Chinese: (推荐的|相关|更多|其他|官方)?(购买|购物|选购)(链接|地址|渠道|入口|推荐), either script.
_CJK_SHOP = re.compile(
    r"(?:推荐的?|推薦的?|相关|相關|更多|其他|其它|官方)?"
    r"(?:购买|購買|购物|購物|选购|選購)(?:链接|鏈接|連結|地址|渠道|入口|推荐|推薦)"
)
SHOP_LABELS = frozenset(
    {
        # English
        "buy links",
        "buying links",
        "purchase links",
        "where to buy",
        "buy it here",
        "buy it now",
        "buy now",
        "shop now",
        "shop the post",
        "shop this post",
        "shop the look",
        "shop the story",
        "affiliate links",
        # German, French, Spanish, Portuguese, Italian, Dutch, Russian
        "hier kaufen",
        "jetzt kaufen",
        "bezugsquellen",
        "où acheter",
        "acheter ici",
        "dónde comprar",
        "comprar aquí",
        "onde comprar",
        "compre aqui",
        "dove comprare",
        "acquista ora",
        "waar te koop",
        "где купить",
        # Japanese, Korean
        "購入はこちら",
        "ご購入はこちら",
        "購入リンク",
        "購入先",
        "お買い求めはこちら",
        "구매 링크",
        "구매처",
        "구매하기",
    }
)


def is_shop_label(text: str) -> bool:
    """Whether a label's whole text (decorations and a colon stripped) heads shop links."""
    label = text.strip(DECORATION)
    if not label:
        return False
    return bool(_CJK_SHOP.fullmatch(label)) or " ".join(label.casefold().split()) in SHOP_LABELS


@item_rule(PACK, "shopping_lists")
def remove_shopping_lists(root: HtmlElement) -> None:
    """A shopping label and the list of shop links it heads (affiliate lists)."""
    remove_groups(root, labelled_groups(root, is_shop_label, line_before=True))
