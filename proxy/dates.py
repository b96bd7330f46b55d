"""Date strings feedparser gets wrong, parsed here. Part of the parse stage; no I/O.

feedparser's ISO 8601 fallback reads ``2020/1/10 14:33:00`` as "year 2020" and fills the
month and day in from today's clock, so the date moves every month and readers see a new
item each time (issue 11.3). The forms below are common in Chinese and hand-written feeds;
each is matched whole (anchored, no nested quantifiers: linear time) and read without a
clock; so are RFC 822 dates with Portuguese, Spanish, French, German, Italian or Dutch month
names. A string no handler reads is left unparsed: the caller omits and logs it.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone

# 2020/1/10, 2020-01-10 14:33, 2020/1/10 14:33:00, 2020.1.10 14:33 +0800 …
# (Anchored, whitespace runs possessive: linear on any input, see tests/test_patterns.py.)
_NUMERIC = re.compile(
    r"\A\s*+(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})"
    r"(?:[ T]++(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
    r"\s*+(Z|[+\-]\d{2}:?\d{2}|(?:GMT|UTC)?[+\-]\d{1,2})?\s*+\Z"
)
# 2020年1月10日, 2020年1月10日 14:33, 2020年01月10日 14时33分05秒
_CJK = re.compile(
    r"\A\s*+(\d{4})\s*+年\s*+(\d{1,2})\s*+月\s*+(\d{1,2})\s*+[日号]"
    r"(?:\s*+(\d{1,2})\s*+[:时點点]\s*+(\d{1,2})\s*+分?(?:\s*+[:]?\s*+(\d{1,2})\s*+秒?)?)?\s*+\Z"
)


# RFC 822 written in another language: "Seg, 24 Set 2018 19:42:40 -0300" (Portuguese).
_LOCALIZED = re.compile(
    r"\A\s*+(?:[^\W\d_]{2,9}\.?,?\s++)?(\d{1,2})\.?\s++([^\W\d_]{3,9})\.?\s++(\d{4})"
    r"(?:\s++(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*+(Z|GMT|UTC|[+\-]\d{2}:?\d{2})?\s*+\Z"
)
# Month names and abbreviations (pt, es, fr, de, it, nl) that are not English ones: English
# dates are left to feedparser, which also knows their zone names.
_MONTHS = {
    "ene": 1,
    "gen": 1,
    "janv": 1,
    "jänner": 1,
    "fev": 2,
    "fév": 2,
    "févr": 2,
    "mär": 3,
    "märz": 3,
    "mrt": 3,
    "abr": 4,
    "avr": 4,
    "avril": 4,
    "mai": 5,
    "mag": 5,
    "mei": 5,
    "juin": 6,
    "giu": 6,
    "juil": 7,
    "lug": 7,
    "ago": 8,
    "aoû": 8,
    "août": 8,
    "set": 9,
    "sept": 9,
    "out": 10,
    "okt": 10,
    "ott": 10,
    "dez": 12,
    "dic": 12,
    "déc": 12,
}


def _localized(text: str) -> datetime | None:
    match = _LOCALIZED.fullmatch(text)
    if match is None:
        return None
    name = match.group(2).lower()
    month = _MONTHS.get(name) or _MONTHS.get(name[:4]) or _MONTHS.get(name[:3])
    if month is None:
        return None
    day, year = int(match.group(1)), int(match.group(3))
    hour, minute, second = (int(g) if g else 0 for g in match.groups()[3:6])
    zone = match.group(7)
    try:
        return datetime(
            year,
            month,
            day,
            hour,
            minute,
            second,
            tzinfo=UTC if zone in (None, "Z", "GMT", "UTC") else _offset(zone),
        )
    except ValueError:
        return None


def _offset(text: str | None) -> timezone:
    if not text or text == "Z":
        return UTC
    text = text.removeprefix("GMT").removeprefix("UTC")
    sign = -1 if text.startswith("-") else 1
    digits = text[1:].replace(":", "")
    if len(digits) <= 2:
        hours, minutes = int(digits), 0
    else:
        hours, minutes = int(digits[:-2]), int(digits[-2:])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_loose(text: str) -> datetime | None:
    """A date in one of the forms above, as an aware datetime; None for anything else.

    A form without a zone is taken as UTC: it is stable across requests, which is what
    readers need to recognise an item (a wrong zone shifts the time; a guess from the clock
    would shift the day)."""
    match = _NUMERIC.fullmatch(text) or _CJK.fullmatch(text)
    if match is None:
        return _localized(text)
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups()[:6])
    zone = _offset(match.group(7)) if match.re is _NUMERIC else UTC
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return None


def feedparser_handler(text: str) -> time.struct_time | None:
    """The same, as a feedparser date handler (UTC struct_time), tried before its own."""
    when = parse_loose(text)
    return None if when is None else when.astimezone(UTC).timetuple()
