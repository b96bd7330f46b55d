"""The one upstream client: a guarded session, one redirect loop, bodies read whole.

Three layers keep requests away from the machine's own network (research §A):

1. ``urls.check_url`` (pre-flight): shape of the URL and literal addresses; clean 400/403
   answers early, *not* the security boundary.
2. The connect-time guard (``guard.py``) installed by ``new_session`` as
   ``TCPConnector(socket_factory=…)``: it sees the address actually being connected to, for
   IP literals, resolved names, every redirect hop and DNS answers that change between lookups.
3. ``open_final`` follows redirects itself and runs the pre-flight check on every
   ``Location``.

``fetch`` (a body read whole, here) and ``stream.open_stream`` (a body read piece by piece)
share ``open_final``: one redirect loop, one set of errors (``failures.py``). They take
``Limits``, a few numbers, not the settings. The session keeps no cookies
(``DummyCookieJar``): one session serves every reader, and one upstream's cookies must not
follow another reader's request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
import aiohttp.abc
from multidict import CIMultiDict
from yarl import URL

from proxy import __version__, metrics
from proxy.config import Settings
from proxy.errors import (
    BlockedAddress,
    BodyTooLarge,
    InvalidURL,
    ProxyError,
    TooManyRedirects,
    UpstreamError,
    UpstreamStatus,
    UpstreamTimeout,
)
from proxy.fetch import guard
from proxy.fetch.failures import connect_error, reason, status_text, transfer_error
from proxy.fetch.urls import checked_url, show
from proxy.models import FetchResult, Validators

logger = logging.getLogger(__name__)

USER_AGENT = f"feedscrub/{__version__} (+https://github.com/feedscrub/feedscrub)"

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/*;q=0.9,*/*;q=0.5"

READ_CHUNK = 64 * 1024  # one read from the body stream; the cap is overshot by at most this
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CONDITIONAL_HEADERS = ("If-None-Match", "If-Modified-Since")
# Caller headers that must not follow a redirect to another origin.
_CREDENTIAL_HEADERS = ("Authorization", "Proxy-Authorization", "Cookie")


@dataclass(frozen=True, slots=True)
class Limits:
    """What one upstream request may take: time, redirects, bytes, and where it may go."""

    timeout: float = 20.0  # seconds for everything: every redirect hop and the body
    connect_timeout: float = 10.0  # seconds for each connection attempt
    max_redirects: int = 5
    max_bytes: int = 10 * 1024 * 1024  # body limit, counted after decompression
    allow_private: bool = False  # pre-flight only; the session's guard decides connections
    hosts: guard.HostRules = guard.HostRules()

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """The feed limits of ``settings`` (images and articles replace max_bytes/timeout)."""
        return cls(
            timeout=settings.fetch_timeout,
            connect_timeout=settings.connect_timeout,
            max_redirects=settings.max_redirects,
            max_bytes=settings.max_body_bytes,
            allow_private=settings.allow_private,
            hosts=guard.host_rules(settings),
        )

    def replace(self, **changes: object) -> Limits:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def new_session(
    settings: Settings,
    *,
    resolver: aiohttp.abc.AbstractResolver | None = None,
    address_policy: guard.AddressPolicy | None = None,
) -> aiohttp.ClientSession:
    """The one client session of the app, with the connect-time address guard installed.

    Call it inside a running event loop (aiohttp requires one) and close it on shutdown.

    Parameters:
        settings: per_host_connections, fetch/connect timeouts and allow_private are used.
        resolver: a DNS resolver; aiohttp's default when None. Tests pass a fake one. The
            resolver is not part of the guard: IP literals never reach it.
        address_policy: decides, for each address about to be connected to, whether that is
            allowed; ``guard.is_public_address`` when None. Ignored when
            ``settings.allow_private`` is set: then every address is allowed.
    """
    policy: guard.AddressPolicy = (
        guard.allow_all if settings.allow_private else (address_policy or guard.is_public_address)
    )
    connector = aiohttp.TCPConnector(
        limit_per_host=settings.per_host_connections,
        socket_factory=guard.guarded_socket_factory(policy),
        resolver=resolver,
    )
    return aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": USER_AGENT},
        timeout=aiohttp.ClientTimeout(
            total=settings.fetch_timeout, sock_connect=settings.connect_timeout
        ),
        trust_env=False,  # HTTP(S)_PROXY would move the connection out of the guard's sight
        auto_decompress=True,
        cookie_jar=aiohttp.DummyCookieJar(),
    )


@dataclass
class _Progress:
    """Where a fetch has got to, for error messages raised outside the redirect loop."""

    url: URL
    started: float = dataclasses.field(default_factory=time.monotonic)


def begin(
    url: str,
    limits: Limits,
    accept: str,
    validators: Validators | None,
    headers: Mapping[str, str] | None,
) -> tuple[URL, CIMultiDict[str], _Progress]:
    """The checked URL (400/403 before any I/O), the request headers, the clock started."""
    target = _preflight(url, limits)
    return target, _request_headers(accept, validators, headers), _Progress(target)


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    *,
    limits: Limits,
    validators: Validators | None = None,
    accept: str = FEED_ACCEPT,
    headers: Mapping[str, str] | None = None,
) -> FetchResult:
    """GET one upstream URL within ``limits`` and return it read whole.

    Parameters:
        session: the app's session from ``new_session`` (it carries the address guard).
        url: the upstream URL; checked with ``check_url`` first.
        limits: timeout bounds the whole fetch (every redirect hop and the body),
            connect_timeout each connection attempt; max_redirects, max_bytes (counted after
            decompression while streaming), allow_private and hosts apply as well.
        validators: the cached entry's ETag / Last-Modified, sent as If-None-Match /
            If-Modified-Since. A 304 then gives ``FetchResult(status=304, body=b"")``. The
            validators are sent and kept even when the upstream says ``Expires: 0``: the
            caller decides what to cache.
        accept: the Accept header (``FEED_ACCEPT`` or ``IMAGE_ACCEPT``).
        headers: extra request headers (credentials among them are dropped on a redirect to
            another origin).

    Raises, always with the cause chained: InvalidURL (400), BlockedAddress (403),
    UpstreamStatus / UpstreamUnreachable / BodyTooLarge / TooManyRedirects / UpstreamError
    (502, the last for a redirect to a non-http(s) URL), UpstreamTimeout (504).
    """
    target, request_headers, progress = begin(url, limits, accept, validators, headers)
    started = progress.started
    try:
        async with asyncio.timeout(limits.timeout):
            response = await open_final(session, target, progress, limits, request_headers)
            try:
                result = await _read(
                    response,
                    progress.url,
                    limit=limits.max_bytes,
                    headers=request_headers,
                    validators=validators,
                )
            except (ProxyError, TimeoutError):
                raise
            except (aiohttp.ClientError, OSError, EOFError, ValueError) as exc:
                raise transfer_error(exc, progress.url) from exc
            finally:
                response.release()
    except TimeoutError as exc:
        metrics.record_fetch("timeout", time.monotonic() - started)
        elapsed_ms = int((time.monotonic() - started) * 1000)
        logger.info("fetch: timeout feed_url=%s elapsed_ms=%d", show(str(progress.url)), elapsed_ms)
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            message = f"could not connect within {limits.connect_timeout:g}s"
        else:
            message = f"no response within {limits.timeout:g}s"
        raise UpstreamTimeout(f"fetch: {message} ({show(str(progress.url))})") from exc
    except ProxyError as exc:
        count_failure(exc, started)
        raise
    metrics.record_fetch("304" if result.status == 304 else "fresh", time.monotonic() - started)
    logger.debug(
        "fetch: done feed_url=%s status=%s bytes=%d elapsed_ms=%d",
        show(result.url),
        result.status,
        len(result.body),
        int((time.monotonic() - started) * 1000),
    )
    return result


def count_failure(exc: ProxyError, started: float) -> None:
    outcome: metrics.FetchOutcome = "refused" if isinstance(exc, BlockedAddress) else "error"
    metrics.record_fetch(outcome, time.monotonic() - started)


def _preflight(url: str, limits: Limits) -> URL:
    """The checked URL of a fetch (400/403 before any I/O); a refusal is counted."""
    try:
        return checked_url(url, allow_private=limits.allow_private, hosts=limits.hosts)
    except BlockedAddress:
        metrics.record_fetch("refused")
        raise


def _request_headers(
    accept: str, validators: Validators | None, extra: Mapping[str, str] | None
) -> CIMultiDict[str]:
    built: CIMultiDict[str] = CIMultiDict({"Accept": accept})
    if validators is not None:
        if validators.etag:
            built["If-None-Match"] = validators.etag
        if validators.last_modified:
            built["If-Modified-Since"] = validators.last_modified
    if extra:
        for name, value in extra.items():
            built[name] = value
    return built


async def open_final(
    session: aiohttp.ClientSession,
    target: URL,
    progress: _Progress,
    limits: Limits,
    headers: CIMultiDict[str],
) -> aiohttp.ClientResponse:
    """The one redirect loop: request ``target``, following at most ``limits.max_redirects``
    redirects by hand (each hop checked like the first URL), and return the final response
    open, its body unread (``progress.url`` is then its URL). The caller releases it."""
    current = target
    hop_headers = headers
    timeout = aiohttp.ClientTimeout(total=limits.timeout, sock_connect=limits.connect_timeout)
    for redirects in range(limits.max_redirects + 1):
        progress.url = current
        log = guard.GuardLog()
        token = guard.guard_log.set(log)
        try:
            response = await session.get(
                current, headers=hop_headers, allow_redirects=False, timeout=timeout
            )
        except (ProxyError, TimeoutError):
            raise
        except aiohttp.ClientConnectorError as exc:
            raise connect_error(exc, current, log) from exc
        except (aiohttp.ClientError, OSError, EOFError, ValueError) as exc:
            raise transfer_error(exc, current) from exc
        finally:
            guard.guard_log.reset(token)
        if response.status not in _REDIRECT_STATUSES:
            return response
        try:
            if redirects == limits.max_redirects:
                raise TooManyRedirects(
                    f"fetch: more than {limits.max_redirects} redirects ({show(str(target))})"
                )
            current = _next_hop(response, current, limits)
        finally:
            response.release()
        if _origin(current) != _origin(target):
            hop_headers = headers.copy()
            for name in _CREDENTIAL_HEADERS:
                hop_headers.popall(name, None)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def _next_hop(response: aiohttp.ClientResponse, current: URL, limits: Limits) -> URL:
    location = response.headers.get("Location", "").strip()
    if not location:
        raise UpstreamStatus(
            f"fetch: upstream answered {status_text(response)} without a Location "
            f"({show(str(current))})",
            response.status,
        )
    try:
        joined = str(current.join(URL(location)))
    except ValueError:
        joined = location
    try:
        return checked_url(joined, allow_private=limits.allow_private, hosts=limits.hosts)
    except BlockedAddress as exc:
        raise BlockedAddress(
            f"fetch: redirect from {show(str(current))} refused: {reason(exc)}"
        ) from exc
    except InvalidURL as exc:
        # The upstream sent it, not the reader: a failed upstream (502), not a bad request.
        raise UpstreamError(
            f"fetch: redirect from {show(str(current))} refused: {reason(exc)}"
        ) from exc


def _origin(url: URL) -> tuple[str, str | None, int | None]:
    return url.scheme, url.raw_host, url.port


async def _read(
    response: aiohttp.ClientResponse,
    url: URL,
    *,
    limit: int,
    headers: CIMultiDict[str],
    validators: Validators | None,
) -> FetchResult:
    shown = show(str(url))
    status = response.status
    content_type = response.headers.get("Content-Type", "")
    etag = response.headers.get("ETag")
    last_modified = response.headers.get("Last-Modified")
    if status == 304 and any(name in headers for name in _CONDITIONAL_HEADERS):
        # A 304 may omit the validators; the cached ones still hold then.
        return FetchResult(
            url=str(url),
            status=304,
            body=b"",
            content_type=content_type,
            etag=etag or (validators.etag if validators else None),
            last_modified=last_modified or (validators.last_modified if validators else None),
            fetched_at=time.time(),
        )
    if not 200 <= status < 300:
        # 4xx/5xx, a 304 to an unconditional request, a 3xx that is not a redirect.
        raise UpstreamStatus(
            f"fetch: upstream answered {status_text(response)} ({shown})",
            status,
            retry_after=response.headers.get("Retry-After"),
        )
    announced = response.content_length
    if announced is not None and announced > limit:
        response.close()
        raise BodyTooLarge(
            f"fetch: upstream announces {announced} bytes, over the {limit}-byte limit ({shown})"
        )
    # One growing buffer, not a list of pieces joined at the end: joined, a 131 MB body
    # was briefly alive twice (the server's peak at 20,000 items, issue 15.5); the buffer
    # grows in place and getvalue() hands over its own bytes, no copy.
    buffer = io.BytesIO()
    received = 0
    # Decompressed bytes: aiohttp inflates in bounded pieces, so a gzip bomb stops here too.
    async for chunk in response.content.iter_chunked(READ_CHUNK):
        received += len(chunk)
        if received > limit:
            response.close()  # the rest is never read, and the connection is not reused
            raise BodyTooLarge(f"fetch: body exceeds {limit} bytes ({shown})")
        buffer.write(chunk)
    return FetchResult(
        url=str(url),
        status=status,
        body=buffer.getvalue(),
        content_type=content_type,
        etag=etag,
        last_modified=last_modified,
        fetched_at=time.time(),
    )
