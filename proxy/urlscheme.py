"""Which scheme a URL has, as the most lenient reader would read it. No I/O.

Every place that decides whether a URL may be emitted (the sanitiser's attribute checks, the
links and enclosures a feed carries) asks here, so they all judge alike. Browsers drop
ASCII whitespace and control characters before reading a scheme; feed readers go further
and strip Unicode spaces too: ``&#xA0;javascript:alert(1)`` looks relative to a browser, but
feedparser reads it back from our output as ``javascript:alert(1)``. So every Unicode space,
control and format character (U+00A0, U+1680, U+2000–U+200F, U+2028–U+202F, U+3000,
U+FEFF, U+180E, U+00AD, the bidi controls, the tag characters…) is removed anywhere in the
URL before the scheme is read. That can only make a URL look *less* relative, never let one
through that would otherwise be refused.
"""

from __future__ import annotations

import re
from collections.abc import Collection

# Every character of Unicode categories Cc, Cf, Zs, Zl, Zp and every str.isspace() character
# (tests/test_hardening_urls.py checks this against unicodedata).
INVISIBLE = re.compile(
    "[\x00-\x20\x7f-\xa0\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u1680\u180e"
    "\u2000-\u200f\u2028-\u202f\u205f-\u2064\u2066-\u206f\u3000\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f]+"
)
_SCHEME = re.compile(r"\A([a-z][a-z0-9+.\-]*):", re.IGNORECASE)  # (match only)
WEB_SCHEMES = frozenset({"http", "https"})


def scheme(url: str) -> str | None:
    """The lower-case scheme a lenient reader sees in ``url``; None when it is relative."""
    match = _SCHEME.match(INVISIBLE.sub("", url))
    return match.group(1).lower() if match else None


def allowed(url: str, schemes: Collection[str] = WEB_SCHEMES) -> bool:
    """Whether ``url`` is relative or has one of ``schemes`` (lower case)."""
    found = scheme(url)
    return found is None or found in schemes


def web_url(url: str | None) -> str | None:
    """``url`` when it is http(s) or relative; None for javascript:, data:, file: and the
    rest, however they are disguised."""
    if url is None:
        return None
    return url if allowed(url) else None
