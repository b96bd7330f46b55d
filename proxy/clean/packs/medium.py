"""The `medium` pack: Medium's footer and view pixel. Does no I/O."""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from proxy.clean.nodes import (
    SEPARATOR_TAGS,
    drop,
    is_blank,
    tag_of,
)
from proxy.clean.packs.common import URLRules, drop_all, footer_paragraphs, images_from
from proxy.clean.registry import Needs, declare_pack, item_rule

PACK = declare_pack(
    "medium",
    'Medium\'s "… was originally published in … on Medium …" footer and its _/stat view pixel',
)


MEDIUM_FOOTER = (
    "{post} was originally published in {site} on Medium, where people are continuing the"
    " conversation by highlighting and responding to this story."
)
_MEDIUM_FOOTER_START = re.compile(r"\A\s*was originally published in\s")
MEDIUM_IMAGES: URLRules = {"medium.com": ("/_/stat",)}


# (Needs: _MEDIUM_FOOTER_START must match the tail of the footer's first link, one text.)
@item_rule(PACK, "footer", needs=Needs(text=("originally",)))
def remove_medium_footer(root: HtmlElement) -> None:
    """Medium's "… was originally published in … on Medium" footer asks readers to comment there.

    The footer ("…, where people are continuing the conversation by highlighting and
    responding to this story.") goes with the <hr> before it.
    """
    footers = footer_paragraphs(root, _MEDIUM_FOOTER_START, (MEDIUM_FOOTER,), after_link=True)
    for footer in footers:
        previous = footer.getprevious()
        if previous is not None and tag_of(previous) in SEPARATOR_TAGS and is_blank(previous.tail):
            drop(previous)  # the <hr> Medium puts between the story and the footer
    drop_all(root, footers)


@item_rule(PACK, "stat_pixel", needs=Needs(hosts=tuple(MEDIUM_IMAGES)))  # (url_matches)
def remove_medium_pixel(root: HtmlElement) -> None:
    """Medium's `_/stat` image only reports the view."""
    drop_all(root, images_from(root, MEDIUM_IMAGES))
