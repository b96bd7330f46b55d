"""Who may use this instance: the access key and feed-link signatures. No I/O, no aiohttp.

Access key (research §A7: an open ``/feed?url=`` is an open proxy):

* ``FEEDSCRUB_ACCESS_KEY`` set: ad-hoc ``/feed`` answers only a request carrying the key
  (``key=<access key>`` or ``Authorization: Bearer <access key>``), or ``sig=<signature>``,
  an HMAC-SHA256 of the normalised upstream URL under the access key. A signed link works for
  that one feed and can be shared without giving the key away (``links.sign_feed_url``).
* ``FEEDSCRUB_PROTECT_NAMED``: ``/feeds/{name}`` too (the signature then covers the name).
* ``FEEDSCRUB_PROTECT_METRICS``: ``/metrics`` too (key only).

Anything else is ``Unauthorized`` (401, one line, no ``WWW-Authenticate``). Keys and signatures
are compared with ``hmac.compare_digest``, and ``RedactSecrets`` keeps them out of the access log.

Host rules (which upstreams may be fetched) live in ``fetch/guard.py``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping

from yarl import URL

from proxy.config import Settings
from proxy.errors import Unauthorized
from proxy.logsafe import redact

__all__ = [
    "RedactSecrets",
    "Unauthorized",
    "canonical_feed_url",
    "feed_signature",
    "key_matches",
    "named_signature",
    "redact",
    "require_feed_access",
    "require_key",
    "require_named_access",
]

logger = logging.getLogger(__name__)

# The signed message starts with its kind, so a signature made for one purpose (a feed URL,
# a feed name) never passes as another, even when an operator reuses the key elsewhere.
_FEED_CONTEXT = b"feedscrub feed url\n"
_NAMED_CONTEXT = b"feedscrub named feed\n"


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
