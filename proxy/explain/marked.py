"""The marked tree of an item as safe HTML, for the preview page."""

from __future__ import annotations

import copy
import html as html_lib
import re
import secrets
from collections.abc import Sequence

from lxml.html import HtmlElement

from proxy import clean
from proxy.clean.tree import serialise
from proxy.models import Removal
from proxy.sanitize import sanitize_html


def marked_html(tree: HtmlElement | None, removals: Sequence[Removal] = ()) -> str:
    """The marked tree as safe HTML: through the sanitiser, each marker then made a
    <del class="fs-removed" data-rule="…" title="<the removal's reason>"> with a
    <span class="fs-rule"> label; a removed line's (kind "line") is also of class fs-line.

    removals: the item's removals, by the index markers carry (their reasons and kinds).
    The sanitiser keeps <del title>; the title carries a random nonce, so only our markers
    (never the upstream's own <del>) become labelled ones after it.
    """
    if tree is None:
        return ""
    nonce = secrets.token_hex(8)
    work = copy.deepcopy(tree)  # the report's tree stays as it is
    for marker in work.iter("del"):
        rule = marker.get(clean.MARK_RULE)
        if rule is None:
            continue
        index = marker.get(clean.MARK_REMOVAL, "")
        for name in (clean.MARK_RULE, clean.MARK_REMOVAL):
            marker.attrib.pop(name, None)
        marker.set("title", f"{nonce} {rule} {index}")
    safe = sanitize_html(serialise(work))
    pattern = re.compile('<del title="' + nonce + r' ([A-Za-z0-9_.\-\[\]]{1,80}) ([0-9]{1,6})">')

    def label(match: re.Match[str]) -> str:
        rule = html_lib.escape(match.group(1))
        index = int(match.group(2))
        removal = removals[index] if index < len(removals) else None
        classes = "fs-removed fs-line" if removal and removal.kind == "line" else "fs-removed"
        reason = f' title="{html_lib.escape(removal.reason)}"' if removal else ""
        return (
            f'<del class="{classes}" data-rule="{rule}" data-removal="{index}"{reason}>'
            f'<span class="fs-rule">{rule}</span>'
        )

    return pattern.sub(label, safe)
