"""The `cloudflare` pack: addresses hidden by Cloudflare's email protection, restored. Part of
the clean stage; does no I/O.

Cloudflare rewrites every address on a page into `<a href="/cdn-cgi/l/email-protection#HEX">`
or `<span class="__cf_email__" data-cfemail="HEX">[email&#160;protected]</span>`, which its
script decodes in a browser. A feed reader runs no script, so the reader sees "[email
protected]". HEX is the address XOR-ed with its first byte: decoded here, the link becomes
`mailto:` and the text the address. Nothing is removed; each change is attributed.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from proxy.clean import attribution
from proxy.clean.nodes import class_tokens, set_link
from proxy.clean.registry import Needs, declare_pack, item_rule
from proxy.clean.urls import split_url

PACK = declare_pack(
    "cloudflare",
    "Cloudflare email protection decoded: /cdn-cgi/l/email-protection#… links become mailto:"
    ' and "[email protected]" the address',
)

EMAIL_PROTECTION_PATH = "/cdn-cgi/l/email-protection"
HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_PLACEHOLDER = re.compile(r"\[\s*email\s*(?:protected|&#160;protected)\s*\]", re.IGNORECASE)
# What a decoded address may not hold (with exactly one "@", something on each side).
_NOT_IN_ADDRESS = frozenset(" \t\n\r\f\v<>\"'()\\")


def _is_address(value: str) -> bool:
    local, at, domain = value.partition("@")
    return (
        bool(at)
        and 0 < len(local) <= 64
        and 0 < len(domain) <= 255
        and "@" not in domain
        and value.isprintable()
        and not _NOT_IN_ADDRESS.intersection(value)
    )


def decode_cfemail(value: str) -> str | None:
    """The address Cloudflare encoded as value (hex), or None if it is not one."""
    if not 4 <= len(value) <= 256 or len(value) % 2 or not HEX_DIGITS.issuperset(value):
        return None
    data = bytes.fromhex(value)
    key = data[0]
    try:
        address = bytes(b ^ key for b in data[1:]).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return address if _is_address(address) else None


def _restore_text(node: HtmlElement, address: str) -> None:
    """Put the address where node's own text shows the placeholder (spans inside it are
    handled on their own, below)."""
    if node.text:
        node.text = _PLACEHOLDER.sub(address, node.text)
    for child in node:
        if child.tail:
            child.tail = _PLACEHOLDER.sub(address, child.tail)


# (Needs: what the rule asked the item's hints itself, asked by the runner with the markers
# encoded once: the link's path, the data-cfemail attribute, the span's class.)
@item_rule(
    PACK, "email_protection", needs=Needs(markup=("email-protection", "cfemail", "__cf_email__"))
)
def restore_protected_emails(root: HtmlElement) -> None:
    """Cloudflare hid this address behind a script that a feed reader does not run."""
    for a in list(root.iter("a")):
        parts = split_url(a.get("href"))
        if parts is None or parts.path.rstrip("/") != EMAIL_PROTECTION_PATH:
            continue
        address = decode_cfemail(parts.fragment)
        if address is None:
            continue
        set_link(a, "href", "mailto:" + address)
        _restore_text(a, address)
    for node in list(root.iter()):
        if not isinstance(node.tag, str):
            continue
        encoded = node.get("data-cfemail")
        if encoded is None or "__cf_email__" not in class_tokens(node):
            continue
        address = decode_cfemail(encoded)
        if address is None:
            continue
        attribution.link_changed(node, "[email protected]", address)
        tail = node.tail
        parent = node.getparent()
        if parent is None:
            continue
        # The span becomes its text: the address, where the placeholder was.
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + address + (tail or "")
        else:
            parent.text = (parent.text or "") + address + (tail or "")
        parent.remove(node)
