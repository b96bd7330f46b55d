"""Host patterns, as FEEDSCRUB_ALLOW_HOSTS / FEEDSCRUB_DENY_HOSTS write them. No I/O.

Comma-separated globs (``*``, ``?``) over host names, normalised the way yarl writes a URL's
host (lower case, IDN labels in their xn-- form), so a pattern and a URL compare alike.
``config`` checks a setting with ``parse_host_patterns``; ``fetch/guard.py`` matches with it.
"""

from __future__ import annotations

from yarl import URL

_PATTERN_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_*?:")
# UTS #46 maps these to "." before IDNA; split on them as on ".".
_IDEOGRAPHIC_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def _normalise_pattern(raw: str) -> str:
    shown = raw.strip()
    text = shown.translate(_IDEOGRAPHIC_DOTS).rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]  # an IPv6 literal as written in a URL
    labels: list[str] = []
    for label in text.split("."):
        if label.isascii():
            labels.append(label.lower())
            continue
        if "*" in label or "?" in label:
            raise ValueError(
                f"Pattern {shown!r}: a wildcard cannot sit in a non-ASCII label; write that "
                "label in full or in its xn-- form."
            )
        try:
            encoded = URL.build(scheme="http", host=label).raw_host
        except ValueError:
            encoded = None
        if not encoded:
            raise ValueError(f"Pattern {shown!r} is not a valid host name.")
        labels.append(encoded)
    pattern = ".".join(labels)
    if not pattern or not set(pattern) <= _PATTERN_CHARACTERS:
        raise ValueError(
            f"Pattern {shown!r}: use host names with * and ? wildcards, comma-separated, "
            "without scheme, port or path (e.g. example.org,*.example.org)."
        )
    return pattern


def parse_host_patterns(text: str) -> tuple[str, ...]:
    """Comma-separated globs → normalised patterns (lower case, IDN labels in xn-- form).

    Raises ValueError saying which pattern is wrong (``Settings.problems`` names the setting).
    """
    return tuple(_normalise_pattern(part) for part in text.split(",") if part.strip())
