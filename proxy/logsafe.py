"""Log lines a reader cannot forge and that carry no credential. No I/O.

Anything a request chooses ends up in a log value: a path (aiohttp hands it over decoded, so
``%0A`` is a real newline), a query, an upstream URL, an error message quoting one. Written as
it is, ``/feeds/x%0A2026-12-01 13:00:00,000 WARNING proxy.fetch FORGED`` starts a forged line.
``SafeLogFilter`` escapes every control character (C0, DEL, C1, the Unicode line and paragraph
separators, bidirectional and other invisible format characters) in the formatted message as
``\\xNN`` / ``\\uNNNN``, and redacts ``key=`` / ``sig=`` values (``redact``). The
traceback of ``logger.exception`` is not part of the message and keeps its lines.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

# Characters that move the cursor, end a line or hide text in a terminal or a log viewer.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
    "\ufff9-\ufffb]"
)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """``text`` with every control and invisible format character spelled out."""
    return _UNSAFE.sub(_escaped, text)


# Query parameters that carry a credential: never written to a log as they are. Judged by
# the decoded name: aiohttp reads ?k%65y= as key=, so the log must too.
_SECRET_NAMES = frozenset({"key", "sig"})
_PARAMETER = re.compile(r"""([?&;])([^=&;#\s"'?]{1,64})=([^&;#?\s]*)""")


def _redact_parameter(match: re.Match[str]) -> str:
    name = unquote_plus(match.group(2))
    if name.strip().lower() in _SECRET_NAMES:
        return f"{match.group(1)}{match.group(2)}=<redacted>"
    return match.group(0)


def redact(text: str) -> str:
    """``text`` with the values of ``key=`` and ``sig=`` query parameters replaced, however
    the name is percent-encoded."""
    # Every access log line passes here, twice (the access logger's filter, the handler's):
    # a line with neither name in it, in any case, and nothing percent-encoded, cannot hold
    # one, and skips the substitution (a callback per query parameter). A "+" decodes to a
    # space, which the name check strips: such a name still spells key/sig in the line.
    lowered = text.lower()
    if "%" not in text and "key" not in lowered and "sig" not in lowered:
        return text
    return _PARAMETER.sub(_redact_parameter, text)


def safe(text: str) -> str:
    """``text`` escaped and with credentials redacted: what may go into a log line."""
    return redact(escape(text))


class SafeLogFilter(logging.Filter):
    """Escape and redact the message of every record passing through (install it on a
    handler, so it sees the records of every logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let logging report it as usual
            return True
        cleaned = safe(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install(handler: logging.Handler) -> None:
    """Add the filter to ``handler`` once (idempotent)."""
    if not any(isinstance(f, SafeLogFilter) for f in handler.filters):
        handler.addFilter(SafeLogFilter())
