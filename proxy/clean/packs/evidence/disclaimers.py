"""evidence.disclaimers: a republisher's, aggregator's or site's notice at an item's edge, not
the article: "the views are the author's, not ours" (内容和观点不代表本站立场, "The views
expressed in this article do not necessarily reflect…"), rights and takedown notices (版权归原作者
所有，如有侵权请联系删除, 转载请注明出处, "All rights reserved", 無断転載を禁じます), and automatic
aggregation notices (本文由自动聚合程序取自网络, "This post was automatically aggregated").

Known by what the notice says, in many languages, and where and how long it is, not by one
site's wording. A unit (edges.py: a block or a `<br>` line, at most 200 characters, among the
first or last few blocks with text) goes when its sentences that are notices make up at least
NOTICE_SHARE of its text, it holds no media and no link (a line that links its source is a
credit: "本文转载自<a>香港独立媒体</a>，不代表本网立场" stays, as the source is named there).

Each kind of notice is one small function over a sentence; a sentence is a notice only with
all of its evidence together, so the words alone do not make one:
- views: a views word, a "not"/"only" word and the article, the author or the site itself
  (这并不代表公司的立场 in a news report names none of them: it stays);
- rights: "all rights reserved" and its translations, a no-reprint or takedown request, or
  the "original to us" claim that opens one (本文由…原创发布，转载请…), each a short formula
  (FORMULA_CHARS) and, in Chinese, opening its sentence (这部小说的版权归原作者所有 in a
  report about a lawsuit has a subject of its own);
- aggregated: the item was taken automatically, or "from the web" (来源：网络).
Credits stay: "Reprinted with permission", "本文转载自…", "经作者授权转载", "This article
was originally published on…" name where the article comes from, which a reader may want.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from proxy.clean.packs.evidence.common import PACK
from proxy.clean.packs.evidence.edges import Unit, any_of, remove_units
from proxy.clean.packs.wechat import DECORATION
from proxy.clean.registry import item_rule

NOTICE_SHARE = 0.6  # of a unit's text, in notice sentences
# A rights or aggregation notice is a formula, one short sentence ("All rights reserved.");
# a sentence of a report that uses its words runs on. (A views notice needs three pieces of
# evidence together and may be long: "…do not necessarily reflect the official policy…".)
FORMULA_CHARS = 80
ENUMERATION_WORDS = 3  # a clause this short continues the notice's own list
# Where a sentence or a clause ends: 。！？; ! ? ; | a full stop before a space or the end,
# and the full-width comma and brackets (a Chinese credit and a notice often share a line:
# "（本文节选于…新书） *转载此文请注明此出处" keeps its credit). Not the ASCII comma, nor 、: an
# English or Japanese notice runs on over commas ("…are the author's, and do not reflect…").
_SENTENCE_END = re.compile(r"[。！？!?；;|｜，（）]|\.(?=\s|$)")

# --- views: "not the views of the site" ---------------------------------------------------

_CJK_NOT = re.compile(
    r"不代表|不反映|不构成|不構成|仅代表|僅代表|只代表|文责自负|文責自負|无关|無關"
)
_CJK_VIEWS = re.compile(
    r"立场|立場|观点|觀點|看法|意见|意見|态度|態度|建议|建議|作者本人|个人|個人|文责|文責"
)
_CJK_SELF = re.compile(
    r"本文|本站|本网|本網|本号|本號|本平台|本刊|本报|本報|本台|本公众号|公众号|作者|文章|文中|该文|"
    r"該文|此文|内容|內容|编者|編者|小编|小編"
)
_VIEWS = re.compile(
    r"\b(?:views?|opinions?|viewpoints?|positions?|meinung(?:en)?|ansicht(?:en)?|auffassung"
    r"|standpunkt|opinión|opiniones|opinião|opiniões|opinioni?|punto de vista|ponto de vista"
    r"|point de vue|points de vue|propos|vues|postura|posizione|posición|posição)\b"
    r"|мнени|見解|意見|考え|견해|의견"
)
_VIEWS_NOT = re.compile(
    r"\b(?:do not|don't|does not|doesn't|not necessarily|are (?:solely )?(?:those|that) of"
    r"|is (?:solely )?(?:that|those) of|solely the responsibility|own and not"
    r"|nicht|keine|n'engagent|n'engage|ne reflètent|ne reflète|ne représentent|ne représente"
    r"|no reflejan?|no representan?|no necesariamente|responsabilidad exclusiva"
    r"|não refletem|não reflete|não representam?|não necessariamente|responsabilidade"
    r"|non riflett\w*|non rappresent\w*|non necessariamente)\b"
    r"|может не совпадать|не совпада|не отража"
    r"|ではありません|ではない|ものではありません|とは異なる"
    r"|다를 수|무관"
)
_VIEWS_SELF = re.compile(
    r"\b(?:this|the|our|these) (?:article|post|blog|column|piece|op-ed|commentary|podcast"
    r"|episode|video|site|website|publication|newsletter|story|content)s?\b"
    # (English names the author as the notice does, "those of the author", "the author's
    # own": "…do not reflect the population as a whole, the authors caution" is a report)
    r"|\b(?:herein|expressed here|(?:of|by) (?:the|its|their|our) (?:authors?|writers?"
    r"|contributors?|guest|columnist)|(?:author|writer|contributor)(?:'s|s') own"
    r"|(?:author|authors|writer|contributor)(?:'s|s')? alone"
    r"|redaktion|autors|autorin|autoren|verfasser|gastautor"
    r"|auteur|auteurs|rédaction|autor|autores|redacción|redação|autore|autori|redazione)\b"
    r"|редакци|автор|記事|筆者|著者|執筆者|当社|弊社|当サイト|필자|기고|본 기사|본지"
)

# --- rights: reserved, no reprint, takedown -------------------------------------------------

# Chinese rights notices open their sentence (after a label such as 版权声明：), their subject
# the article itself or none: "这部小说的版权归原作者所有" in a report about a lawsuit has one.
_CJK_LABEL = re.compile(
    r"\A(?:[\u4e00-\u9fff]{0,4}(?:声明|聲明|说明|說明|提示|须知|須知)|注|备注|備註)[:：]"
)
_CJK_RIGHTS = re.compile(  # (\A: these open the sentence; search fails at once elsewhere)
    r"\A(?:(?:本文|文章|图片|圖片|图文|圖文|内容|內容|视频|視頻|素材|资料|資料|本站|本网|本網|本号|本號"
    r"|本公众号|本平台)?(?:内容|內容|及图片|及圖片)?的?(?:版权|版權|著作权|著作權)"
    r"(?:归|歸|属于|屬於|为|為|所有)"
    r"|(?:如有|若有|如涉及|如涉|若涉及|如)(?:侵权|侵權)|侵删|侵刪"
    r"|(?:转载|轉載)(?:此文|本文)?(?:请|請|须|須|必须|必須|需|务必|務必|时请|時請)"
    r"|(?:禁止|谢绝|謝絕|严禁|嚴禁|不得|请勿|請勿|勿|如需|欢迎|歡迎)(?:擅自|私自|任何形式的?)?"
    r"(?:转载|轉載))"
)
# "Original to this site" (本文由极客公园原创发布，转载请…): the claim that opens a rights notice.
_CJK_ORIGINAL = re.compile(r"\A(?:本文|本号|本號|本站|本公众号|此文).{0,24}(?:原创|原創)")
_RIGHTS = re.compile(
    r"無断(?:転載|複製|転用|使用)|転載(?:を)?(?:禁止|禁じ|お断り)|무단 ?전재|재배포 ?금지"
    r"|侵删|侵刪|all rights reserved\b|alle rechte vorbehalten\b|tous droits réservés\b"
    r"|todos los derechos reservados\b|todos os direitos reservados\b"
    r"|tutti i diritti riservati\b|alle rechten voorbehouden\b|все права защищены"
    r"|riproduzione riservata\b|reproduction interdite\b|prohibida (?:su|la) reproducción\b"
    r"|proibida a reprodução\b|nachdruck verboten\b"
    r"|may not be (?:re)?(?:published|produced|distributed|printed|copied)\b"
    r"|(?:reproduction|republication|redistribution|reprinting) (?:is )?(?:strictly )?"
    r"(?:prohibited|forbidden|not permitted)\b"
)
# A copyright line ("© 2024 Example News", "Copyright 2015 Foo"): a notice only beside one.
_COPYRIGHT_SIGNS = ("©", "(c)", "copyright", "版权", "版權")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
# Stripped from a sentence's start: decorations, and the marks that open a note (※, *).
_OPENING = DECORATION + "*※＊"

# --- aggregated: taken automatically, or "from the web" ---------------------------------------

_CJK_AUTO = re.compile(r"自动|自動|程序|机器人|機器人")
_CJK_TAKEN = re.compile(r"聚合|采集|採集|抓取|取自|收集|生成|转载|轉載")
_FROM_THE_WEB = re.compile(
    r"(?:取自|来自|來自|源自|源于|源於|转自|轉自|摘自|来源于|來源於|来源|來源)[:：]?"
    r"(?:互联网|互聯網|网络|網絡)"
)
_AUTOMATIC = re.compile(
    r"\b(?:automatically |auto-)(?:generated|aggregated|fetched|imported|collected"
    r"|republished|posted|syndicated|scraped|curated)\b"
)
_AUTO_SELF = re.compile(r"\b(?:this|the) (?:article|post|content|entry|story|item|feed)\b")


def _is_views_notice(sentence: str) -> bool:
    """Not the site's views: views, negation and the article, author or site together."""
    if _CJK_NOT.search(sentence) and _CJK_VIEWS.search(sentence):
        return bool(_CJK_SELF.search(sentence))
    return bool(
        _VIEWS.search(sentence) and _VIEWS_NOT.search(sentence) and _VIEWS_SELF.search(sentence)
    )


def _is_rights_notice(sentence: str) -> bool:
    """Rights reserved, no reprinting, "contact us to take it down", or "original to us"."""
    if len(sentence.replace(" ", "")) > FORMULA_CHARS:
        return False
    opening = sentence.strip(_OPENING)
    label = _CJK_LABEL.match(opening)
    if label is not None:
        opening = opening[label.end() :].strip(_OPENING)
    if _CJK_RIGHTS.match(opening) or _CJK_ORIGINAL.match(opening):
        return True
    return bool(_RIGHTS.search(sentence))


def _is_aggregation_notice(sentence: str) -> bool:
    """The item was taken by a program, or comes "from the web" (no source named)."""
    if len(sentence.replace(" ", "")) > FORMULA_CHARS:
        return False
    if _CJK_AUTO.search(sentence) and _CJK_TAKEN.search(sentence):
        return bool(_CJK_SELF.search(sentence))
    if _FROM_THE_WEB.search(sentence):
        return True
    return bool(_AUTOMATIC.search(sentence) and _AUTO_SELF.search(sentence))


_NOTICES = (_is_views_notice, _is_rights_notice, _is_aggregation_notice)


# Pieces of text at least one of which every notice read here holds, as written (no case
# folding: an all-capitals notice is read only where a piece below is in capitals too). The
# walk tests them on each unit first, the cheapest test (edges.remove_units' may_hold). An
# item-level prefilter (registry.Needs) over the item's whole text cost more than it saved.
PIECES = (
    # Chinese: not the views (不代表…), rights (版权, 侵权, 转载), original (原创), taken
    # automatically (聚合, 采集…) or from the web (来源于网络, 取自网络…)
    *("不代表", "仅代表", "僅代表", "只代表", "不反映", "不构成", "不構成", "文责", "文責"),
    *("无关", "無關"),
    *(
        "版权",
        "版權",
        "著作权",
        "著作權",
        "侵权",
        "侵權",
        "侵删",
        "侵刪",
        "转载",
        "轉載",
        "原创",
        "原創",
    ),
    *("聚合", "采集", "採集", "抓取", "取自", "收集", "生成"),
    *(
        f"{a}{b}"
        for a in ("自", "于", "於", "源", "源:", "源：")
        for b in ("网络", "網絡", "互联网", "互聯網")
    ),
    # Japanese, Korean, Russian
    *("見解", "意見", "考え", "無断", "転載", "견해", "의견", "무단", "재배포", "нени", "права"),
    # views, opinion, position, Meinung, point de vue, punto de vista…
    *("iew", "IEW", "pini", "PINI", "osition", "einung", "nsicht", "uffassung", "tandpunkt"),
    *("vista", "vue", "ropos", "ostura", "osizione", "osición", "osição"),
    # rights reserved, Rechte, droits, derechos, direitos, diritti; reproduction, reprinting
    *("ights", "IGHTS", "echte", "roits", "erechos", "ireitos", "iritti", "eprodu", "iproduz"),
    *("achdruck", "ublished", "roduced", "istributed", "rinted", "opied", "epublica", "eprint"),
    *("utomatic", "UTOMATIC", "uto-", "UTO-"),  # automatically, auto-generated
)
_ANY_PIECE = any_of(PIECES)  # (one search, not one per piece)


def _noticed(sentence: str) -> int:
    """How much of a notice sentence is the notice: its comma-separated clauses that hold a
    piece of its evidence or are a few words of an enumeration ("may not be published,
    broadcast, rewritten or redistributed"). "The views expressed in this article do not
    reflect the board's, the chairman wrote in a letter…" is a report quoting one."""
    clauses = sentence.split(",")
    if len(clauses) == 1:
        return len(sentence.replace(" ", ""))
    return sum(
        len(clause.replace(" ", ""))
        for clause in clauses
        if len(clause.split()) <= ENUMERATION_WORDS or any(p.search(clause) for p in _PIECES)
    )


_PIECES = (_VIEWS, _VIEWS_NOT, _VIEWS_SELF, _RIGHTS, _AUTOMATIC, _AUTO_SELF)


def is_notice(text: str) -> bool:
    """Whether text (one unit's, whitespace collapsed) is mostly notice sentences."""
    if not _ANY_PIECE.search(text):
        return False
    sentences = [s for s in _SENTENCE_END.split(text.casefold().replace("’", "'")) if s.strip()]
    total = notices = 0
    copyright = 0
    for sentence in sentences:
        characters = len(sentence.replace(" ", ""))
        total += characters
        if any(notice(sentence) for notice in _NOTICES):
            notices += _noticed(sentence)
        elif any(sign in sentence for sign in _COPYRIGHT_SIGNS) and _YEAR.search(sentence):
            copyright += characters  # ("© 2024 Example News. All rights reserved.")
    if notices:
        notices += copyright
    return total > 0 and notices >= NOTICE_SHARE * total


def _is_disclaimer(unit: Unit) -> bool:
    if not is_notice(unit.text) or unit.has_media():
        return False
    # A linked source is a credit (mailto: is a way to ask, not a source).
    return all((a.get("href") or "").strip().lower().startswith("mailto:") for a in unit.links())


# A notice's heading on a line of its own ("免责声明：", "Disclaimer:"): it goes with the
# notice right after it, never alone.
LABELS = frozenset(
    {
        *("免责声明", "免責聲明", "免责申明", "版权声明", "版權聲明", "版权说明", "版權說明"),
        *("声明", "聲明", "特别声明", "特別聲明", "郑重声明", "鄭重聲明", "免責事項"),
        *("disclaimer", "disclaimers", "haftungsausschluss", "avertissement", "aviso legal"),
        *("descargo de responsabilidad", "isenção de responsabilidade", "copyright notice"),
    }
)


def is_label(text: str) -> bool:
    return " ".join(text.strip(DECORATION).casefold().split()) in LABELS


@item_rule(PACK, "disclaimers")
def remove_disclaimers(root: HtmlElement) -> None:
    """A views, rights or aggregation notice at the item's edge, not the article."""
    remove_units(root, _is_disclaimer, _ANY_PIECE.search, is_label)
