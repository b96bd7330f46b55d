"""Who may use this instance, and which upstream hosts it may reach. No I/O, no aiohttp.

Access key (research §A7: an open ``/feed?url=`` is an open proxy):

* ``FEEDSCRUB_ACCESS_KEY`` set: ad-hoc ``/feed`` answers only a request carrying the key
  (``key=<access key>`` or ``Authorization: Bearer <access key>``), or ``sig=<signature>``,
  an HMAC-SHA256 of the normalised upstream URL under the access key. A signed link works for
  that one feed and can be shared without giving the key away (``sign_feed_url``).
* ``FEEDSCRUB_PROTECT_NAMED``: ``/feeds/{name}`` too (the signature then covers the name).
* ``FEEDSCRUB_PROTECT_METRICS``: ``/metrics`` too (key only).

Anything else is ``Unauthorized`` (401, one line, no ``WWW-Authenticate``). Keys and signatures
are compared with ``hmac.compare_digest``, and ``RedactSecrets`` keeps them out of the access log.

Host rules: ``FEEDSCRUB_ALLOW_HOSTS`` / ``FEEDSCRUB_DENY_HOSTS`` are comma-separated glob patterns
(``*`` and ``?``, as in fnmatch) over the upstream host name, IDN names compared in their
ASCII (punycode) form. ``fetch.check_url`` applies them to every feed, redirect hop and image
URL; a refused host is ``BlockedHost`` (403). They match names as written in URLs, not the
addresses names resolve to: the private-address guard in ``fetch`` does that.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from urllib.parse import quote, unquote_plus

from yarl import URL

from proxy.config import Settings
from proxy.errors import BlockedAddress, ConfigError, InvalidURL, ProxyError

__all__ = [
    "BlockedHost",
    "HostRules",
    "RedactSecrets",
    "Unauthorized",
    "canonical_feed_url",
    "feed_signature",
    "host_rules",
    "key_matches",
    "named_signature",
    "parse_host_patterns",
    "redact",
    "require_feed_access",
    "require_key",
    "require_named_access",
    "sign_feed_url",
    "sign_named_feed",
    "validate",
]

logger = logging.getLogger(__name__)

# The signed message starts with its kind, so a signature made for one purpose (a feed URL,
# a feed name) never passes as another, even when an operator reuses the key elsewhere.
_FEED_CONTEXT = b"feedscrub feed url\n"
_NAMED_CONTEXT = b"feedscrub named feed\n"
_MIN_KEY_LENGTH = 16  # shorter keys are accepted, with a warning: they can be guessed online


class Unauthorized(ProxyError):
    """401: the request lacks the access key (or a signature) this instance asks for."""

    status = 401


class BlockedHost(BlockedAddress):
    """403: the upstream host is outside FEEDSCRUB_ALLOW_HOSTS or inside FEEDSCRUB_DENY_HOSTS."""


# --- access key and signatures ----------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _same(expected: str, presented: str) -> bool:
    # compare_digest on bytes: str arguments must be ASCII, and a reader may send anything.
    return hmac.compare_digest(expected.encode("utf-8"), presented.encode("utf-8", "replace"))


def key_matches(settings: Settings, presented: str | None) -> bool:
    """Whether ``presented`` is the access key (False when no key is configured)."""
    if not settings.access_key or not presented:
        return False
    return _same(settings.access_key, presented)


def _presented_key(query: Mapping[str, str], headers: Mapping[str, str]) -> str:
    authorization = headers.get("Authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return query.get("key", "")


def canonical_feed_url(url: str) -> str:
    """The upstream URL as ``fetch.check_url`` normalises it (lower-case scheme and host, IDNA
    host, no default port, no fragment); the input, stripped, when it does not parse.

    Signatures cover this form, so ``http://EXAMPLE.com:80/feed#x`` and
    ``http://example.com/feed`` share one signature, as they share one cache entry.
    """
    text = url.strip()
    try:
        return str(URL(text).with_fragment(None))
    except ValueError:
        return text


def feed_signature(url: str, key: str) -> str:
    """``sig=`` for an ad-hoc feed URL: base64url(HMAC-SHA256(key, context + URL))."""
    message = _FEED_CONTEXT + canonical_feed_url(url).encode("utf-8")
    return _b64(hmac.new(key.encode("utf-8"), message, hashlib.sha256).digest())


def named_signature(name: str, key: str) -> str:
    """``sig=`` for ``/feeds/{name}`` (without a .rss/.atom suffix)."""
    message = _NAMED_CONTEXT + name.encode("utf-8")
    return _b64(hmac.new(key.encode("utf-8"), message, hashlib.sha256).digest())


def sign_feed_url(url: str, key: str) -> str:
    """The signed path for an upstream feed: ``/feed?url=<url>&sig=<signature>``.

    Prefix it with FEEDSCRUB_PUBLIC_URL to get the link a reader subscribes to. It works for
    this one feed only (any ``format=`` or ``limit=`` may be added), without the key.

    Parameters:
        url: the upstream feed URL; it must be an absolute http(s) URL.
        key: the access key (FEEDSCRUB_ACCESS_KEY).

    Raises InvalidURL (400) for anything that is not an absolute http(s) URL.
    """
    canonical = canonical_feed_url(url)
    try:
        parsed = URL(canonical)
        usable = parsed.scheme in ("http", "https") and bool(parsed.raw_host)
    except ValueError:
        usable = False
    if not usable:
        raise InvalidURL(f"access: {canonical[:200]!r} is not an absolute http(s) URL")
    return f"/feed?url={quote(canonical, safe='')}&sig={feed_signature(canonical, key)}"


def sign_named_feed(name: str, key: str) -> str:
    """The signed path for a named feed: ``/feeds/<name>?sig=<signature>``."""
    return f"/feeds/{quote(name, safe='')}?sig={named_signature(name, key)}"


def require_key(
    settings: Settings, query: Mapping[str, str], headers: Mapping[str, str], what: str
) -> None:
    """Raise Unauthorized unless the request carries the access key (no-op without one).

    Parameters:
        query, headers: the request's (any mapping; aiohttp's multidicts are fine).
        what: the resource, for the one-line reason ("/metrics").
    """
    if not settings.access_key:
        return
    presented = _presented_key(query, headers)
    if not presented:
        raise Unauthorized(
            f"access: {what} needs the access key: add key=<access key> "
            "or send Authorization: Bearer <access key>"
        )
    if not key_matches(settings, presented):
        raise Unauthorized(f"access: the key given for {what} does not match")


def require_feed_access(
    settings: Settings, query: Mapping[str, str], headers: Mapping[str, str], url: str
) -> None:
    """For ad-hoc /feed: the access key, or ``sig=`` made for this URL (no-op without a key)."""
    if not settings.access_key:
        return
    if key_matches(settings, _presented_key(query, headers)):
        return
    signature = query.get("sig", "")
    if signature:
        if url and _same(feed_signature(url, settings.access_key), signature):
            return
        raise Unauthorized("access: sig= does not match this feed URL")
    if _presented_key(query, headers):
        raise Unauthorized("access: the key does not match")
    raise Unauthorized(
        "access: this instance needs an access key for /feed: add key=<access key>, "
        "or use a signed link (sig=) from the operator"
    )


def require_named_access(
    settings: Settings, query: Mapping[str, str], headers: Mapping[str, str], name: str
) -> None:
    """For /feeds/{name} when FEEDSCRUB_PROTECT_NAMED: the key, or ``sig=`` for this name."""
    if not (settings.protect_named and settings.access_key):
        return
    if key_matches(settings, _presented_key(query, headers)):
        return
    signature = query.get("sig", "")
    if signature:
        if _same(named_signature(name, settings.access_key), signature):
            return
        raise Unauthorized("access: sig= does not match this feed name")
    if _presented_key(query, headers):
        raise Unauthorized("access: the key does not match")
    raise Unauthorized(
        "access: named feeds on this instance need the access key: add key=<access key>, "
        "or use a signed link (sig=) from the operator"
    )


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
    return _PARAMETER.sub(_redact_parameter, text)


class RedactSecrets(logging.Filter):
    """A logging filter that redacts key=/sig= values in log lines (the access log's "%r").

    ``server.create_app`` installs it on the ``aiohttp.access`` logger; it works with any
    access log format.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


# --- host rules -------------------------------------------------------------------------------

_PATTERN_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_*?:")
# UTS #46 maps these to "." before IDNA; split on them as on ".".
_IDEOGRAPHIC_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def _normalise_pattern(raw: str, variable: str) -> str:
    text = raw.strip().translate(_IDEOGRAPHIC_DOTS).rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]  # an IPv6 literal as written in a URL
    labels: list[str] = []
    for label in text.split("."):
        if label.isascii():
            labels.append(label.lower())
            continue
        if "*" in label or "?" in label:
            raise ConfigError(
                f"{variable} has pattern {raw.strip()!r}. A wildcard cannot sit in a non-ASCII "
                "label; write that label in full or in its xn-- form."
            )
        try:
            encoded = URL.build(scheme="http", host=label).raw_host
        except ValueError:
            encoded = None
        if not encoded:
            raise ConfigError(f"{variable} has pattern {raw.strip()!r}. Not a valid host name.")
        labels.append(encoded)
    pattern = ".".join(labels)
    if not pattern or not set(pattern) <= _PATTERN_CHARACTERS:
        raise ConfigError(
            f"{variable} has pattern {raw.strip()!r}. Use host names with * and ? wildcards, "
            "comma-separated, without scheme, port or path (e.g. example.org,*.example.org)."
        )
    return pattern


def parse_host_patterns(text: str, variable: str) -> tuple[str, ...]:
    """Comma-separated globs → normalised patterns; ConfigError naming ``variable`` if bad."""
    return tuple(_normalise_pattern(part, variable) for part in text.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class HostRules:
    """Which upstream hosts may be fetched. No patterns at all: every host."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    def check(self, host: str, *, ip: str | None = None, shown: str = "") -> None:
        """Raise BlockedHost if ``host`` (yarl's raw_host: lower-case, IDNA) is refused.

        Parameters:
            host: the URL's host.
            ip: the canonical address when the host is an IP literal in any spelling
                (``0x7f.1`` is ``127.0.0.1``); patterns are matched against both.
            shown: the URL, as quoted in the error message.
        """
        if not (self.allow or self.deny):
            return
        names = {host.rstrip(".").removeprefix("[").removesuffix("]")}
        if ip:
            names.add(ip)
        for pattern in self.deny:
            if any(fnmatchcase(name, pattern) for name in names):
                raise BlockedHost(
                    f"fetch: host {host} matches FEEDSCRUB_DENY_HOSTS ({pattern}); refused "
                    f"({shown})"
                )
        if self.allow and not any(
            fnmatchcase(name, pattern) for pattern in self.allow for name in names
        ):
            raise BlockedHost(
                f"fetch: host {host} is not in FEEDSCRUB_ALLOW_HOSTS; refused ({shown})"
            )


@functools.lru_cache(maxsize=16)
def _rules(allow: str, deny: str) -> HostRules:
    return HostRules(
        allow=parse_host_patterns(allow, "FEEDSCRUB_ALLOW_HOSTS"),
        deny=parse_host_patterns(deny, "FEEDSCRUB_DENY_HOSTS"),
    )


def host_rules(settings: Settings) -> HostRules:
    """The host rules of ``settings`` (parsed once per distinct value)."""
    return _rules(settings.allow_hosts, settings.deny_hosts)


def validate(settings: Settings) -> None:
    """Reject access settings that cannot work, naming the variable (called at startup)."""
    problems: list[str] = []
    for flag in ("protect_named", "protect_metrics"):
        if getattr(settings, flag) and not settings.access_key:
            problems.append(f"FEEDSCRUB_{flag.upper()}=true requires FEEDSCRUB_ACCESS_KEY.")
    try:
        host_rules(settings)
    except ConfigError as exc:
        problems.append(exc.message)
    if problems:
        raise ConfigError(" ".join(problems))
    if settings.access_key and len(settings.access_key) < _MIN_KEY_LENGTH:
        logger.warning(
            "access: FEEDSCRUB_ACCESS_KEY is shorter than %d characters; a longer random key "
            "(python -c 'import secrets; print(secrets.token_urlsafe(32))') resists guessing",
            _MIN_KEY_LENGTH,
        )
