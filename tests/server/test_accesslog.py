"""The access log's one-step line (server/accesslog.py) is the line logging would write.

Two real ``feedscrub serve`` processes at the default INFO level get the same requests: one
as it ships (its access lines written by ``AccessLog`` in one step), one with a handler
added to the ``aiohttp`` logger that drops nothing but sends every access line through
Python logging's own way. Their access lines must be the same but for the clock's time
stamp and the time taken: redacted keys, escaped paths, HEAD, errors and all.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from proxy import logsafe
from proxy.server import accesslog
from proxy.server.accesslog import ACCESS_LOG_FORMAT, LOG_FORMAT, AccessLog
from proxy.server.auth import RedactSecrets
from tests.test_hardening_serve import KEY, _env, _free_port, _get

# The CLI's serve, with (argv[1] == "logging") a second handler on the way of access lines.
SERVE = """
import importlib, logging, sys
cli = importlib.import_module("proxy.cli.main")
configure = cli._configure_logging
def configured(settings):
    configure(settings)
    if sys.argv[1] == "logging":
        logging.getLogger("aiohttp").addHandler(logging.NullHandler())
cli._configure_logging = configured
sys.exit(cli.main(["serve"]))
"""
LINE = re.compile(
    r"\A(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (INFO aiohttp\.access 127\.0\.0\.1 \"[^\"]*\" "
    r"\d{3} \d+ )(\d+\.\d{6})s\Z"
)
PATHS = [
    "/healthz",
    "/healthz?a=1&b=%20",
    f"/feed?url=http%3A%2F%2F127.0.0.1%2Fx&key={KEY}",  # the key: accepted, then redacted
    f"/feed?url=http%3A%2F%2F127.0.0.1%2Fx&k%65y={KEY}&sig=abc",
    "/feeds/x%0A2026-12-01%2013:00:00,000%20WARNING%20FORGED",  # a decoded newline
    "/feeds/%E4%B8%AD%E6%96%87",
    "/nope",
    "/feed",
]


def access_lines(tmp_path: Path, way: str) -> list[str]:
    """The access lines of one server that answered PATHS (GET, then HEAD), in order."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, way],
        env=_env(tmp_path / way, port, FEEDSCRUB_ACCESS_KEY=KEY, FEEDSCRUB_LOG_LEVEL="INFO"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if _get(base + "/healthz") == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "never healthy"
            time.sleep(0.1)
        for path in PATHS:
            _get(base + path)
            request = urllib.request.Request(base + path, method="HEAD")
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(request, timeout=10).close()
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=15)
    lines = output.decode("utf-8", "replace").splitlines()
    return [line for line in lines if " aiohttp.access " in line]


def test_the_one_step_line_is_the_line_logging_writes(tmp_path: Path) -> None:
    fast, slow = access_lines(tmp_path, "fast"), access_lines(tmp_path, "logging")
    assert len(fast) == len(slow) >= 2 * len(PATHS)
    for one, other in zip(fast, slow, strict=True):
        matched, expected = LINE.match(one), LINE.match(other)
        assert matched and expected, (one, other)
        assert matched.group(2) == expected.group(2)
    shown = "\n".join(fast)
    assert KEY not in shown and "key=<redacted>" in shown and "k%65y=<redacted>" in shown
    assert '"HEAD /healthz HTTP/1.1" 200' in shown
    # the stamp is this second's (the server's local time, as logging's formatter has it)
    stamp = LINE.match(fast[-1])
    assert stamp is not None
    written = time.mktime(time.strptime(stamp.group(1).split(",")[0], "%Y-%m-%d %H:%M:%S"))
    assert abs(written - time.time()) < 120


def _setup() -> tuple[logging.Logger, logging.StreamHandler[io.StringIO]]:
    """``feedscrub serve``'s logging on a tree of its own (pytest's handlers sit on the
    process's root): a root with one stream handler, the access logger under it."""
    root = logging.RootLogger(logging.INFO)
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logsafe.install(handler)
    root.addHandler(handler)
    assert accesslog.plain(handler)  # as cli/main.py does
    access = logging.Logger("aiohttp.access")
    access.parent = root
    access.addFilter(RedactSecrets())
    return access, handler


def _request(path: str) -> web.BaseRequest:
    transport = mock.Mock()
    transport.get_extra_info.return_value = ("10.0.0.7", 5555)
    return make_mocked_request("GET", path, transport=transport)


@pytest.mark.parametrize(
    "path", ["/feed?url=x", f"/feed?url=x&key={KEY}", "/feeds/a%0Ab", "/x?sig=s&k%65y=k"]
)
def test_in_process_the_same_line_both_ways(path: str) -> None:
    access, handler = _setup()
    log = AccessLog(access, ACCESS_LOG_FORMAT)
    assert log._plain_handler() is handler  # this setup takes the one step
    log.log(_request(path), web.Response(status=404), 0.000123)
    access.addHandler(logging.NullHandler())  # now logging's way, to the same stream
    log = AccessLog(access, ACCESS_LOG_FORMAT)  # on the next connection
    assert log._plain_handler() is None
    log.log(_request(path), web.Response(status=404), 0.000123)
    fast, slow = handler.stream.getvalue().splitlines()
    assert fast[24:] == slow[24:]  # after the time stamp (to the millisecond)
    assert fast[23:].startswith(' INFO aiohttp.access 10.0.0.7 "GET ')
    assert KEY not in fast and "\n" not in fast


def _other_format(access: logging.Logger, handler: logging.StreamHandler[io.StringIO]) -> None:
    handler.setFormatter(logging.Formatter("%(message)s"))


def _date_format(access: logging.Logger, handler: logging.StreamHandler[io.StringIO]) -> None:
    handler.setFormatter(logging.Formatter(LOG_FORMAT, datefmt="%H:%M"))


def _handler_level(access: logging.Logger, handler: logging.StreamHandler[io.StringIO]) -> None:
    handler.setLevel(logging.WARNING)


def _handler_filter(access: logging.Logger, handler: logging.StreamHandler[io.StringIO]) -> None:
    handler.addFilter(logging.Filter("x"))


def _logger_filter(access: logging.Logger, handler: logging.StreamHandler[io.StringIO]) -> None:
    access.addFilter(logging.Filter("aiohttp"))


def _no_propagation(access: logging.Logger, handler: logging.StreamHandler[io.StringIO]) -> None:
    access.propagate = False


def _logger_level(access: logging.Logger, handler: logging.StreamHandler[io.StringIO]) -> None:
    access.setLevel(logging.WARNING)


def _terminator(access: logging.Logger, handler: logging.StreamHandler[io.StringIO]) -> None:
    handler.terminator = "\r\n"


@pytest.mark.parametrize(
    "change",
    [
        _other_format,
        _date_format,
        _handler_level,
        _handler_filter,
        _logger_filter,
        _no_propagation,
        _logger_level,
        _terminator,
    ],
)
def test_any_other_logging_setup_takes_loggings_way(
    change: Callable[[logging.Logger, logging.StreamHandler[io.StringIO]], None],
) -> None:
    access, handler = _setup()
    assert AccessLog(access, ACCESS_LOG_FORMAT)._plain_handler() is handler
    access, handler = _setup()  # anew: a logger of its own tree keeps its level cache
    change(access, handler)
    assert AccessLog(access, ACCESS_LOG_FORMAT)._plain_handler() is None


def test_another_access_format_is_aiohttps() -> None:
    access, handler = _setup()
    other = AccessLog(access, '%a "%r"')
    other.log(_request("/x"), web.Response(), 0.1)  # another format: aiohttp's own atoms
    assert handler.stream.getvalue().endswith(' INFO aiohttp.access 10.0.0.7 "GET /x HTTP/1.1"\n')


def test_only_a_handler_that_writes_as_serve_does_is_written_to() -> None:
    for formatter in (
        logging.Formatter(LOG_FORMAT, datefmt="%H:%M"),
        logging.Formatter("%(asctime)s %(message)s"),
        logging.Formatter("{asctime} {levelname} {name} {message}", style="{"),
    ):
        handler = logging.StreamHandler(io.StringIO())
        handler.setFormatter(formatter)
        logsafe.install(handler)
        assert not accesslog.plain(handler)
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    assert not accesslog.plain(handler)  # no SafeLogFilter on it
    access, handler = _setup()
    assert AccessLog(access, ACCESS_LOG_FORMAT)._plain_handler() is handler
    other = logging.StreamHandler(io.StringIO())
    other.setFormatter(logging.Formatter("%(message)s"))
    accesslog.plain(other)  # declined, and the one before no longer taken
    assert AccessLog(access, ACCESS_LOG_FORMAT)._plain_handler() is None
