"""Upstream I/O: limits, timeouts, conditional GET, address guard.

The only module that opens client connections.

Three layers keep requests away from the machine's own network (research §A):

1. ``check_url`` (pre-flight): shape of the URL and literal addresses. Gives clean 400/403
   answers early; it is *not* the security boundary.
2. The connect-time guard installed by ``new_session`` as ``TCPConnector(socket_factory=…)``:
   it sees the address actually being connected to, for IP literals, resolved names, every
   redirect hop and DNS answers that change between lookups. A refused address raises
   ``OSError`` there, and the refusal is noted in a context variable so ``fetch`` answers
   ``BlockedAddress`` (403) rather than a generic 502.
3. ``fetch`` follows redirects itself and runs ``check_url`` on every ``Location``.

Mixed DNS answers (some public, some not): the guard refuses the non-public addresses one by
one and the connector moves on to the next, so a request only ever connects to allowed
addresses, and fails with ``BlockedAddress`` when none is left.

The session keeps no cookies (``DummyCookieJar``): one session serves every reader, and one
upstream's cookies must not follow another reader's request.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import http
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field

import aiohttp
import aiohttp.abc
from aiohappyeyeballs import AddrInfoType
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from proxy import __version__, access, addresses, metrics
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
from proxy.models import FetchResult, Validators

logger = logging.getLogger(__name__)

USER_AGENT = f"feedscrub/{__version__} (+https://github.com/feedscrub/feedscrub)"

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/*;q=0.9,*/*;q=0.5"

AddressPolicy = Callable[[str], bool]
"""An IP address as a string (``"127.0.0.1"``, ``"::1"``) -> may we connect to it?"""

MAX_URL_LENGTH = 4096  # longer URLs are refused; real feed URLs are far shorter
_READ_CHUNK = 64 * 1024  # one read from the body stream; the cap is overshot by at most this
_SHOWN_URL = 200  # characters of a URL quoted in an error message
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CONDITIONAL_HEADERS = ("If-None-Match", "If-Modified-Since")
# Caller headers that must not follow a redirect to another origin.
_CREDENTIAL_HEADERS = ("Authorization", "Proxy-Authorization", "Cookie")
_HOST_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_")


# --- pre-flight ------------------------------------------------------------------------------


def check_url(
    url: str, *, allow_private: bool, hosts: access.HostRules | None = None
) -> str:
    """Check an upstream URL before any I/O and return it normalised.

    Refuses (``InvalidURL``, 400) anything but an absolute http(s) URL with a host: other
    schemes, scheme-relative ``//host``, backslashes, control characters, blank input, URLs
    over 4096 characters and URLs carrying a user name or password. Refuses
    (``BlockedAddress``, 403) hosts that spell a non-public IP address in any notation, and
    ``localhost`` / ``*.localhost``, unless ``allow_private``. Refuses (``BlockedHost``, 403)
    hosts outside ``hosts.allow`` or inside ``hosts.deny`` (``access.host_rules(settings)``:
    FEEDSCRUB_ALLOW_HOSTS / FEEDSCRUB_DENY_HOSTS); ``fetch`` passes them for every URL and
    redirect hop. A refusal counts as a "refused" upstream fetch in the metrics.

    This gives clean errors early; the connect-time guard in ``new_session`` is what actually
    keeps requests off private addresses.

    Returns the URL as yarl normalises it: lowercased scheme and host, IDNA host, default port
    and fragment dropped.
    """
    try:
        return str(_checked_url(url, allow_private=allow_private, hosts=hosts))
    except BlockedAddress:
        metrics.record_fetch("refused")
        raise


def _checked_url(
    url: str, *, allow_private: bool, hosts: access.HostRules | None = None
) -> URL:
    text = url.strip()
    if not text:
        raise InvalidURL("fetch: no URL given")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidURL(
            f"fetch: URL is {len(text)} characters long; the limit is {MAX_URL_LENGTH}"
        )
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        # yarl silently drops tabs and newlines; refuse rather than guess what was meant.
        raise InvalidURL(f"fetch: URL contains a control character ({_show(text)})")
    if "\\" in text:
        # Browsers read "\" as "/" in http(s) URLs, yarl does not: a parser differential.
        raise InvalidURL(f"fetch: URL contains a backslash ({_show(text)})")
    try:
        parsed = URL(text)
        # yarl checks the port range and decodes IDNA labels lazily: make it happen here.
        parsed.explicit_port  # noqa: B018
        parsed.host  # noqa: B018
    except ValueError as exc:  # includes UnicodeError from IDNA encoding
        raise InvalidURL(f"fetch: {_show(text)} is not a valid URL: {_one_line(exc)}") from exc
    if parsed.scheme not in ("http", "https"):
        raise InvalidURL(f"fetch: {_show(text)} is not an http(s) URL")
    host = parsed.raw_host
    if not host or not parsed.absolute:
        raise InvalidURL(f"fetch: {_show(text)} has no host")
    ip = addresses.literal_ip(host)
    if ip is None and not set(host) <= _HOST_CHARACTERS:
        raise InvalidURL(f"fetch: {_show(text)} has an invalid host name")
    if not allow_private:
        if ip is not None and not addresses.is_public_address(ip):
            spelled = "" if host.strip("[].") == str(ip) else f" ({host} is {ip})"
            raise BlockedAddress(
                f"fetch: {ip} is not a public address{spelled}; refused ({_show(text)})"
            )
        name = host.rstrip(".")
        if name == "localhost" or name.endswith(".localhost"):
            raise BlockedAddress(f"fetch: {name} is a local host name; refused ({_show(text)})")
    if hosts is not None:
        hosts.check(host, ip=None if ip is None else str(ip), shown=_show(text))
    # After the host check, so that http://example.com@127.0.0.1/ reads as "127.0.0.1 refused".
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise InvalidURL(f"fetch: {_show(text)} carries a user name or password; refused")
    return parsed.with_fragment(None)


# --- the session and its connect-time guard --------------------------------------------------


@dataclass
class _GuardLog:
    """What the guard decided during one request (one redirect hop)."""

    refused: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)


# A mutable log rather than a flag: Happy Eyeballs connects from child tasks, which see a copy
# of the context, so they must append to an object the request's own task can read.
_guard_log: ContextVar[_GuardLog | None] = ContextVar("feedscrub_guard_log", default=None)


def _allow_all(ip: str) -> bool:
    return True


def _guarded_socket_factory(policy: AddressPolicy) -> Callable[[AddrInfoType], socket.socket]:
    def create_socket(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        ip = str(sockaddr[0])
        log = _guard_log.get()
        try:
            allowed = policy(ip)
        except Exception:  # a policy that cannot decide refuses
            logger.exception("fetch: address policy failed ip=%s", ip)
            allowed = False
        if not allowed:
            if log is not None:
                log.refused.append(ip)
            logger.warning("fetch: refused connection to non-public address ip=%s", ip)
            raise OSError(errno.EACCES, f"connection to non-public address {ip} refused")
        if log is not None:
            log.allowed.append(ip)
        return socket.socket(family=family, type=type_, proto=proto)

    return create_socket


def new_session(
    settings: Settings,
    *,
    resolver: aiohttp.abc.AbstractResolver | None = None,
    address_policy: AddressPolicy | None = None,
) -> aiohttp.ClientSession:
    """The one client session of the app, with the connect-time address guard installed.

    Call it inside a running event loop (aiohttp requires one) and close it on shutdown.

    Parameters:
        settings: per_host_connections, fetch/connect timeouts and allow_private are used.
        resolver: a DNS resolver; aiohttp's default when None. Tests pass a fake one. The
            resolver is not part of the guard: IP literals never reach it.
        address_policy: decides, for each address about to be connected to, whether that is
            allowed; ``addresses.is_public_address`` when None. Ignored when
            ``settings.allow_private`` is set: then every address is allowed.
    """
    policy: AddressPolicy = (
        _allow_all if settings.allow_private else (address_policy or addresses.is_public_address)
    )
    connector = aiohttp.TCPConnector(
        limit_per_host=settings.per_host_connections,
        socket_factory=_guarded_socket_factory(policy),
        resolver=resolver,
    )
    return aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": USER_AGENT},
        timeout=_client_timeout(settings),
        trust_env=False,  # HTTP(S)_PROXY would move the connection out of the guard's sight
        auto_decompress=True,
        cookie_jar=aiohttp.DummyCookieJar(),
    )


def _client_timeout(settings: Settings) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(
        total=settings.fetch_timeout, sock_connect=settings.connect_timeout
    )


# --- fetch -----------------------------------------------------------------------------------


@dataclass
class _Progress:
    """Where a fetch has got to, for error messages raised outside the redirect loop."""

    url: URL


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    *,
    settings: Settings,
    validators: Validators | None = None,
    accept: str = FEED_ACCEPT,
    max_bytes: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> FetchResult:
    """GET one upstream URL within the limits of ``settings`` and return it read whole.

    Parameters:
        session: the app's session from ``new_session`` (it carries the address guard).
        url: the upstream URL; checked with ``check_url`` first.
        settings: fetch_timeout bounds the whole fetch (every redirect hop and the body),
            connect_timeout each connection attempt; max_redirects, max_body_bytes and
            allow_private apply as well.
        validators: the cached entry's ETag / Last-Modified, sent as If-None-Match /
            If-Modified-Since. A 304 then gives ``FetchResult(status=304, body=b"")``. The
            validators are sent and kept even when the upstream says ``Expires: 0``: the
            caller decides what to cache.
        accept: the Accept header (``FEED_ACCEPT`` or ``IMAGE_ACCEPT``).
        max_bytes: body limit, counted after decompression while streaming;
            ``settings.max_body_bytes`` when None.
        headers: extra request headers (credentials among them are dropped on a redirect to
            another origin).

    Raises, always with the cause chained: InvalidURL (400), BlockedAddress (403),
    UpstreamStatus / UpstreamUnreachable / BodyTooLarge / TooManyRedirects / UpstreamError
    (502, the last for a redirect to a non-http(s) URL), UpstreamTimeout (504).
    """
    target = _preflight(url, settings)
    limit = settings.max_body_bytes if max_bytes is None else max_bytes
    request_headers = _request_headers(accept, validators, headers)
    progress = _Progress(target)
    started = time.monotonic()
    try:
        async with asyncio.timeout(settings.fetch_timeout):
            result = await _follow(
                session,
                target,
                progress,
                settings=settings,
                headers=request_headers,
                validators=validators,
                limit=limit,
            )
    except TimeoutError as exc:
        metrics.record_fetch("timeout", time.monotonic() - started)
        elapsed_ms = int((time.monotonic() - started) * 1000)
        logger.info(
            "fetch: timeout feed_url=%s elapsed_ms=%d", _show(str(progress.url)), elapsed_ms
        )
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            message = f"could not connect within {settings.connect_timeout:g}s"
        else:
            message = f"no response within {settings.fetch_timeout:g}s"
        raise UpstreamTimeout(f"fetch: {message} ({_show(str(progress.url))})") from exc
    except ProxyError as exc:
        outcome: metrics.FetchOutcome = "refused" if isinstance(exc, BlockedAddress) else "error"
        metrics.record_fetch(outcome, time.monotonic() - started)
        raise
    metrics.record_fetch("304" if result.status == 304 else "fresh", time.monotonic() - started)
    logger.debug(
        "fetch: done feed_url=%s status=%s bytes=%d elapsed_ms=%d",
        _show(result.url),
        result.status,
        len(result.body),
        int((time.monotonic() - started) * 1000),
    )
    return result


def _preflight(url: str, settings: Settings) -> URL:
    """The checked URL of a fetch (400/403 before any I/O); a refusal is counted."""
    try:
        return _checked_url(
            url, allow_private=settings.allow_private, hosts=access.host_rules(settings)
        )
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


async def _follow(
    session: aiohttp.ClientSession,
    target: URL,
    progress: _Progress,
    *,
    settings: Settings,
    headers: CIMultiDict[str],
    validators: Validators | None,
    limit: int,
) -> FetchResult:
    """Request ``target``, following at most ``settings.max_redirects`` redirects by hand."""
    current = target
    hop_headers = headers
    timeout = _client_timeout(settings)
    for redirects in range(settings.max_redirects + 1):
        progress.url = current
        log = _GuardLog()
        token = _guard_log.set(log)
        try:
            async with session.get(
                current, headers=hop_headers, allow_redirects=False, timeout=timeout
            ) as response:
                if response.status in _REDIRECT_STATUSES:
                    if redirects == settings.max_redirects:
                        raise TooManyRedirects(
                            f"fetch: more than {settings.max_redirects} redirects "
                            f"({_show(str(target))})"
                        )
                    current = _next_hop(response, current, settings)
                    if _origin(current) != _origin(target):
                        hop_headers = headers.copy()
                        for name in _CREDENTIAL_HEADERS:
                            hop_headers.popall(name, None)
                    continue
                return await _read(
                    response, current, limit=limit, headers=headers, validators=validators
                )
        except (ProxyError, TimeoutError):
            raise
        except aiohttp.ClientConnectorError as exc:
            raise _connect_error(exc, current, log) from exc
        except (aiohttp.ClientError, OSError, EOFError, ValueError) as exc:
            raise _transfer_error(exc, current) from exc
        finally:
            _guard_log.reset(token)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def _next_hop(response: aiohttp.ClientResponse, current: URL, settings: Settings) -> URL:
    location = response.headers.get("Location", "").strip()
    if not location:
        raise UpstreamStatus(
            f"fetch: upstream answered {_status_text(response)} without a Location "
            f"({_show(str(current))})",
            response.status,
        )
    try:
        joined = str(current.join(URL(location)))
    except ValueError:
        joined = location
    try:
        return _checked_url(
            joined, allow_private=settings.allow_private, hosts=access.host_rules(settings)
        )
    except BlockedAddress as exc:
        raise BlockedAddress(
            f"fetch: redirect from {_show(str(current))} refused: {_reason(exc)}"
        ) from exc
    except InvalidURL as exc:
        # The upstream sent it, not the reader: a failed upstream (502), not a bad request.
        raise UpstreamError(
            f"fetch: redirect from {_show(str(current))} refused: {_reason(exc)}"
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
    shown = _show(str(url))
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
            raise BodyTooLarge(f"fetch: body exceeds {self._limit} bytes ({_show(self.url)})")
        return chunk


@contextlib.asynccontextmanager
async def open_stream(
    session: aiohttp.ClientSession,
    url: str,
    *,
    settings: Settings,
    accept: str = IMAGE_ACCEPT,
    max_bytes: int | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> AsyncIterator[UpstreamStream]:
    """GET one upstream URL and hand its body over as a stream (``async with``).

    The same guard, URL checks, host rules, redirect handling and errors as ``fetch``; the
    status and announced length are checked before the block runs, so a caller can still
    answer with an error. Leaving the block closes the response; a body not read to the end
    closes its connection too.

    Parameters:
        session, url, settings, accept, headers: as for ``fetch`` (no validators).
        max_bytes: body limit counted while reading (``settings.max_body_bytes`` when None);
            a larger announced Content-Length is refused at once with BodyTooLarge.
        timeout: seconds for everything, the block's own work included (the upstream
            connection is held that long at most); ``settings.fetch_timeout`` when None.

    Raises what ``fetch`` raises, UpstreamStatus for any non-2xx answer among them.
    """
    target = _preflight(url, settings)
    limit = settings.max_body_bytes if max_bytes is None else max_bytes
    seconds = settings.fetch_timeout if timeout is None else timeout
    client_timeout = aiohttp.ClientTimeout(total=seconds, sock_connect=settings.connect_timeout)
    request_headers = _request_headers(accept, None, headers)
    progress = _Progress(target)
    started = time.monotonic()
    try:
        async with asyncio.timeout(seconds):
            try:
                response, final = await _open_final(
                    session, target, progress, settings=settings, headers=request_headers,
                    timeout=client_timeout,
                )
                stream = _stream_of(response, final, limit)
            except ProxyError as exc:
                outcome: metrics.FetchOutcome = (
                    "refused" if isinstance(exc, BlockedAddress) else "error"
                )
                metrics.record_fetch(outcome, time.monotonic() - started)
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
            f"fetch: no complete response within {seconds:g}s ({_show(str(progress.url))})"
        ) from exc


def _stream_of(response: aiohttp.ClientResponse, final: URL, limit: int) -> UpstreamStream:
    """The stream of a final response, or the error to answer instead (response closed)."""
    shown = _show(str(final))
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


async def _open_final(
    session: aiohttp.ClientSession,
    target: URL,
    progress: _Progress,
    *,
    settings: Settings,
    headers: CIMultiDict[str],
    timeout: aiohttp.ClientTimeout,
) -> tuple[aiohttp.ClientResponse, URL]:
    """Like ``_follow``, but return the final response open, its body unread."""
    current = target
    hop_headers = headers
    for redirects in range(settings.max_redirects + 1):
        progress.url = current
        log = _GuardLog()
        token = _guard_log.set(log)
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
            _guard_log.reset(token)
        if response.status not in _REDIRECT_STATUSES:
            return response, current
        try:
            if redirects == settings.max_redirects:
                raise TooManyRedirects(
                    f"fetch: more than {settings.max_redirects} redirects ({_show(str(target))})"
                )
            current = _next_hop(response, current, settings)
        finally:
            response.release()
        if _origin(current) != _origin(target):
            hop_headers = headers.copy()
            for name in _CREDENTIAL_HEADERS:
                hop_headers.popall(name, None)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


# --- turning library errors into ours --------------------------------------------------------


def _connect_error(exc: aiohttp.ClientConnectorError, url: URL, log: _GuardLog) -> ProxyError:
    shown = _show(str(url))
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
            f"fetch: TLS certificate of {host} not accepted: {_one_line(exc.certificate_error)} "
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
    shown = _show(str(url))
    if isinstance(exc, aiohttp.InvalidURL):
        return InvalidURL(f"fetch: {shown} is not a valid URL: {_one_line(exc)}")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return UpstreamUnreachable(f"fetch: upstream closed the connection ({shown})")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return UpstreamUnreachable(
            f"fetch: upstream body is cut short or corrupt: {_one_line(exc)} ({shown})"
        )
    if isinstance(exc, aiohttp.ClientResponseError):
        return UpstreamUnreachable(
            f"fetch: upstream sent a malformed response: {_one_line(exc.message)} ({shown})"
        )
    if isinstance(exc, OSError):
        return UpstreamUnreachable(f"fetch: connection failed: {_os_reason(exc)} ({shown})")
    return UpstreamUnreachable(
        f"fetch: request failed: {type(exc).__name__}: {_one_line(exc)} ({shown})"
    )


def _os_reason(exc: OSError) -> str:
    return _one_line(exc.strerror or exc) or type(exc).__name__


def _status_text(response: aiohttp.ClientResponse) -> str:
    try:
        phrase = http.HTTPStatus(response.status).phrase
    except ValueError:
        phrase = _one_line(response.reason or "")
    return f"{response.status} {phrase}".rstrip()


def _reason(exc: ProxyError) -> str:
    return exc.message.removeprefix("fetch: ")


def _one_line(value: object) -> str:
    return " ".join(str(value).split())[:300]


def _show(url: str) -> str:
    """A URL fit for a one-line message: printable, and not too long."""
    printable = "".join(char if char.isprintable() else repr(char)[1:-1] for char in url)
    if len(printable) > _SHOWN_URL:
        return printable[: _SHOWN_URL - 1] + "…"
    return printable
