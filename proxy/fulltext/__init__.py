"""Full text: the article behind each item's link, in place of the feed's own content.

``decode`` turns page bytes into text, ``extract`` finds the article in it (no I/O),
``filler`` fetches within a time budget and caches, ``siteconfig`` reads FiveFilters rules.
"""

from __future__ import annotations

from proxy.fulltext.decode import declared_charsets, decode_html, is_html
from proxy.fulltext.extract import EXTRACTOR_VERSION, extract, make_absolute
from proxy.fulltext.filler import FAILURE_TTL, FillResult, FullText

__all__ = [
    "EXTRACTOR_VERSION",
    "FAILURE_TTL",
    "FillResult",
    "FullText",
    "declared_charsets",
    "decode_html",
    "extract",
    "is_html",
    "make_absolute",
]
