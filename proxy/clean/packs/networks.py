"""The `networks` pack: share and vote buttons of the networks the `share` pack does not know,
and blog-ranking banners. Part of the clean stage; does no I/O.

As in `share`, only the URL decides: a link to `b.hatena.ne.jp/entry/…` with a button image,
`getpocket.com/save`, `plus.google.com/share` is a button; a link to someone's Pinterest
board or Reddit thread is content. Ranking sites (blogmura, with2.net, FC2 ranking) are
link-back banners: a link to them that is an image, or a short label, goes; a sentence that
mentions them with a link keeps it.
"""

from __future__ import annotations

from lxml.html import HtmlElement

from proxy.clean.nodes import has_media, short_text
from proxy.clean.packs.common import URLRules, drop_all, images_from, url_matches
from proxy.clean.registry import Needs, declare_pack, item_rule

PACK = declare_pack(
    "networks",
    "share buttons of other networks (Google+, Hatena, Pocket, Flipboard, Buffer, Xing,"
    " Bluesky, Threads, Odnoklassniki, Douban, Renren, Evernote, Digg…) and blog-ranking"
    " banners (blogmura, with2.net, FC2 ranking)",
)

# Share endpoints, by domain (sorted); see urls.path_matches for the prefix syntax.
SHARE_ENDPOINTS: URLRules = {
    "b.hatena.ne.jp": ("/add", "/entry/add", "/bookmarklet*"),
    "bsky.app": ("/intent/compose",),
    "buffer.com": ("/add",),
    "bufferapp.com": ("/add",),
    "connect.ok.ru": ("/offer", "/dk"),
    "del.icio.us": ("/post",),
    "delicious.com": ("/save", "/post"),
    "digg.com": ("/submit", "/tools/diggthis"),
    "douban.com": ("/share/service", "/recommend"),
    "evernote.com": ("/clip.action",),
    "getpocket.com": ("/save", "/edit"),
    "instapaper.com": ("/hello2", "/edit"),
    "mastodonshare.com": ("/",),
    "mewe.com": ("/share",),
    "mix.com": ("/add",),
    "odnoklassniki.ru": ("/dk",),
    "pinterest.com": ("/pin/find",),
    "plus.google.com": ("/share", "/+1/share"),
    "share.flipboard.com": ("/bookmarklet",),
    "share.naver.com": ("/web/shareView",),
    "share.renren.com": ("/share",),
    "share.v.t.qq.com": ("/index.php",),
    "story.kakao.com": ("/share",),
    "stumbleupon.com": ("/submit",),
    "threads.net": ("/intent/post",),
    "timeline.line.me": ("/social-plugin/share",),  # (the rest of LINE is in `share`)
    "toot.kytta.dev": ("/",),
    "v.t.sina.com.cn": ("/share/share.php",),
    "widget.renren.com": ("/dialog/share",),
    "widgets.getpocket.com": ("/",),
    "xing.com": ("/spi/shares", "/social/share"),
}
# Hatena's bookmark counter: an image or script button linking to /entry/<url>.
HATENA_BUTTON_HOSTS: URLRules = {"b.hatena.ne.jp": ("/entry",)}
# Blog-ranking sites: every link to them is a ranking banner or vote button.
RANKING_SITES: URLRules = {
    "blogmura.com": ("/",),
    "with2.net": ("/",),
    "blogranking.fc2.com": ("/",),
    "ranking.fc2.com": ("/",),
    "blog-ranking.net": ("/",),
    "blogranking.net": ("/",),
    "dendou.jp": ("/",),
    "ninkiblog.com": ("/",),
}
RANKING_IMAGES: URLRules = {
    "b.blogmura.com": ("/",),
    "blog.with2.net": ("/img",),
    "image.with2.net": ("/",),
    "static.fc2.com": ("/image/ranking*",),
    "b.st-hatena.com": ("/images/entry-button", "/images/v4/public/entry-button"),
}
LABEL_CHARS = 40  # a banner's or button's own text ("にほんブログ村", "Save to Pocket")


def _is_button(a: HtmlElement) -> bool:
    return has_media(a) or short_text(a, LABEL_CHARS) is not None


@item_rule(
    PACK, "share_links", needs=Needs(hosts=(*SHARE_ENDPOINTS, *HATENA_BUTTON_HOSTS))
)  # (url_matches, on these domains only)
def remove_network_share_links(root: HtmlElement) -> None:
    """Links to other networks' share dialogs are buttons, not content."""
    drop_all(
        root,
        [
            a
            for a in root.iter("a")
            if url_matches(a.get("href"), SHARE_ENDPOINTS)
            or (
                url_matches(a.get("href"), HATENA_BUTTON_HOSTS)
                and (has_media(a) or "hatena-bookmark-button" in (a.get("class") or ""))
            )
        ],
    )


@item_rule(
    PACK, "ranking_banners", needs=Needs(hosts=(*RANKING_SITES, *RANKING_IMAGES))
)  # (url_matches, on these domains only)
def remove_ranking_banners(root: HtmlElement) -> None:
    """Blog-ranking banners and vote buttons advertise the ranking site."""
    found = [
        a for a in root.iter("a") if url_matches(a.get("href"), RANKING_SITES) and _is_button(a)
    ]
    found += images_from(root, RANKING_IMAGES)
    drop_all(root, found)
