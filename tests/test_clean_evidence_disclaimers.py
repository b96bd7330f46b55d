"""Notices and download calls at an item's edge (proxy/clean/packs/evidence/edges.py):
evidence.disclaimers (views, rights and aggregation notices) and evidence.download_prompts
(download-or-install-an-app lines). A before→after table with the look-alikes that must stay,
run through the evidence pack and through every pack; then each rule's text test alone.
"""

from __future__ import annotations

import pytest

from proxy.clean import clean, parse_fragment
from proxy.clean.packs.evidence.disclaimers import is_notice
from proxy.clean.packs.evidence.downloads import is_download_call
from tests.helpers import canon, cleaned_tree, gone, keep

ARTICLE = "<p>" + "The article's own paragraph, which is content and must stay. " * 3 + "</p>"
ZH = "<p>" + "这是文章自己的段落，是正文内容，必须保留下来。" * 3 + "</p>"
APP = '<a href="https://app.example/get">'


CASES = [
    # China Digital Times, item 7 (zh-cdt in the real corpus): the aggregator's disclaimer and
    # the VPN download line after the article's last image, before the site's footer.
    gone(
        ZH + '<p><img src="https://i.example/a.jpg"></p>'
        "<p><small>本文由自动聚合程序取自网络，内容和观点不代表数字时代立场</small></p>"
        '<p>请点击<a href="http://pan.baidu.com/wap/link?uk=1">这里</a>下载翻墙软件：萤火虫代理。</p>'
        '<hr><p><small>© 你懂的 for <a href="https://cdt.example/">中国数字时代</a>, 2015.</small></p>',
        ZH + '<p><img src="https://i.example/a.jpg"></p>'
        '<hr><p><small>© 你懂的 for <a href="https://cdt.example/">中国数字时代</a>, 2015.</small></p>',
        "cdt-item-7",
    ),
    # WeChat republishing: the rights line at the end, and at the start.
    gone(
        ZH + "<section><span>图片来源于网络，如有侵权请联系删除</span></section>", ZH, "zh-takedown"
    ),
    gone("<p>免责声明：本文仅代表作者个人观点，与本站无关。</p>" + ZH, ZH, "zh-at-the-start"),
    gone(ZH + "<p>版权归原作者所有，转载请注明出处。</p>", ZH, "zh-rights"),
    # A notice's heading on its own line goes with it, at either edge; alone it stays.
    gone(
        ZH + "<p><strong>免责声明：</strong></p><p>本文仅代表作者个人观点，不代表本站立场。</p>",
        ZH,
        "zh-label-then-notice-at-the-end",
    ),
    gone(
        "<h4>Disclaimer</h4><p>The views expressed in this post are the author's own and do"
        " not reflect those of Example.</p>" + ARTICLE,
        "<h4>Disclaimer</h4>" + ARTICLE,
        "a-heading-is-no-label-line",
    ),
    gone(
        "<p>Disclaimer:</p><p>The views expressed in this post are the author's own and do"
        " not reflect those of Example.</p>" + ARTICLE,
        ARTICLE,
        "en-label-then-notice-at-the-start",
    ),
    keep(ZH + "<p><strong>免责声明：</strong></p>" + ZH, "zh-label-alone"),
    gone(ZH + "<p>本文內容僅代表作者個人觀點，不代表本站立場。</p>", ZH, "zh-traditional"),
    gone(ZH + "<p>本文不构成任何投资建议。</p>", ZH, "zh-not-advice"),
    gone(ZH + "<p>文章来源：网络</p>", ZH, "zh-from-the-web"),
    # The last <br> line of the last paragraph (paopao in the real corpus).
    gone(
        "<p>"
        + "正文的最后一段，讲完了文章要说的话。" * 3
        + "<br><br><em>本文中观点不代表本网立场</em></p>",
        "<p>" + "正文的最后一段，讲完了文章要说的话。" * 3 + "<br></p>",
        "zh-last-line",
    ),
    gone(
        "<p><em>免责声明：本文仅代表作者个人观点。</em><br>"
        + "正文第一段的内容，讲了很多事情。" * 3
        + "</p>"
        + ZH
        + ZH,
        "<p>" + "正文第一段的内容，讲了很多事情。" * 3 + "</p>" + ZH + ZH,
        "zh-first-line",
    ),
    # An item written as lines, no blocks (Blogger, Tumblr).
    gone(
        "The post's first line, which says a lot about the topic.<br>A second line of it, at"
        " length.<br><br>All rights reserved.",
        "The post's first line, which says a lot about the topic.<br>A second line of it, at"
        " length.<br>",
        "lines-item-last-line",
    ),
    gone(
        "本文观点不代表本站立场<br>" + "正文的内容在这里，讲了很多事情。" * 3,
        "正文的内容在这里，讲了很多事情。" * 3,
        "lines-item-first-line",
    ),
    keep("Roses are red,<br>rights are reserved,<br>and this poem is yours.", "lines-poem"),
    gone(
        ZH + ZH + '<p><small>作者：张三 | <a href="/p/1">永久链接</a><br>标签：新闻<br>'
        "版权归原作者所有，如有侵权请联系删除</small></p>",
        ZH + ZH + '<p><small>作者：张三 | <a href="/p/1">永久链接</a><br>标签：新闻</small></p>',
        "zh-footer-last-line",
    ),
    gone(
        ARTICLE + "<p><em>The views expressed in this article are those of the author and do"
        " not necessarily reflect the official position of Example Media.</em></p>",
        ARTICLE,
        "en-views",
    ),
    gone(ARTICLE + "<p>© 2024 Example News. All rights reserved.</p>", ARTICLE, "en-rights"),
    gone(
        ARTICLE + "<p>This material may not be published, broadcast, rewritten or"
        " redistributed.</p>",
        ARTICLE,
        "en-ap-notice",
    ),
    gone(
        ARTICLE + "<p>This post was automatically aggregated from its source feed.</p>",
        ARTICLE,
        "en-aggregated",
    ),
    gone(
        ARTICLE + "<p>Der Beitrag gibt nicht unbedingt die Meinung der Redaktion wieder.</p>",
        ARTICLE,
        "de-views",
    ),
    gone(ARTICLE + "<p>Tous droits réservés.</p>", ARTICLE, "fr-rights"),
    gone(
        ARTICLE + "<p>Las opiniones expresadas son responsabilidad exclusiva de sus autores.</p>",
        ARTICLE,
        "es-views",
    ),
    gone(ARTICLE + "<p>Todos os direitos reservados.</p>", ARTICLE, "pt-rights"),
    gone(
        ARTICLE + "<p>※記事の内容は筆者個人の見解であり、当社の公式見解ではありません。</p>",
        ARTICLE,
        "ja-views",
    ),
    gone(ARTICLE + "<p>無断転載を禁じます。</p>", ARTICLE, "ja-no-reprint"),
    gone(ARTICLE + "<p>Мнение автора может не совпадать с мнением редакции.</p>", ARTICLE, "ru"),
    gone(ARTICLE + "<p>무단 전재 및 재배포 금지</p>", ARTICLE, "ko-no-reprint"),
    # Download calls.
    gone(ZH + f"<p>下载{APP}澎湃新闻客户端</a>，阅读更多深度报道</p>", ZH, "zh-client"),
    gone(ARTICLE + f"<p>{APP}Download our app</a> for iOS and Android.</p>", ARTICLE, "en-app"),
    gone(ARTICLE + f"<p>Get the {APP}Example News app</a></p>", ARTICLE, "en-get-the-app"),
    gone(
        ARTICLE + f"<p>Click {APP}here</a> to download our free software.</p>",
        ARTICLE,
        "en-click-here",
    ),
    gone(ARTICLE + f"<p>{APP}公式アプリをダウンロード</a></p>", ARTICLE, "ja-app"),
    gone(ARTICLE + f"<p>Jetzt die {APP}App herunterladen</a>!</p>", ARTICLE, "de-app"),
    gone(ARTICLE + f"<p>Téléchargez {APP}notre application</a></p>", ARTICLE, "fr-app"),
    # Look-alikes that stay: an article about copyright, a notice's words in the middle,
    # a news sentence about someone's views, a review that says "click here to download".
    keep(
        "<p>版权归属之争：法院认定，这部小说的版权归原作者所有，出版社无权再版。</p>" + ZH,
        "zh-article-about-copyright",
    ),
    keep(ZH * 3 + "<p>本文观点不代表本站立场。</p>" + ZH * 3, "zh-notice-mid-item"),
    keep(
        ARTICLE + "<p>The views expressed by the minister do not represent the government, a"
        " spokesman said on Tuesday.</p>",
        "en-views-in-the-news",
    ),
    keep(ZH + "<p>但他强调，这并不代表公司的立场。</p>", "zh-views-in-the-news"),
    keep(
        ARTICLE + "<p>The ministry published its figures on Monday. The views expressed by"
        " the envoy do not represent the government, a spokesman said, and the talks will go"
        " on next week in Geneva as planned, with both delegations.</p>",
        "en-views-inside-a-news-paragraph",
    ),
    keep(
        ARTICLE + "<p>All rights reserved, says the label, and the lawyers mean it: the case"
        " turned on whether a reprint of the first edition needed a new licence, and the"
        " court found it did. The publisher said it would appeal the decision next month.</p>",
        "long-paragraph-with-the-phrase",
    ),
    keep(
        ZH + "<p>版权归原作者所有，这是网友们最常见的一句声明，但法院认为，仅仅写上这句话并不能"
        "免除转载者的责任。律师建议，转载前应当取得授权，并在文中注明出处和作者，否则仍可能"
        "承担侵权责任，赔偿金额从数千元到数万元不等。</p>",
        "zh-long-paragraph-with-the-phrase",
    ),
    keep(
        ARTICLE + "<p>The views expressed in this article do not reflect the board's, the"
        " chairman wrote in a letter that the paper obtained on Monday, and he asked the"
        " editors to print a correction. They refused, and the dispute went to court.</p>",
        "en-long-paragraph-with-views",
    ),
    keep(
        ARTICLE + "<blockquote><p>The views expressed in this article are the author's"
        " own.</p></blockquote>",
        "in-a-quote",
    ),
    keep(ARTICLE + "<pre><code># All rights reserved.\nprint('x')</code></pre>", "in-code"),
    keep(
        ARTICLE + "<table><tr><td>版权归原作者所有，如有侵权请联系删除</td></tr></table>",
        "in-a-table",
    ),
    keep(ARTICLE + "<ul><li>All rights reserved.</li></ul>", "in-a-list"),
    keep(
        ZH + '<p><em>本文转载自<a href="http://www.inmediahk.net/node/1">香港独立媒体</a>'
        "，不代表本网立场</em></p>",
        "a-linked-source-is-a-credit",
    ),
    keep(ZH + "<p>本文来源：新华日报，版权归原作者所有</p>", "zh-credit-first"),
    keep(ARTICLE + "<p>Reprinted with permission from Example Review.</p>", "reprinted"),
    keep(ZH + "<p>经作者授权，本文转载自博客“引力之虫”</p>", "zh-reprinted-with-permission"),
    keep(
        "<p>（本文节选于丁小云新书《就像没有明天那样去生活》） *转载此文请注明此出处</p>" + ZH,
        "zh-excerpt-credit-with-notice",
    ),
    keep("<p>本文观点不代表本站立场。</p>", "the-items-only-content"),
    keep(
        "<p>A short note.</p><p>The views expressed here are the author's own and not"
        " Example's.</p>",
        "more-than-half-the-item",
    ),
    keep(
        "<h2>Software review: the new editor</h2><p>It opens fast. Click "
        f"{APP}here</a> to download the app, then open a file.</p>" + ARTICLE + ARTICLE,
        "review-click-here-mid-item",
    ),
    keep(ARTICLE + f"<p>Click {APP}here</a> to download the full report (PDF).</p>", "report"),
    keep(ZH + f"<p>下载地址：{APP}百度网盘</a></p>", "zh-download-address"),
    keep(ZH + f"<p>下载软件：{APP}萤火虫代理</a></p>", "zh-label-and-link"),
    keep(ARTICLE + "<p>Download our app for iOS and Android.</p>", "call-without-a-link"),
    keep(
        f"<p>{APP}Download the software</a> from the official website, then install it.</p>"
        + ARTICLE,
        "how-to-step",
    ),
    keep(ARTICLE + f"<p>We {APP}downloaded the app</a> and it crashed twice.</p>", "past-tense"),
    keep(
        ARTICLE + f"<p>Download {APP}the app</a> and you will see why reviewers love it: it"
        " is quick, it is clean, it syncs everything and the price is right.</p>",
        "long-line-with-the-call",
    ),
]


@pytest.mark.parametrize(("before", "after"), CASES)
def test_edge_notices(before: str, after: str) -> None:
    assert cleaned_tree(before, ["evidence"]) == canon(after)


@pytest.mark.parametrize(("before", "after"), CASES)
def test_edge_notices_with_every_pack(before: str, after: str) -> None:
    text = "".join(parse_fragment(after).itertext()).split()
    assert "".join(parse_fragment(cleaned_tree(before)).itertext()).split() == text


def test_each_removal_is_attributed_to_its_rule() -> None:
    cleaned = clean(ZH + "<p>本文观点不代表本站立场。</p>" + f"<p>{APP}下载我们的客户端</a></p>")
    assert [(r.rule, r.text) for r in cleaned.removals] == [
        ("evidence.disclaimers", "本文观点不代表本站立场。"),
        ("evidence.download_prompts", "下载我们的客户端"),
    ]


def test_a_line_taken_is_one_removal_with_its_text() -> None:
    cleaned = clean(
        "<p>"
        + "正文的最后一段，讲完了文章要说的话。" * 3
        + "<br><em>文中观点不代表本网立场</em></p>"
    )
    assert [(r.rule, r.text, r.count) for r in cleaned.removals] == [
        ("evidence.disclaimers", "文中观点不代表本网立场", 1)
    ]


@pytest.mark.parametrize(
    ("text", "notice"),
    [
        ("本文由自动聚合程序取自网络，内容和观点不代表数字时代立场", True),
        ("该文章仅代表作者立场，不代表本网站立场。", True),
        ("本文由极客公园 GeekPark 原创发布，转载请添加极客君微信 geekparker。", True),
        ("如需转载请联系后台。", True),
        ("The opinions expressed on this site are solely those of the author.", True),
        (
            "The views expressed in this article are those of the author, and do not"
            " necessarily reflect those of Example Media.",
            True,
        ),
        (
            "The views and opinions expressed in this article are those of the authors and do"
            " not necessarily reflect the official policy or position of any agency of the U.S."
            " government.",
            True,
        ),
        ("Alle Rechte vorbehalten.", True),
        ("Tutti i diritti riservati.", True),
        ("这并不代表公司的立场。", False),
        ("His views do not necessarily reflect those of the party.", False),
        (
            "The opinions in the survey do not reflect the nation as a whole, the authors warn.",
            False,
        ),
        ("The views expressed are the author's own and not Example's.", True),
        ("Opinions expressed by contributors are their own.", False),  # (no negation)
        ("本文转载自香港独立媒体", False),
        ("图片来源：视觉中国", False),
        ("责任编辑：宋德胜", False),
        ("Reprinted with permission.", False),
        ("This article was originally published on Example.", False),
        ("© Jane Doe", False),
    ],
)
def test_what_a_notice_says(text: str, notice: bool) -> None:
    assert is_notice(text) is notice


@pytest.mark.parametrize(
    ("text", "call"),
    [
        ("请点击这里下载翻墙软件：萤火虫代理。", True),
        ("立即下载APP，领取红包", True),
        ("Download the Example app", True),
        ("Please install our browser extension", True),
        ("Klicken Sie hier, um die App herunterzuladen", True),
        ("Descarga nuestra app", True),
        ("Baixe o aplicativo", True),
        ("アプリのダウンロードはこちら", True),
        ("ダウンロードはこちら", False),  # (no software named: a post's own file)
        ("앱 다운로드", True),
        ("Download the full report", False),
        ("下载地址：百度网盘", False),
        ("Get 20% off today", False),
        ("The app is a download away", False),
        ("Click here to read more", False),
    ],
)
def test_what_a_download_call_says(text: str, call: bool) -> None:
    assert is_download_call(text) is call
