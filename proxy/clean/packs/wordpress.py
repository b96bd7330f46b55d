"""The `wordpress` pack: what WordPress and its plugins add to every item. Does no I/O."""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean.nodes import (
    class_tokens,
)
from proxy.clean.packs.common import (
    URLRules,
    drop_all,
    footer_paragraphs,
    images_from,
    links_to,
)
from proxy.clean.registry import Needs, declare_pack, item_rule

PACK = declare_pack(
    "wordpress",
    '"The post … appeared first on …", Jetpack sharedaddy/related posts/post'
    " flair, AddToAny, YARPP, WordPress.com share links and stats pixel",
)


# Yoast SEO's RSS footer ("The post %%POSTLINK%% appeared first on %%BLOGLINK%%.") and the
# wordings of other footer plugins and translations.
# {post} and {site} are the texts of the paragraph's first and last links; the final "." is
# optional (see common.footer_paragraphs).
WORDPRESS_FOOTERS = (
    "The post {post} appeared first on {site}.",
    "The post {post} first appeared on {site}.",
    "Der Beitrag {post} erschien zuerst auf {site}.",
    "L’article {post} est apparu en premier sur {site}.",
    "L'article {post} est apparu en premier sur {site}.",
    "La entrada {post} se publicó primero en {site}.",
)
_WORDPRESS_FOOTER_START = re.compile(r"\A\s*(?:The post|Der Beitrag|L[’']article|La entrada)\s")

# Blocks that plugins append (whole class names): Jetpack sharing and likes (`sharedaddy`),
# Jetpack related posts and post flair, AddToAny, YARPP, Contextual Related Posts, Related
# Posts for WordPress. An author's own "related posts" list has none of these names.
WORDPRESS_WIDGET_CLASS = re.compile(
    r"""\A(?:sharedaddy | jp-relatedposts | jp-post-flair
      | a2a_kit | addtoany_share_save_container | addtoany_list
      | yarpp-related(?:-rss|-widget|-shortcode)? | crp_related | rp4wp-related-posts)\Z""",
    re.VERBOSE,
)
WORDPRESS_WIDGET_IDS = frozenset({"jp-post-flair", "jp-relatedposts"})
_WORDPRESS_WIDGETS = etree.XPath(
    "descendant::*/@class[contains(., 'sharedaddy') or contains(., 'jp-') or contains(., 'a2a_')"
    " or contains(., 'addtoany_') or contains(., 'yarpp-related') or contains(., 'crp_related')"
    " or contains(., 'rp4wp')]/.."
    " | descendant::*/@id[. = 'jp-post-flair' or . = 'jp-relatedposts']/.."
)
# WordPress.com's share redirectors (empty links to feeds.wordpress.com/1.0/gofacebook/…,
# …/gocomments/… with a comment-count image) and its stats pixel.
WORDPRESS_LINKS: URLRules = {"feeds.wordpress.com": ("/1.0/go*",)}
WORDPRESS_IMAGES: URLRules = {
    "pixel.wp.com": ("/",),
    "stats.wordpress.com": ("/",),
    "feeds.wordpress.com": ("/1.0/comments",),
}


def is_wordpress_widget(node: HtmlElement) -> bool:
    return node.get("id") in WORDPRESS_WIDGET_IDS or any(
        WORDPRESS_WIDGET_CLASS.fullmatch(token) for token in class_tokens(node)
    )


@item_rule(PACK, "plugin_blocks")
def remove_wordpress_widgets(root: HtmlElement) -> None:
    """Blocks WordPress plugins append: share buttons, likes, related posts, post flair.

    Jetpack sharing, likes, related posts and post flair, AddToAny, YARPP and other
    related-posts plugins: buttons and teasers, not the article.
    """
    drop_all(root, [node for node in _WORDPRESS_WIDGETS(root) if is_wordpress_widget(node)])


# (Needs: _WORDPRESS_FOOTER_START must match a paragraph's leading text, one .text, and
# each of its openings holds one of these words.)
@item_rule(PACK, "appeared_first_on", needs=Needs(text=("post", "Beitrag", "article", "entrada")))
def remove_wordpress_footer(root: HtmlElement) -> None:
    """The "The post … appeared first on …" footer advertises the blog the item came from."""
    drop_all(root, footer_paragraphs(root, _WORDPRESS_FOOTER_START, WORDPRESS_FOOTERS))


@item_rule(PACK, "share_links", needs=Needs(hosts=tuple(WORDPRESS_LINKS)))  # (url_matches)
def remove_wordpress_share_links(root: HtmlElement) -> None:
    """WordPress.com's share redirectors (feeds.wordpress.com/1.0/go…) are buttons."""
    drop_all(root, links_to(root, WORDPRESS_LINKS))


@item_rule(PACK, "stats_pixel", needs=Needs(hosts=tuple(WORDPRESS_IMAGES)))  # (url_matches)
def remove_wordpress_pixel(root: HtmlElement) -> None:
    """WordPress.com's stats and comment-count images only report the view."""
    drop_all(root, images_from(root, WORDPRESS_IMAGES))
