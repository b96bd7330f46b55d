"""Library errors turned into ours: one line each, with the URL, the cause chained by callers.

aiohttp raises its own tree for connection, TLS and transfer failures; a reader must see
which of ours it was (unreachable, refused address, host down, malformed answer).
"""

from __future__ import annotations

import errno
import http

import aiohttp
from yarl import URL

from proxy.errors import (
    BlockedAddress,
    HostUnreachable,
    InvalidURL,
    ProxyError,
    UpstreamUnreachable,
)
from proxy.fetch import guard
from proxy.fetch.urls import one_line, show


def connect_error(exc: aiohttp.ClientConnectorError, url: URL, log: guard.GuardLog) -> ProxyError:
    shown = show(str(url))
    host = url.raw_host or ""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return UpstreamUnreachable(f"fetch: cannot resolve {host} ({shown})")
    refused = ", ".join(dict.fromkeys(log.refused))
    if log.refused and not log.allowed:
        return BlockedAddress(
            f"fetch: {host} is at non-public address {refused}; refused ({shown})"
        )
    reason = os_reason(exc.os_error)
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


def transfer_error(exc: BaseException, url: URL) -> ProxyError:
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
        return UpstreamUnreachable(f"fetch: connection failed: {os_reason(exc)} ({shown})")
    return UpstreamUnreachable(
        f"fetch: request failed: {type(exc).__name__}: {one_line(exc)} ({shown})"
    )


def os_reason(exc: OSError) -> str:
    return one_line(exc.strerror or exc) or type(exc).__name__


def status_text(response: aiohttp.ClientResponse) -> str:
    try:
        phrase = http.HTTPStatus(response.status).phrase
    except ValueError:
        phrase = one_line(response.reason or "")
    return f"{response.status} {phrase}".rstrip()


def reason(exc: ProxyError) -> str:
    return exc.message.removeprefix("fetch: ")
