"""The `wechat` pack: the chrome of republished WeChat 公众号 articles. Part of the clean stage;
does no I/O.

WeChat articles open with a follow prompt (点击上方蓝字关注我们, 设为星标) and close with a QR
code (长按识别二维码), a 往期推荐 / 推荐阅读 list of earlier articles, 在看 / 点赞 prompts, an
ad slot and mini-program or account cards. Each is known by its *structure* and a short
label, not by one account's wording:
- prompts are short blocks (a line, at most PROMPT_CHARS characters) at the start or the end
  of the item that hold a prompt phrase; a QR-code image next to a QR prompt goes with it;
- (往期推荐 / 推荐阅读 / 相关文章 lists are not WeChat's alone — NYTimes-cn ends every item with
  one — so `evidence.related_lists` removes them, in any feed);
- cards and ad slots are WeChat's own elements (mp-miniprogram, mp-common-profile, mpcpc…)
  and classes.
A sentence of the article that uses the same words is longer than a prompt, or not at an
edge, and stays.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean.nodes import (
    MEDIA_TAGS,
    class_tokens,
    has_media,
    hints_for,
    is_blank,
    short_text,
    tag_of,
    text_of,
)
from proxy.clean.packs.common import drop_all
from proxy.clean.registry import Needs, declare_pack, item_rule

PACK = declare_pack(
    "wechat",
    "WeChat 公众号 chrome: follow/star prompts (点击上方蓝字关注), QR-code prompts"
    " (长按识别二维码), 在看/点赞 prompts, 广告 slots, mini-program and account cards",
)

PROMPT_CHARS = 60  # a prompt is one short line
EDGE_BLOCKS = 6  # blocks looked at from each end

_PROMPT = re.compile(
    r"点击?(?:上方|下方|顶部|底部|标题下|文末|左下角|右上角)"
    r"|关注(?:我们|公众号|本号|并星标)|设为?星标|星标(?:公众号|我们)|置顶公众号"
    r"|长按(?:识别|扫描|扫码)?(?:图中|下方|上方)?(?:二维码|图片|小程序码)"
    r"|扫(?:描|一扫)?(?:下方|上方|图中)?(?:二维码|小程序码)|扫码(?:关注|加入|添加|进群)"
    r"|点(?:个|一下|亮)?(?:在看|赞)|(?:分享|点赞|在看|转发)[、，,和与\s]*(?:点赞|在看|转发|分享)"
    r"|阅读原文|点击原文"
)
_QR_PROMPT = re.compile(r"二维码|小程序码|扫码|长按")
# Decorations around a label line (▼ 往期推荐 ▼, — 广告 —), stripped before it is compared.
DECORATION = " \t\n\u3000\xa0·•●○◆◇■□▲△▼▽►▶◀★☆♦—–-_~|｜:：.。!！>《》【】[]()（）"
AD_LABELS = frozenset({"广告", "推广"})


def _label(line: str) -> str:
    return line.strip(DECORATION)


WECHAT_CARD_TAGS = frozenset(
    {
        "mp-miniprogram",
        "mp-common-miniprogram",
        "mp-common-profile",
        "mpprofile",
        "mpcpc",
        "mp-common-cpc",
        "mp-common-product",
        "mpproduct",
    }
)
WECHAT_CARD_CLASSES = frozenset(
    {
        "mp_profile_iframe_wrp",
        "js_profile_card",
        "weapp_display_element",
        "js_weapp_display_element",
        "mp_miniprogram_iframe_wrp",
        "js_cpc_area",
        "mp_ad_iframe_wrp",
        "js_ad_area",
        "weapp_card",
    }
)
_CARD_CLASSED = etree.XPath(
    "descendant::*/@class[contains(., 'mp_') or contains(., 'js_') or contains(., 'weapp')]/.."
    " | descendant::*[@data-miniprogram-appid]"
)


def _line(node: HtmlElement) -> str | None:
    text = short_text(node, PROMPT_CHARS)
    return None if text is None else " ".join(text.split())


# A prompt tells the reader to act (tap, press, scan): a line without such a verb is a prompt
# only when it is very short ("关注我们"); "关注我们的读者都知道……" is a sentence.
_ACTION_WORDS = ("点击", "长按", "扫", "点个", "点亮", "点一下", "星标", "置顶", "阅读原文")
BARE_PROMPT_CHARS = 16


def _is_call_to_act(line: str) -> bool:
    return len(line) <= BARE_PROMPT_CHARS or any(word in line for word in _ACTION_WORDS)


def top_blocks(root: HtmlElement) -> list[HtmlElement]:
    """The item's top-level blocks, looking through wrappers that hold everything."""
    container = root
    for _ in range(16):
        children = [c for c in container if isinstance(c.tag, str)]
        if len(children) != 1 or not is_blank(container.text) or not is_blank(children[0].tail):
            break
        if tag_of(children[0]) not in ("div", "section", "article", "span"):
            break
        container = children[0]
    return [c for c in container if isinstance(c.tag, str)]


def media_only(node: HtmlElement) -> bool:
    return (tag_of(node) in MEDIA_TAGS or has_media(node)) and is_blank(text_of(node))


@item_rule(PACK, "prompts")
def remove_wechat_prompts(root: HtmlElement) -> None:
    """Follow, star, QR-code, 在看 and 点赞 prompts ask the reader to act in the WeChat app."""
    blocks = top_blocks(root)
    if not blocks:
        return
    edges = blocks[:EDGE_BLOCKS] + blocks[-EDGE_BLOCKS:]
    found: list[HtmlElement] = []
    for node in dict.fromkeys(edges):  # (a short item: each block once)
        if tag_of(node) in ("pre", "table", "blockquote", "ul", "ol"):
            continue
        line = _line(node)
        if not line or not _PROMPT.search(line) or not _is_call_to_act(line):
            continue
        found.append(node)
        if _QR_PROMPT.search(line):
            # The QR code is the image block right before or after its prompt.
            for near in (node.getprevious(), node.getnext()):
                if near is not None and isinstance(near.tag, str) and media_only(near):
                    found.append(near)
    if len(found) >= len(blocks):
        return  # never the whole item
    drop_all(root, found)


@item_rule(PACK, "cards")
def remove_wechat_cards(root: HtmlElement) -> None:
    """Mini-program, account and ad cards are WeChat widgets that show nothing in a reader."""
    found = [n for n in root.iter(*WECHAT_CARD_TAGS) if isinstance(n.tag, str)]
    if hints_for(root).may_contain("mp_", "js_", "weapp", "data-miniprogram"):
        for node in _CARD_CLASSED(root):
            if WECHAT_CARD_CLASSES.intersection(class_tokens(node)) or (
                node.get("data-miniprogram-appid") is not None and media_only(node)
            ):
                found.append(node)
    drop_all(root, found)


# (Needs: nothing goes without a line, decorations stripped, that is one of AD_LABELS.)
@item_rule(PACK, "ad_slots", needs=Needs(text=tuple(AD_LABELS)))
def remove_wechat_ads(root: HtmlElement) -> None:
    """A 广告 / 推广 label standing alone on its line, with the ad (an image or link) after it."""
    blocks = top_blocks(root)
    found: list[HtmlElement] = []
    for at, node in enumerate(blocks[:-1]):
        line = _line(node)
        if not line or _label(line) not in AD_LABELS:
            continue
        ad = blocks[at + 1]
        if media_only(ad) or (
            short_text(ad, PROMPT_CHARS) is not None and next(ad.iter("a"), None) is not None
        ):
            found += [node, ad]
    if len(found) >= len(blocks):
        return
    drop_all(root, found)
