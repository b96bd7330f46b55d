"""The `blogger` pack: what Blogger (blogspot) adds to every item. Part of the clean stage;
does no I/O.

Blogger appends the blog's "post footer" setting (ads, tracking links, "Annons:" lines) in a
`<div class="blogger-post-footer">` that only the feed carries, and its share bar links to
blogger.com's share-post.g / email-post.g endpoints. The article itself has neither.
"""

from __future__ import annotations

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean.nodes import class_tokens
from proxy.clean.packs.common import URLRules, drop_all, links_to, url_matches
from proxy.clean.registry import Needs, declare_pack, item_rule

PACK = declare_pack(
    "blogger",
    "Blogger's feed-only post footer (blogger-post-footer) and its share-post.g /"
    " email-post.g share bar",
)

BLOGGER_FOOTER_CLASSES = frozenset({"blogger-post-footer"})
BLOGGER_SHARE_CLASSES = frozenset({"post-share-buttons", "share-button", "sb-email", "sb-blog"})
BLOGGER_SHARE_LINKS: URLRules = {
    "blogger.com": ("/share-post.g", "/email-post.g"),
    "www.blogger.com": ("/share-post.g", "/email-post.g"),
}
_CLASSED = etree.XPath(
    "descendant::*/@class[contains(., 'blogger-post-footer') or contains(., 'share-button')"
    " or contains(., 'sb-email') or contains(., 'sb-blog')]/.."
)


# (Needs, here and below: the runner's prefilter asks the item's hints what these rules
# asked themselves, with the markers encoded once and without calling the rule.)
# (Needs: the one class token it removes.)
@item_rule(PACK, "post_footer", needs=Needs(markup=("blogger-post-footer",)))
def remove_blogger_footer(root: HtmlElement) -> None:
    """Blogger's post footer is the blog's feed-wide ad slot, not part of the article."""
    drop_all(
        root,
        [n for n in _CLASSED(root) if BLOGGER_FOOTER_CLASSES.intersection(class_tokens(n))],
    )


# (Needs: both link paths, and every class of BLOGGER_SHARE_CLASSES holds one of the others.)
@item_rule(
    PACK,
    "share_bar",
    needs=Needs(markup=("share-post.g", "email-post.g", "share-button", "sb-")),
)
def remove_blogger_share(root: HtmlElement) -> None:
    """Blogger's share bar (share-post.g / email-post.g links) is buttons, not content."""
    found = [
        n
        for n in _CLASSED(root)
        if BLOGGER_SHARE_CLASSES.intersection(class_tokens(n))
        and all(url_matches(a.get("href"), BLOGGER_SHARE_LINKS) for a in n.iter("a"))
    ]
    found += links_to(root, BLOGGER_SHARE_LINKS)
    drop_all(root, found)
