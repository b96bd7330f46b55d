"""The one upstream client: a guarded session, one redirect loop, buffered or streamed bodies.

Three layers keep requests away from the machine's own network (research §A):

1. ``urls.check_url`` (pre-flight): shape of the URL and literal addresses; clean 400/403
   answers early, *not* the security boundary.
2. The connect-time guard (``guard.py``) installed by ``new_session`` as
   ``TCPConnector(socket_factory=…)``: it sees the address actually being connected to, for
   IP literals, resolved names, every redirect hop and DNS answers that change between lookups.
3. ``_open`` follows redirects itself and runs the pre-flight check on every ``Location``.

``fetch`` (a body read whole) and ``open_stream`` (a body read piece by piece) share
``_open``: one redirect loop, one set of errors. They take ``Limits``, a few numbers, not the
settings. The session keeps no cookies (``DummyCookieJar``): one session serves every reader,
and one upstream's cookies must not follow another reader's request.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import http
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import aiohttp
import aiohttp.abc
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from proxy import __version__, metrics
from proxy.config import Settings
from proxy.errors import (
    BlockedAddress,
    BodyTooLarge,
    HostUnreachable,
    InvalidURL,
    ProxyError,
    TooManyRedirects,
    UpstreamError,
    UpstreamStatus,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from proxy.fetch import guard
from proxy.fetch.urls import checked_url, one_line, show
from proxy.models import FetchResult, Validators

logger = logging.getLogger(__name__)

USER_AGENT = f"feedscrub/{__version__} (+https://github.com/feedscrub/feedscrub)"

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/*;q=0.9,*/*;q=0.5"

_READ_CHUNK = 64 * 1024  # one read from the body stream; the cap is overshot by at most this
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
    target = _preflight(url, limits)
    request_headers = _request_headers(accept, validators, headers)
    progress = _Progress(target)
    started = time.monotonic()
    try:
        async with asyncio.timeout(limits.timeout):
            response = await _open(session, target, progress, limits, request_headers)
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
                raise _transfer_error(exc, progress.url) from exc
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
        _count_failure(exc, started)
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


def _count_failure(exc: ProxyError, started: float) -> None:
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


async def _open(
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
            raise _connect_error(exc, current, log) from exc
        except (aiohttp.ClientError, OSError, EOFError, ValueError) as exc:
            raise _transfer_error(exc, current) from exc
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
            f"fetch: upstream answered {_status_text(response)} without a Location "
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
            f"fetch: redirect from {show(str(current))} refused: {_reason(exc)}"
        ) from exc
    except InvalidURL as exc:
        # The upstream sent it, not the reader: a failed upstream (502), not a bad request.
        raise UpstreamError(
            f"fetch: redirect from {show(str(current))} refused: {_reason(exc)}"
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
            f"fetch: upstream answered {_status_text(response)} ({shown})",
            status,
            retry_after=response.headers.get("Retry-After"),
        )
    announced = response.content_length
    if announced is not None and announced > limit:
        response.close()
        raise BodyTooLarge(
            f"fetch: upstream announces {announced} bytes, over the {limit}-byte limit ({shown})"
        )
    chunks: list[bytes] = []
    received = 0
    # Decompressed bytes: aiohttp inflates in bounded pieces, so a gzip bomb stops here too.
    async for chunk in response.content.iter_chunked(_READ_CHUNK):
        received += len(chunk)
        if received > limit:
            response.close()  # the rest is never read, and the connection is not reused
            raise BodyTooLarge(f"fetch: body exceeds {limit} bytes ({shown})")
        chunks.append(chunk)
    return FetchResult(
        url=str(url),
        status=status,
        body=b"".join(chunks),
        content_type=content_type,
        etag=etag,
        last_modified=last_modified,
        fetched_at=time.time(),
    )


# --- streaming (the image proxy) -------------------------------------------------------------


class UpstreamStream:
    """An upstream 2xx response whose body is read piece by piece, within a byte limit.

    Made by ``open_stream``; the body is only read when ``read`` is called, so memory stays at
    one piece however large the body is.
    """

    def __init__(self, response: aiohttp.ClientResponse, url: URL, limit: int) -> None:
        self.url = str(url)  # the final URL, after redirects
        self.status = response.status
        self.headers: CIMultiDictProxy[str] = response.headers
        self.content_type = response.headers.get("Content-Type", "")
        coding = response.headers.get("Content-Encoding", "").strip().lower()
        # aiohttp decompresses as it reads: a Content-Length then counts compressed bytes,
        # which is not the length the reader will get.
        self.content_length = response.content_length if coding in ("", "identity") else None
        self.received = 0  # body bytes handed out so far (after decompression)
        self._response = response
        self._limit = limit

    async def read(self, size: int = _READ_CHUNK) -> bytes:
        """Up to ``size`` more body bytes; b"" at the end.

        Raises BodyTooLarge (and drops the connection) once more than the limit has come,
        UpstreamUnreachable when the body is cut short or corrupt.
        """
        try:
            chunk = await self._response.content.read(size)
        except (ProxyError, TimeoutError):
            raise
        except (aiohttp.ClientError, OSError, EOFError, ValueError) as exc:
            raise _transfer_error(exc, URL(self.url)) from exc
        self.received += len(chunk)
        if self.received > self._limit:
            self._response.close()  # the rest is never read, and the connection is not reused
            raise BodyTooLarge(f"fetch: body exceeds {self._limit} bytes ({show(self.url)})")
        return chunk


@contextlib.asynccontextmanager
async def open_stream(
    session: aiohttp.ClientSession,
    url: str,
    *,
    limits: Limits,
    accept: str = IMAGE_ACCEPT,
    headers: Mapping[str, str] | None = None,
) -> AsyncIterator[UpstreamStream]:
    """GET one upstream URL and hand its body over as a stream (``async with``).

    The same guard, URL checks, host rules, redirect loop and errors as ``fetch``; the status
    and announced length are checked before the block runs, so a caller can still answer with
    an error. Leaving the block closes the response; a body not read to the end closes its
    connection too.

    Parameters:
        session, url, accept, headers: as for ``fetch`` (no validators).
        limits: as for ``fetch``; max_bytes is counted while reading (a larger announced
            Content-Length is refused at once with BodyTooLarge), and timeout covers
            everything, the block's own work included (the upstream connection is held that
            long at most).

    Raises what ``fetch`` raises, UpstreamStatus for any non-2xx answer among them.
    """
    target = _preflight(url, limits)
    request_headers = _request_headers(accept, None, headers)
    progress = _Progress(target)
    started = time.monotonic()
    try:
        async with asyncio.timeout(limits.timeout):
            try:
                response = await _open(session, target, progress, limits, request_headers)
                stream = _stream_of(response, progress.url, limits.max_bytes)
            except ProxyError as exc:
                _count_failure(exc, started)
                raise
            metrics.record_fetch("fresh", time.monotonic() - started)
            try:
                yield stream
            finally:
                if response.content.at_eof():
                    response.release()  # read to the end: the connection can be reused
                else:
                    response.close()  # the rest is never read
    except TimeoutError as exc:
        metrics.record_fetch("timeout", time.monotonic() - started)
        raise UpstreamTimeout(
            f"fetch: no complete response within {limits.timeout:g}s ({show(str(progress.url))})"
        ) from exc


def _stream_of(response: aiohttp.ClientResponse, final: URL, limit: int) -> UpstreamStream:
    """The stream of a final response, or the error to answer instead (response closed)."""
    shown = show(str(final))
    try:
        if not 200 <= response.status < 300:
            raise UpstreamStatus(
                f"fetch: upstream answered {_status_text(response)} ({shown})", response.status
            )
        stream = UpstreamStream(response, final, limit)
        if stream.content_length is not None and stream.content_length > limit:
            raise BodyTooLarge(
                f"fetch: upstream announces {stream.content_length} bytes, over the "
                f"{limit}-byte limit ({shown})"
            )
    except ProxyError:
        response.close()
        raise
    return stream


# --- turning library errors into ours --------------------------------------------------------


def _connect_error(exc: aiohttp.ClientConnectorError, url: URL, log: guard.GuardLog) -> ProxyError:
    shown = show(str(url))
    host = url.raw_host or ""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return UpstreamUnreachable(f"fetch: cannot resolve {host} ({shown})")
    refused = ", ".join(dict.fromkeys(log.refused))
    if log.refused and not log.allowed:
        return BlockedAddress(
            f"fetch: {host} is at non-public address {refused}; refused ({shown})"
        )
    reason = _os_reason(exc.os_error)
    # Refused connections and TLS failures are the host's, not one URL's: HostUnreachable
    # backs off the host and port (backoff.py); anything else only the URL.
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return HostUnreachable(
            f"fetch: TLS certificate of {host} not accepted: {one_line(exc.certificate_error)} "
            f"({shown})",
            what="sent a TLS certificate that is not accepted",
        )
    if isinstance(exc, aiohttp.ClientSSLError):
        return HostUnreachable(
            f"fetch: TLS handshake with {host} failed: {reason} ({shown})",
            what="failed the TLS handshake",
        )
    if log.refused:
        reason += f" (non-public {refused} refused)"
    message = f"fetch: cannot connect to {host}:{url.port}: {reason} ({shown})"
    if isinstance(exc.os_error, ConnectionRefusedError) or (
        exc.os_error.errno == errno.ECONNREFUSED
    ):
        return HostUnreachable(message)
    return UpstreamUnreachable(message)


def _transfer_error(exc: BaseException, url: URL) -> ProxyError:
    shown = show(str(url))
    if isinstance(exc, aiohttp.InvalidURL):
        return InvalidURL(f"fetch: {shown} is not a valid URL: {one_line(exc)}")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return UpstreamUnreachable(f"fetch: upstream closed the connection ({shown})")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return UpstreamUnreachable(
            f"fetch: upstream body is cut short or corrupt: {one_line(exc)} ({shown})"
        )
    if isinstance(exc, aiohttp.ClientResponseError):
        return UpstreamUnreachable(
            f"fetch: upstream sent a malformed response: {one_line(exc.message)} ({shown})"
        )
    if isinstance(exc, OSError):
        return UpstreamUnreachable(f"fetch: connection failed: {_os_reason(exc)} ({shown})")
    return UpstreamUnreachable(
        f"fetch: request failed: {type(exc).__name__}: {one_line(exc)} ({shown})"
    )


def _os_reason(exc: OSError) -> str:
    return one_line(exc.strerror or exc) or type(exc).__name__


def _status_text(response: aiohttp.ClientResponse) -> str:
    try:
        phrase = http.HTTPStatus(response.status).phrase
    except ValueError:
        phrase = one_line(response.reason or "")
    return f"{response.status} {phrase}".rstrip()


def _reason(exc: ProxyError) -> str:
    return exc.message.removeprefix("fetch: ")
