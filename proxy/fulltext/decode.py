"""Decoding: article page bytes → text, the way browsers pick a charset. No I/O."""

from __future__ import annotations

import codecs
import re

from readability.encoding import get_encoding

from proxy.models import FetchResult

_SNIFF_BYTES = 8192  # where <meta charset> is looked for; real pages declare it early
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_META_CHARSET = re.compile(
    rb"""<meta[^<>]+?charset\s*+=\s*+(?:["']\s*+)?([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""")
# WHATWG: browsers decode these labels as the superset, and so must we (a "gb2312" page
# routinely holds GBK-only characters; "iso-8859-1" pages hold cp1252 quotes).
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso8859-1": "cp1252",
    "x-sjis": "shift_jis",
    "shift-jis": "shift_jis",
}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _codec(label: str) -> str | None:
    name = label.strip().strip("\"'").lower()
    name = _SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def declared_charsets(body: bytes, content_type: str) -> list[str]:
    """Charsets a page declares, strongest first: BOM, Content-Type, <meta>, <?xml?>."""
    found: list[str] = []
    for bom, name in _BOMS:
        if body.startswith(bom):
            found.append(name)
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            found.append(value)
    head = body[:_SNIFF_BYTES]
    found += [m.decode("ascii", "replace") for m in _META_CHARSET.findall(head)]
    found += [m.decode("ascii", "replace") for m in _XML_ENCODING.findall(head)]
    names = [codec for codec in (_codec(label) for label in found) if codec]
    return list(dict.fromkeys(names))


def decode_html(body: bytes, content_type: str = "") -> str:
    """Article page bytes → text.

    Each declared charset is tried strictly in order (a server's default ``charset=utf-8``
    header on a GBK page is common: the page's own <meta> then wins); then UTF-8; then the
    first declared charset with replacement characters; then a guess from the bytes.
    """
    declared = declared_charsets(body, content_type)
    for name in (*declared, "utf-8"):
        try:
            return body.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    if declared:
        return body.decode(declared[0], errors="replace")
    guessed = _codec(get_encoding(body) or "") or "cp1252"
    return body.decode(guessed, errors="replace")


def is_html(result: FetchResult) -> bool:
    """Whether a response is a page worth extracting from (by type, else by its first bytes)."""
    kind = result.content_type.split(";")[0].strip().lower()
    if kind:
        return kind in _HTML_TYPES
    return result.body.lstrip()[:1] == b"<"
