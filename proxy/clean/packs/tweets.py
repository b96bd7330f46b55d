"""The `tweets` pack: the action chrome of embedded tweets. Part of the clean stage; does no
I/O.

Rendered tweet embeds (Blackbird Pie, plugin-made cards, Twitter's own widget markup) carry
Reply / Retweet / Favorite / Like buttons and a "Follow @name" button: links to twitter.com's
(or x.com's) intent endpoints and `twitter-follow-button`s. The tweet's text, its author's
name and handle and its status link (the date) are the quote, and stay.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from proxy.clean.nodes import class_tokens, short_text
from proxy.clean.packs.common import URLRules, drop_all, url_matches
from proxy.clean.registry import Needs, declare_pack, item_rule
from proxy.clean.urls import split_url

PACK = declare_pack(
    "tweets",
    "embedded tweets' Reply / Retweet / Favorite / Like / Follow buttons (intent links,"
    " twitter-follow-button); the tweet's text and link stay",
)

TWEET_ACTIONS: URLRules = {
    domain: ("/intent/retweet", "/intent/favorite", "/intent/like", "/intent/follow")
    for domain in ("twitter.com", "x.com")
}
# "Follow @name" (or just "Follow") on a button that links to the profile.
_FOLLOW = re.compile(r"follow(?:\s+@\w{1,30})?", re.IGNORECASE)
FOLLOW_CLASSES = frozenset({"twitter-follow-button", "twitter-follow"})


def _is_reply(href: str | None) -> bool:
    parts = split_url(href)
    return (
        parts is not None
        and url_matches(href, {"twitter.com": ("/intent/tweet",), "x.com": ("/intent/tweet",)})
        and "in_reply_to=" in parts.query
    )


def _is_follow_button(a: HtmlElement) -> bool:
    if not FOLLOW_CLASSES.intersection(class_tokens(a)):
        return False
    text = short_text(a, 40)
    return text is not None and bool(_FOLLOW.fullmatch(" ".join(text.split())))


# (Needs: what the rule asked the item's hints itself, asked by the runner with the markers
# encoded once: both hosts of its links, and the follow buttons' class.)
@item_rule(PACK, "action_chrome", needs=Needs(markup=("twitter.com", "x.com", "twitter-follow")))
def remove_tweet_actions(root: HtmlElement) -> None:
    """Reply, Retweet, Favorite and Follow buttons of an embedded tweet do nothing in a feed."""
    drop_all(
        root,
        [
            a
            for a in root.iter("a")
            if url_matches(a.get("href"), TWEET_ACTIONS)
            or _is_reply(a.get("href"))
            or _is_follow_button(a)
        ],
    )
