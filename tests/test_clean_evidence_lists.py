"""Labelled link lists (proxy/clean/packs/evidence/lists.py): a block holding only a label and
one list of links. evidence.related_lists reads it with a related-reading label wherever the
block stands, evidence.shopping_lists with a shopping label. A before→after table with the
look-alikes that must stay, run through the evidence pack and through every pack.
"""

from __future__ import annotations

import pytest

from proxy.clean import clean, parse_fragment
from proxy.clean.packs.evidence.shopping import is_shop_label
from tests.helpers import canon, cleaned_tree, gone, keep

ARTICLE = "<p>" + "The article's own paragraph, which is content and must stay. " * 3 + "</p>"
LINKS = '<ul><li><a href="https://shop.example/a">Shop A</a></li><li><a href="https://b.example/x">B（美国）</a></li></ul>'


CASES = [
    # shanzhuoboshi (zh-shanzhuoboshi in the real corpus): a product pop-up in the middle of
    # the text, its related post and shop lists each a label and a list in one <div>.
    gone(
        ARTICLE + '<div><div>Product text.</div><div>闪卓博识相关文章：<ul><li><a href="/597.html">'
        "闪光灯初级课：裸灯灯光</a></li></ul></div></div>"
        f'<div><span class="x">推荐的购买链接：</span>{LINKS}</div><div><span>购买链接：</span>{LINKS}</div>'
        + ARTICLE,
        ARTICLE + "<div><div>Product text.</div></div>" + ARTICLE,
        "label-text-and-list-in-one-block-mid-item",
    ),
    gone(
        ARTICLE + f"<div>相关文章：{LINKS}</div>",
        ARTICLE,
        "related-label-as-the-blocks-own-text-at-the-end",
    ),
    gone(ARTICLE + f"<div><b>Where to buy:</b>{LINKS}</div>", ARTICLE, "en-where-to-buy"),
    gone(
        ARTICLE + f"<div><h3>Related posts</h3>{LINKS}</div>" + ARTICLE,
        ARTICLE + ARTICLE,
        "heading-and-list-in-one-block",
    ),
    gone(ARTICLE + f"<div>購入はこちら{LINKS}</div>", ARTICLE, "ja-kounyuu"),
    gone(ARTICLE + f"<div>Shop the post{LINKS}<br></div>", ARTICLE, "a-br-after-the-list"),
    # The label a line of its own right before the list (shopping labels only).
    gone(
        ARTICLE + f"<p>推荐的购买链接：</p>{LINKS}" + ARTICLE, ARTICLE + ARTICLE, "shop-label-line"
    ),
    gone(ARTICLE + f"<h3>Where to buy</h3>\n{LINKS}", ARTICLE + "\n", "shop-heading-then-list"),
    keep(ARTICLE + "<p>Where to buy:</p><p>Any good camera shop has it.</p>", "prose-after"),
    keep(ARTICLE + f"<p>Where to buy:</p><p>In town.</p>{LINKS}", "not-right-before"),
    keep(ARTICLE + f"<p>Related posts:</p>{LINKS}" + ARTICLE, "related-label-line-mid-item"),
    keep(f"<p>Where to buy:</p>{LINKS}", "label-and-list-only"),
    # Look-alikes: the block holds more than the label and its list; the label says
    # something else; the entries are sentences or no links; code, quotes, tables.
    keep(ARTICLE + f"<div>Ingredients:{LINKS}</div>", "another-label"),
    keep(ARTICLE + f"<div>See also:{LINKS}</div>", "see-also-citations"),
    keep(ARTICLE + "<div>Contents:<ul><li><a href='#s1'>Intro</a></li></ul></div>", "toc"),
    keep(
        ARTICLE + f"<div>购买链接：{LINKS}<p>But the shop in town is cheaper.</p></div>",
        "text-after",
    ),
    keep(ARTICLE + f"<div>Where to buy: {LINKS} and why we like it.</div>", "list-in-a-sentence"),
    keep(
        ARTICLE + "<div>购买链接：<ul><li>我们在本地的相机店买到了它，价格比网上便宜很多，"
        '店员还送了一个<a href="/x">柔光罩</a>。</li></ul></div>',
        "entry-is-a-sentence",
    ),
    keep(ARTICLE + "<div>Buy now:<ul><li>Shop A</li><li>Shop B</li></ul></div>", "no-links"),
    keep(ARTICLE + f"<blockquote><div>Where to buy:{LINKS}</div></blockquote>", "in-a-quote"),
    keep(ARTICLE + f"<table><tr><td><div>购买链接：{LINKS}</div></td></tr></table>", "in-a-table"),
    keep(ARTICLE + f"<div>Buy the book:{LINKS}</div>", "buy-the-book"),
    keep(ARTICLE + f"<div><a href='/shop'>购买链接</a>{LINKS}</div>", "label-is-a-link"),
    keep(f"<div>Where to buy:{LINKS}</div>", "the-items-only-content"),
]


@pytest.mark.parametrize(("before", "after"), CASES)
def test_labelled_lists(before: str, after: str) -> None:
    assert cleaned_tree(before, ["evidence"]) == canon(after)


@pytest.mark.parametrize(("before", "after"), CASES)
def test_labelled_lists_with_every_pack(before: str, after: str) -> None:
    text = "".join(parse_fragment(after).itertext()).split()
    assert "".join(parse_fragment(cleaned_tree(before)).itertext()).split() == text


def test_each_list_is_attributed_to_its_rule() -> None:
    cleaned = clean(ARTICLE + f"<div>相关阅读：{LINKS}</div><div>推荐购买链接：{LINKS}</div>")
    assert [r.rule for r in cleaned.removals if r.tag == "div"] == [
        "evidence.related_lists",
        "evidence.shopping_lists",
    ]


@pytest.mark.parametrize(
    ("label", "shop"),
    [
        ("推荐的购买链接：", True),
        ("购买链接", True),
        ("購買連結", True),
        ("【购买地址】", True),
        ("Where to buy:", True),
        ("SHOP THE POST", True),
        ("구매 링크", True),
        ("Shop", False),
        ("Available at", False),
        ("购买", False),
        ("我在哪里购买链接", False),
    ],
)
def test_shop_labels(label: str, shop: bool) -> None:
    assert is_shop_label(label) is shop
