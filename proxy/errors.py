"""The exception tree. Every error a request can meet carries the HTTP status it maps to.

Handlers and stages raise; only ``server/middleware.py`` turns an error into a response,
and only ``cli.py`` turns one into an exit code. Messages are one line, for a person.

* ProxyError                500
  x ConfigError             500  (bad setting or config file; raised at startup)
  x BadRequest              400
    + InvalidURL            400  (not an absolute http/https URL)
  x Unauthorized            401  (the access key or a signed link is missing or wrong)
  x Forbidden               403
    + BlockedAddress        403  (upstream resolves to a loopback/private/reserved address)
      + BlockedHost         403  (outside FEEDSCRUB_ALLOW_HOSTS or inside FEEDSCRUB_DENY_HOSTS)
    + BadSignature          403  (image URL signature does not match)
  x NotFound                404
  x RetryLater              503  (with Retry-After)
    + Busy                  503  (the preview page is building as many reports as it may)
  x UpstreamError           502
    + UpstreamUnreachable   502  (DNS failure, connection refused or reset)
      + HostUnreachable     502  (connection refused, TLS failed: the host itself, not one URL)
    + UpstreamStatus        502  (the upstream answered 4xx/5xx; keeps that status)
    + BodyTooLarge          502
    + TooManyRedirects      502
    + NotAFeed              502
    + NotAnImage            502
    + UpstreamBackoff       503  (not asking this URL, or host:port, until its backoff passes;
                                  a RetryLater too)
    + UpstreamTimeout       504
"""

from __future__ import annotations


class ProxyError(Exception):
    """Base of every error feedscrub raises on purpose."""

    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ConfigError(ProxyError):
    """Settings or a config file that cannot work; ``problems`` holds each one, once."""

    status = 500

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems or (message,)


class BadRequest(ProxyError):
    """The request itself is wrong: a missing or malformed parameter."""

    status = 400


class InvalidURL(BadRequest):
    """Not an absolute http(s) URL, or one feedscrub will not read (a password in it, a
    control character, a backslash…)."""


class Unauthorized(ProxyError):
    """The access key, or a signed link, is missing or wrong. No ``WWW-Authenticate``: readers
    are not asked for a password, their link is wrong."""

    status = 401


class Forbidden(ProxyError):
    """Refused on purpose, whoever asks."""

    status = 403


class BlockedAddress(Forbidden):
    """The upstream is on a loopback, private or reserved address."""


class BlockedHost(BlockedAddress):
    """The upstream host is outside FEEDSCRUB_ALLOW_HOSTS or inside FEEDSCRUB_DENY_HOSTS
    (judged on the name as written; BlockedAddress judges where it resolves)."""


class BadSignature(Forbidden):
    """An image link whose signature does not match its URL (altered, or from an expired key)."""


class NotFound(ProxyError):
    """Nothing by that name here: an unknown route or named feed."""

    status = 404


class RetryLater(ProxyError):
    """503 with a Retry-After: ``retry_after`` seconds from now the answer may differ."""

    status = 503

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Busy(RetryLater):
    """This work is bounded (the preview page) and every slot is taken; retry soon."""


class UpstreamError(ProxyError):
    """The upstream failed us; the reader gets 502 and, when there is one, the stale copy."""

    status = 502


class UpstreamUnreachable(UpstreamError):
    """No answer at all: DNS failure, connection refused or reset, TLS failure."""


class HostUnreachable(UpstreamUnreachable):
    """The host refused the connection or failed TLS: every URL on it would fail alike."""

    def __init__(self, message: str, what: str = "refused the connection") -> None:
        super().__init__(message)
        self.what = what  # for the backoff's reason: "<host:port> <what>"


class UpstreamStatus(UpstreamError):
    """The upstream answered 4xx/5xx; ``upstream_status`` keeps what it said."""

    def __init__(self, message: str, upstream_status: int, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.upstream_status = upstream_status
        self.retry_after = retry_after  # the upstream's Retry-After header, raw


class UpstreamBackoff(UpstreamError, RetryLater):
    """We are not asking this URL, or its host and port, for now (Retry-After, or failures);
    an upstream error that is answered as RetryLater is."""

    status = 503


class BodyTooLarge(UpstreamError):
    """The body went past its byte limit (counted after decompression)."""


class TooManyRedirects(UpstreamError):
    """More redirects than FEEDSCRUB_MAX_REDIRECTS."""


class NotAFeed(UpstreamError):
    """The body is not RSS or Atom."""


class NotAnImage(UpstreamError):
    """The image proxy got something that is not an image (a page, SVG, audio for an image
    link)."""


class UpstreamTimeout(UpstreamError):
    """No complete answer in time (FEEDSCRUB_FETCH_TIMEOUT, or the connect timeout)."""

    status = 504
