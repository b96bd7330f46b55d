"""The packs for platforms and widgets beyond the first ones: wechat, yoast, networks, tweets,
blogger, ghost, and the repairs escaped and cloudflare. A before→after table per pack, each
with the look-alikes that must stay, run through every default pack and the sanitiser."""

from __future__ import annotations

import pytest

from proxy.clean import clean
from proxy.clean.packs.cloudflare import decode_cfemail
from proxy.clean.packs.escaped import is_escaped_markup
from proxy.clean.packs.yoast import FOOTERS, YOAST_FOOTERS

ARTICLE = "<p>The article's own paragraph, which every case keeps as it is.</p>"


# (id, input, text that must be gone, text that must stay, rule that fired or None)
Case = tuple[str, str, tuple[str, ...], tuple[str, ...], str | None]

WECHAT: list[Case] = [
    (
        "follow-prompt-at-start",
        "<p>点击上方蓝字关注我们</p>" + ARTICLE,
        ("蓝字",),
        ("own paragraph",),
        "wechat.prompts",
    ),
    (
        "star-prompt",
        "<p>▲点击上方“科技日报”，选择“设为星标”</p>" + ARTICLE,
        ("星标",),
        (),
        "wechat.prompts",
    ),
    (
        "qr-code-and-prompt-at-end",
        ARTICLE + '<p><img src="https://mmbiz.qpic.cn/qr.jpg"></p><p>长按识别二维码关注</p>',
        ("二维码", "qr.jpg"),
        ("own paragraph",),
        "wechat.prompts",
    ),
    ("zaikan-prompt", ARTICLE + "<p>觉得不错，点个在看吧</p>", ("在看",), (), "wechat.prompts"),
    (
        "recommended-list",
        ARTICLE
        + '<p>往期推荐</p><p><a href="https://mp.weixin.qq.com/s/1">上一篇文章的标题</a></p>'
        '<p><a href="https://mp.weixin.qq.com/s/2">再上一篇的标题</a></p>',
        ("往期推荐", "上一篇文章"),
        ("own paragraph",),
        None,  # evidence.related_lists (tests/test_clean_evidence.py): not WeChat's alone
    ),
    (
        "ad-slot",
        ARTICLE
        + '<p>广告</p><p><img src="https://mmbiz.qpic.cn/ad.jpg"></p><p>正文继续的一段很长的内容。</p>',
        ("ad.jpg",),
        ("正文继续",),
        "wechat.ad_slots",
    ),
    (
        "mini-program-card",
        ARTICLE + '<mp-miniprogram data-miniprogram-appid="wx1" data-miniprogram-title="小程序">'
        "</mp-miniprogram>",
        ("小程序",),
        ("own paragraph",),
        "wechat.cards",
    ),
    # Look-alikes: the same words inside the article, and a list that is the article's own.
    (
        "sentence-about-following-stays",
        ARTICLE
        + "<p>他在会上说，我们要点击上方的按钮才能看到完整的数据，这一点在报告里写得很清楚，"
        "而且后面还有很长的一段分析，讨论了为什么这个设计会让用户感到困惑。</p>",
        (),
        ("点击上方的按钮",),
        None,
    ),
    (
        "follow-us-in-a-sentence-stays",
        "<p>关注我们的读者都知道，这个问题已经讨论了很多年。</p>" + ARTICLE,
        (),
        ("关注我们的读者",),
        None,
    ),
    (
        "recommended-label-mid-article-stays",
        "<p>推荐阅读</p>"
        + ARTICLE
        + "<p>第二段正文，写得很长很长，不是链接，是文章本身的内容。</p>",
        (),
        ("推荐阅读", "第二段正文"),
        None,
    ),
    (
        "list-with-prose-after-the-label-stays",
        ARTICLE + "<p>相关阅读</p><p>这一段是作者自己写的总结，里面有一个"
        '<a href="https://example.org">链接</a>，但大部分是文字，不是标题列表。</p>',
        (),
        ("相关阅读", "作者自己写的总结"),
        None,
    ),
]

YOAST: list[Case] = [
    (
        "dutch",
        ARTICLE + '<p>Het bericht <a href="https://b.nl/x">Mijn titel</a> verscheen eerst op '
        '<a href="https://b.nl">Mijn Blog</a>.</p>',
        ("verscheen eerst",),
        ("own paragraph",),
        "yoast.appeared_first_on",
    ),
    (
        "portuguese",
        ARTICLE + '<p>O post <a href="https://b.br/x">Título</a> apareceu primeiro em '
        '<a href="https://b.br">Blog</a>.</p>',
        ("apareceu primeiro",),
        (),
        "yoast.appeared_first_on",
    ),
    (
        "italian",
        ARTICLE + '<p>L\'articolo <a href="https://b.it/x">Titolo</a> proviene da '
        '<a href="https://b.it">Blog</a>.</p>',
        ("proviene da",),
        (),
        "yoast.appeared_first_on",
    ),
    (
        "russian",
        ARTICLE + '<p>Сообщение <a href="https://b.ru/x">Заголовок</a> появились сначала на '
        '<a href="https://b.ru">Блог</a>.</p>',
        ("появились сначала",),
        (),
        "yoast.appeared_first_on",
    ),
    (
        "japanese",
        ARTICLE + '<p>投稿 <a href="https://b.jp/x">題名</a> は <a href="https://b.jp">ブログ</a> '
        "に最初に表示されました。</p>",
        ("最初に表示",),
        (),
        "yoast.appeared_first_on",
    ),
    (
        "turkish-site-first",
        ARTICLE + '<p><a href="https://b.tr/x">Başlık</a> ilk önce <a href="https://b.tr">Blog</a>'
        " üzerinde ortaya çıktı.</p>",
        ("ortaya çıktı",),
        (),
        "yoast.appeared_first_on",
    ),
    (
        "chinese",
        ARTICLE
        + '<p><a href="https://b.cn/x">标题</a>首先出现在<a href="https://b.cn">博客</a>上。</p>',
        ("首先出现在",),
        (),
        "yoast.appeared_first_on",
    ),
    # Look-alikes: the wording quoted in a sentence, or with other words around it.
    (
        "quoted-in-a-sentence-stays",
        '<p>Yoast writes "Het bericht <a href="https://a">X</a> verscheen eerst op '
        '<a href="https://b">Y</a>." under every post, which annoys readers.</p>',
        (),
        ("annoys readers",),
        None,
    ),
    (
        "no-links-stays",
        "<p>Het bericht Mijn titel verscheen eerst op Mijn Blog.</p>",
        (),
        ("verscheen eerst",),
        None,
    ),
]

NETWORKS: list[Case] = [
    (
        "hatena-button",
        ARTICLE + '<p><a href="https://b.hatena.ne.jp/entry/https://a.jp/x" '
        'class="hatena-bookmark-button"><img src="https://b.st-hatena.com/images/entry-button/'
        'button-only.gif"></a></p>',
        ("hatena",),
        ("own paragraph",),
        "networks.share_links",
    ),
    (
        "google-plus",
        ARTICLE + '<p><a href="https://plus.google.com/share?url=https://a/x">Google+</a></p>',
        ("Google+",),
        (),
        "networks.share_links",
    ),
    (
        "pocket",
        ARTICLE + '<p><a href="https://getpocket.com/save?url=https://a/x">Save to Pocket</a></p>',
        ("Pocket",),
        (),
        "networks.share_links",
    ),
    (
        "blogmura-banner",
        ARTICLE + '<p><a href="https://blog.blogmura.com/ranking/in?p_cid=1">'
        '<img src="https://b.blogmura.com/banner.gif" alt="にほんブログ村"></a></p>',
        ("blogmura",),
        (),
        "networks.ranking_banners",
    ),
    (
        "with2-ranking-label",
        ARTICLE + '<p><a href="https://blog.with2.net/link/?id=123">人気ブログランキング</a></p>',
        ("人気ブログランキング",),
        (),
        "networks.ranking_banners",
    ),
    (
        "tencent-weibo",
        ARTICLE + '<p><a href="http://share.v.t.qq.com/index.php?c=share&a=index&url=x">腾讯微博</a>'
        "</p>",
        ("腾讯微博",),
        (),
        "networks.share_links",
    ),
    (
        "sina-weibo-old-endpoint",
        ARTICLE + '<p><a href="http://v.t.sina.com.cn/share/share.php?url=x">新浪微博</a></p>',
        ("新浪微博",),
        (),
        "networks.share_links",
    ),
    (
        "pinterest-find",
        ARTICLE + '<p><a href="https://www.pinterest.com/pin/find/?url=x">Pin it</a></p>',
        ("Pin it",),
        (),
        "networks.share_links",
    ),
    # Look-alikes: a Hatena bookmark page linked in prose, a Pocket article linked as a source.
    (
        "hatena-page-in-prose-stays",
        '<p>See the <a href="https://b.hatena.ne.jp/entry/s/a.jp/x">Hatena comments</a> on it.</p>',
        (),
        ("Hatena comments",),
        None,
    ),
    (
        "pocket-blog-post-stays",
        '<p>As <a href="https://getpocket.com/explore/item/why">Pocket explained</a>, it works.</p>',
        (),
        ("Pocket explained",),
        None,
    ),
]

TWEETS: list[Case] = [
    (
        "action-links",
        '<blockquote class="twitter-tweet"><p>Tweet text stays.</p>&mdash; Ann (@ann) '
        '<a href="https://twitter.com/ann/status/1">June 1</a>'
        '<a href="https://twitter.com/intent/tweet?in_reply_to=1">Reply</a>'
        '<a href="https://twitter.com/intent/retweet?tweet_id=1">Retweet</a>'
        '<a href="https://twitter.com/intent/favorite?tweet_id=1">Favorite</a></blockquote>',
        ("Reply", "Retweet", "Favorite"),
        ("Tweet text stays.", "twitter.com/ann/status/1", "June 1"),
        "tweets.action_chrome",
    ),
    (
        "follow-button",
        '<p><a href="https://twitter.com/ann" class="twitter-follow-button">Follow @ann</a></p>'
        + ARTICLE,
        ("Follow @ann",),
        (),
        "tweets.action_chrome",
    ),
    # Look-alikes: a quoted tweet with only its status link, and "follow" in prose.
    (
        "quoted-tweet-stays",
        '<blockquote class="twitter-tweet"><p>Reply to this, Retweet that.</p>&mdash; Bo '
        '<a href="https://x.com/bo/status/2">May 2</a></blockquote>',
        (),
        ("Reply to this, Retweet that.", "x.com/bo/status/2"),
        None,
    ),
    (
        "follow-link-in-prose-stays",
        '<p>You can <a href="https://twitter.com/ann">follow Ann</a> for more.</p>',
        (),
        ("follow Ann",),
        None,
    ),
]

BLOGGER_GHOST: list[Case] = [
    (
        "blogger-post-footer",
        ARTICLE + '<div class="blogger-post-footer">Annons: https://track.example/t?a=1</div>',
        ("Annons",),
        ("own paragraph",),
        "blogger.post_footer",
    ),
    (
        "blogger-share-bar",
        ARTICLE + '<div class="post-share-buttons"><a class="share-button sb-email" '
        'href="https://www.blogger.com/share-post.g?blogID=1&postID=2&target=email">Email This</a>'
        "</div>",
        ("Email This",),
        (),
        "blogger.share_bar",
    ),
    (
        "ghost-signup-card",
        ARTICLE + '<div class="kg-card kg-signup-card"><h2>Sign up</h2><p>No spam.</p></div>',
        ("Sign up", "No spam"),
        ("own paragraph",),
        "ghost.signup_cards",
    ),
    (
        "ghost-portal-button",
        ARTICLE + '<p><a href="#/portal/signup" data-portal="signup">Subscribe</a></p>',
        ("Subscribe",),
        (),
        "ghost.portal_links",
    ),
    # Look-alikes: Ghost's content cards and a blog post about Blogger's footer.
    (
        "ghost-bookmark-card-stays",
        '<figure class="kg-card kg-bookmark-card"><a href="https://a/x">'
        '<div class="kg-bookmark-title">A linked article</div></a></figure>',
        (),
        ("A linked article",),
        None,
    ),
    (
        "sentence-about-blogger-post-footer-stays",
        "<p>Blogger's post footer setting adds a line to every feed item.</p>",
        (),
        ("post footer setting",),
        None,
    ),
]

REPAIRS: list[Case] = [
    (
        "double-escaped-item",
        "&lt;p&gt;First paragraph.&lt;/p&gt;&lt;p&gt;Second &lt;b&gt;bold&lt;/b&gt;.&lt;/p&gt;",
        ("&lt;p&gt;",),
        ("<p>First paragraph.</p>", "<b>bold</b>"),
        "escaped.double_escaped",
    ),
    (
        "article-about-html-stays",
        "<p>Use the &lt;p&gt; tag for paragraphs and &lt;br&gt; for breaks.</p>",
        (),
        ("&lt;p&gt; tag",),
        None,
    ),
    (
        "text-only-item-with-a-tag-name-stays",
        "Write &lt;b&gt;bold&lt;/b&gt; like this, then the rest of the sentence as text.",
        (),
        ("&lt;b&gt;bold&lt;/b&gt;",),
        None,
    ),
    (
        "cloudflare-link",
        '<p>Mail <a href="/cdn-cgi/l/email-protection#1c7d5c79647d716c7079327f7371">'
        "[email&#160;protected]</a> today.</p>",
        ("email-protection", "protected"),
        ('href="mailto:a@example.com"', ">a@example.com</a>", "today"),
        "cloudflare.email_protection",
    ),
    (
        "cloudflare-span",
        '<p>Write to <span class="__cf_email__" data-cfemail="1c7d5c79647d716c7079327f7371">'
        "[email&#160;protected]</span> please.</p>",
        ("protected", "cfemail"),
        ("Write to a@example.com please.",),
        "cloudflare.email_protection",
    ),
    (
        "cloudflare-bad-hex-stays",
        '<p><a href="/cdn-cgi/l/email-protection#zz">[email protected]</a></p>',
        (),
        ("[email protected]",),
        None,
    ),
]


ALL = WECHAT + YOAST + NETWORKS + TWEETS + BLOGGER_GHOST + REPAIRS


@pytest.mark.parametrize(
    ("html", "gone", "kept", "rule"), [c[1:] for c in ALL], ids=[c[0] for c in ALL]
)
def test_before_after(
    html: str, gone: tuple[str, ...], kept: tuple[str, ...], rule: str | None
) -> None:
    cleaned = clean(html)
    assert cleaned.failed is None
    for text in gone:
        assert text not in cleaned.html, text
    for text in kept:
        assert text in cleaned.html, text
    new_packs = {
        "wechat",
        "yoast",
        "networks",
        "tweets",
        "blogger",
        "ghost",
        "escaped",
        "cloudflare",
    }
    fired = {r.rule for r in cleaned.removals} | {c.rule for c in cleaned.links}
    fired = {name for name in fired if name.split(".")[0] in new_packs}
    assert fired == ({rule} if rule else set())


def test_every_yoast_template_has_both_placeholders_once() -> None:
    for locale, template in YOAST_FOOTERS:
        assert template.count("%1$s") == 1 and template.count("%2$s") == 1, locale
    assert len(FOOTERS) == len(YOAST_FOOTERS) >= 60


@pytest.mark.parametrize(
    ("locale", "template"),
    YOAST_FOOTERS,
    ids=[f"{loc}-{i}" for i, (loc, _) in enumerate(YOAST_FOOTERS)],
)
def test_every_yoast_template_is_removed_with_its_links(locale: str, template: str) -> None:
    footer = template.replace("%1$s", '<a href="https://b.test/p">Post Title</a>').replace(
        "%2$s", '<a href="https://b.test/">The Blog</a>'
    )
    cleaned = clean(ARTICLE + f"<p>{footer}</p>")
    assert "Post Title" not in cleaned.html and "The Blog" not in cleaned.html, locale
    assert "own paragraph" in cleaned.html


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("1c7d5c79647d716c7079327f7371", "a@example.com"),
        ("zz", None),
        ("1c", None),
        ("1c7d7d7d", None),  # no "@"
    ],
)
def test_decode_cfemail(value: str, address: str | None) -> None:
    assert decode_cfemail(value) == address


def test_escaped_markup_needs_tags_at_both_ends() -> None:
    assert is_escaped_markup("<p>a</p><p>b</p>")
    assert not is_escaped_markup("Use <p> and </p> in your text")
    assert not is_escaped_markup("<p>")
    assert not is_escaped_markup("<" * 10_000 + ">")


LOOK_ALIKES = {
    "article-about-advertising": "<p>Sponsored posts are everywhere: this article is about "
    "advertising, and says sponsored, 广告 and Anzeige in its sentences.</p>",
    "quoted-tweet": '<blockquote class="twitter-tweet"><p>Follow the money.</p>&mdash; A '
    '(@a) <a href="https://twitter.com/a/status/9">Jan 1</a></blockquote>',
    "youtube-embed": '<p><iframe src="https://www.youtube.com/embed/xyz"></iframe></p>',
    "table-with-empty-cells": "<table><tr><td>1</td><td></td></tr><tr><td></td><td>2</td></tr>"
    "</table>",
    "poem": "<p>点击上方的星星，<br>它就亮了。<br>推荐阅读这首诗。</p>",
    "highlighted-code": '<pre><code><span class="k">def</span><span> </span>f():\n\t'
    '<span class="n">return</span> 1</code></pre>',
    "figure": '<figure><img src="https://a.test/x.jpg"><figcaption>长按识别二维码 is the '
    "caption of a photo of a QR code on a poster in Shanghai.</figcaption></figure>",
    "footnotes": '<p>Text<sup><a href="#fn1" id="r1">1</a></sup>.</p><ol class="footnotes">'
    '<li id="fn1">The note. <a href="#r1">↩</a></li></ol>',
    "comic": '<p><img src="https://comic.test/strip-42.png" alt="strip"></p>',
    "emoji": '<p>Fun <img class="emoji" src="https://s.w.org/images/core/emoji/72x72/1f609.png"'
    ' style="height: 1em"> day.</p>',
}
NEW_PACKS = {
    "wechat",
    "yoast",
    "networks",
    "tweets",
    "blogger",
    "ghost",
    "escaped",
    "cloudflare",
    "auto",
}


@pytest.mark.parametrize("html", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_look_alikes_are_left_to_the_older_packs(html: str) -> None:
    """None of the new packs touches what only looks like their junk."""
    cleaned = clean(html)
    fired = {r.rule for r in cleaned.removals} | {c.rule for c in cleaned.links}
    assert not {name for name in fired if name.split(".")[0] in NEW_PACKS}
