"""Running the app on a socket: bind first and only then say so, bound the open connections,
warn once when the instance is open to anyone, stop gracefully on SIGTERM/SIGINT.

``web.run_app`` logs nothing useful when the port is taken (a traceback, after our own
"serve" line), and accepts any number of connections. This does neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal

from aiohttp import web

from proxy.config import Settings
from proxy.errors import ConfigError
from proxy.server.accesslog import ACCESS_LOG_FORMAT, AccessLog

logger = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 5.0  # in-flight requests get this long on SIGTERM
_BUSY_BODY = b"too many open connections; try again shortly\n"
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 1\r\n"
    b"Connection: close\r\nContent-Length: "
    + str(len(_BUSY_BODY)).encode()
    + b"\r\n\r\n"
    + _BUSY_BODY
)


class _Busy(asyncio.Protocol):
    """A connection over FEEDSCRUB_MAX_CONNECTIONS: one 503, then closed, nothing read."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(_BUSY)
        transport.close()


class LimitedSite(web.BaseSite):
    """A TCP site that accepts at most ``max_connections`` open connections at once; the
    next ones get a 503 and are closed (an idle keep-alive connection counts too, until the
    header timeout closes it)."""

    __slots__ = ("_host", "_port", "_max_connections")

    def __init__(
        self, runner: web.BaseRunner, host: str, port: int, *, max_connections: int
    ) -> None:
        super().__init__(runner)
        self._host = host
        self._port = port
        self._max_connections = max_connections

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        """The bound port (the asked-for one before start; useful with port 0)."""
        server = self._server
        if isinstance(server, asyncio.Server) and server.sockets:
            return int(server.sockets[0].getsockname()[1])
        return self._port

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        limit = self._max_connections

        def protocol() -> asyncio.Protocol:
            if len(server.connections) >= limit:
                return _Busy()
            return server()

        self._server = await asyncio.get_running_loop().create_server(
            protocol, self._host or None, self._port, backlog=self._backlog
        )


def exposure_warning(settings: Settings) -> str | None:
    """The start-up warning for an instance anyone may use as a fetcher, or None.

    Ad-hoc /feed without FEEDSCRUB_ACCESS_KEY on an address other machines reach fetches any
    URL for whoever finds it. Loopback, a key, or FEEDSCRUB_ADHOC=false: no warning.
    """
    if settings.access_key or not settings.adhoc or _is_loopback(settings.host):
        return None
    return (
        f"serve: listening on {settings.host or '0.0.0.0'} without FEEDSCRUB_ACCESS_KEY: "
        "anyone who reaches this port can make feedscrub fetch any feed URL for them; set "
        "FEEDSCRUB_ACCESS_KEY (then share links made with 'feedscrub sign'), or listen on "
        "127.0.0.1 behind your own proxy"
    )


def _is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # "", 0.0.0.0, ::, a LAN address, or a name that may resolve to one


async def serve(app: web.Application, settings: Settings) -> None:
    """Serve ``app`` on settings.host:port until SIGTERM or SIGINT.

    Raises ConfigError (one line, before any "serve" log line) when the address cannot be
    bound: the port is taken, the address is not this machine's, no permission.
    """
    runner = web.AppRunner(
        app,
        access_log_class=AccessLog,  # one write per line (server/accesslog.py)
        access_log_format=ACCESS_LOG_FORMAT,
        shutdown_timeout=SHUTDOWN_SECONDS,
    )
    await runner.setup()
    site = LimitedSite(
        runner, settings.host, settings.port, max_connections=settings.max_connections
    )
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        reason = exc.strerror or str(exc)
        raise ConfigError(
            f"cannot listen on {settings.host}:{settings.port}: {reason} "
            "(FEEDSCRUB_HOST / FEEDSCRUB_PORT)"
        ) from None
    logger.info(
        "serve host=%s port=%d cache_dir=%s images=%s ttl=%d",
        settings.host,
        site.port,
        settings.cache_dir,
        settings.images,
        settings.ttl,
    )
    warning = exposure_warning(settings)
    if warning:
        logger.warning("%s", warning)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(signum)
        logger.info("serve: stopping")
        await runner.cleanup()
