"""The access log line of every request, written in one step when logging is set up as
``feedscrub serve`` sets it up (cli/main.py), and through Python logging otherwise.

At the default FEEDSCRUB_LOG_LEVEL=INFO every request writes a line. Through logging, the
line costs about a third of a cached request (callgrind: ~120k of ~460k instructions): aiohttp
formats five atoms by five calls, logging makes a LogRecord, runs two filters (each formatting
the message again), the formatter formats the time, and the handler writes and flushes.
When the records of ``aiohttp.access`` can only reach the one stream handler that
``feedscrub serve`` installs (its format, its SafeLogFilter, the RedactSecrets filter on the
access logger), ``AccessLog`` makes the very line that handler would write (the same time
stamp to the millisecond, level, logger name, and the message redacted and escaped as the
two filters do) and writes it under the handler's lock, flushed, as the handler does. Any
other setup (another handler, a level, a formatter, a test's capture) takes logging's way;
which way is decided at each connection's first line (aiohttp decides whether to log at all
once per connection too).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

from aiohttp.web_log import AccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from proxy.logsafe import SafeLogFilter, escape, redact
from proxy.server.auth import RedactSecrets

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"  # of every line (cli/main.py)
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tfs'  # the access line's message (aiohttp's atoms)
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # logging.Formatter's default_time_format


class AccessLog(AccessLogger):
    """aiohttp's access logger (``access_log_class``), with the one-step line of the module
    docstring for ACCESS_LOG_FORMAT under ``feedscrub serve``'s logging."""

    def __init__(self, logger: logging.Logger, log_format: str = ACCESS_LOG_FORMAT) -> None:
        super().__init__(logger, log_format)
        self._own_format = log_format == ACCESS_LOG_FORMAT
        # Which way this connection's lines go (aiohttp makes an access logger for each
        # connection), decided at its first line, as aiohttp decides once per connection
        # whether to log at all (RequestHandler._logging_enabled). False: not yet.
        self._handler: logging.StreamHandler[Any] | None | Literal[False] = False

    def log(self, request: BaseRequest, response: StreamResponse, time_taken: float) -> None:
        handler = self._handler
        if handler is False:
            handler = self._handler = self._plain_handler()
        if handler is None or request is None:
            super().log(request, response, time_taken)
            return
        try:
            self._write(handler, request, response, time_taken)
        except Exception:  # as aiohttp's own: a line that cannot be made is no failed answer
            self.logger.exception("Error in logging")

    def _write(
        self,
        handler: logging.StreamHandler[Any],
        request: BaseRequest,
        response: StreamResponse,
        time_taken: float,
    ) -> None:
        now = time.time()
        second = int(now)
        clock = _clock
        if second != clock.second:
            clock.stamp = time.strftime(_TIME_FORMAT, time.localtime(now))
            clock.second = second
        version = request.version
        message = (
            f'{request.remote or "-"} "{request.method} {request.path_qs} '
            f'HTTP/{version.major}.{version.minor}" {response.status} {response.body_length} '
            f"{time_taken:06f}s"
        )
        # The logger's RedactSecrets, then the handler's SafeLogFilter (safe(text), which
        # is text again when nothing needs escaping: redact is idempotent).
        text = redact(message)
        escaped = escape(text)
        if escaped != text:
            text = redact(escaped)
        line = f"{clock.stamp},{int((now - second) * 1000):03d} INFO {self.logger.name} {text}\n"
        lock = handler.lock
        assert lock is not None  # made by Handler.__init__
        with lock:  # as Handler.handle, around StreamHandler.emit
            try:
                stream = handler.stream
                stream.write(line)
                stream.flush()  # StreamHandler.flush, inside its lock already
            except Exception:
                record = self.logger.makeRecord(
                    self.logger.name, logging.INFO, "", 0, line[:-1], (), None
                )
                handler.handleError(record)

    def _plain_handler(self) -> logging.StreamHandler[Any] | None:
        """The handler ``plain`` was given, when it is still the one handler this logger's
        INFO records reach and writes them as it did then; else None (logging's own way).
        Checked at a connection's first line: what another handler would change."""
        mine = _plain.mine
        if mine is None or not self._own_format:
            return None
        handler, formatter, guard = mine
        logger = self.logger
        filters = logger.filters
        if len(filters) != 1 or type(filters[0]) is not RedactSecrets:
            return None
        if not logger.isEnabledFor(logging.INFO):
            return None
        node = logger
        while node.parent is not None:  # up to the root
            if node.handlers or not node.propagate:
                return None
            node = node.parent
        handlers = node.handlers
        if len(handlers) != 1 or handlers[0] is not handler or handler.level > logging.INFO:
            return None
        if handler.formatter is not formatter or handler.terminator != "\n":
            return None
        if len(handler.filters) != 1 or handler.filters[0] is not guard:
            return None
        return handler


class _Clock:
    """The time stamp of the current second, made once for every line in it."""

    second = -1
    stamp = ""


_clock = _Clock()


class _Plain:
    """The handler ``feedscrub serve`` writes lines to, with its formatter and filter."""

    mine: tuple[logging.StreamHandler[Any], logging.Formatter, logging.Filter] | None = None


_plain = _Plain()


def plain(handler: logging.Handler) -> bool:
    """Let ``AccessLog`` write its lines to ``handler`` itself, when it is a stream handler
    with LOG_FORMAT and nothing else (no date format, a converter or style of its own) and
    one SafeLogFilter (cli/main.py sets it up so). True when it may."""
    formatter = handler.formatter
    if (
        type(handler) is not logging.StreamHandler
        or len(handler.filters) != 1
        or type(handler.filters[0]) is not SafeLogFilter
        or type(formatter) is not logging.Formatter
        or formatter._fmt != LOG_FORMAT
        or formatter.datefmt is not None
        or formatter.converter is not time.localtime
        or formatter.default_time_format != _TIME_FORMAT
        or formatter.default_msec_format != "%s,%03d"
        or type(formatter._style) is not logging.PercentStyle
        or logging.getLevelName(logging.INFO) != "INFO"
    ):
        _plain.mine = None
        return False
    _plain.mine = (handler, formatter, handler.filters[0])
    return True
