"""Pre-flight: the shape of an upstream URL and its literal addresses, before any I/O.

``check_url`` gives clean 400/403 answers early; it is *not* the security boundary: the
connect-time guard (``guard.py``) sees the addresses actually connected to.
"""

from __future__ import annotations

from yarl import URL

from proxy import metrics
from proxy.errors import BlockedAddress, InvalidURL
from proxy.fetch import guard

MAX_URL_LENGTH = 4096  # longer URLs are refused; real feed URLs are far shorter
_SHOWN_URL = 200  # characters of a URL quoted in an error message
_HOST_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_")


def check_url(url: str, *, allow_private: bool, hosts: guard.HostRules | None = None) -> str:
    """Check an upstream URL before any I/O and return it normalised.

    Refuses (``InvalidURL``, 400) anything but an absolute http(s) URL with a host: other
    schemes, scheme-relative ``//host``, backslashes, control characters, blank input, URLs
    over 4096 characters and URLs carrying a user name or password. Refuses
    (``BlockedAddress``, 403) hosts that spell a non-public IP address in any notation, and
    ``localhost`` / ``*.localhost``, unless ``allow_private``. Refuses (``BlockedHost``, 403)
    hosts outside ``hosts.allow`` or inside ``hosts.deny`` (``guard.host_rules(settings)``:
    FEEDSCRUB_ALLOW_HOSTS / FEEDSCRUB_DENY_HOSTS); ``fetch`` passes them for every URL and
    redirect hop. A refusal counts as a "refused" upstream fetch in the metrics.

    This gives clean errors early; the connect-time guard in ``new_session`` is what actually
    keeps requests off private addresses.

    Returns the URL as yarl normalises it: lowercased scheme and host, IDNA host, default port
    and fragment dropped.
    """
    try:
        return str(checked_url(url, allow_private=allow_private, hosts=hosts))
    except BlockedAddress:
        metrics.record_fetch("refused")
        raise


def checked_url(url: str, *, allow_private: bool, hosts: guard.HostRules | None = None) -> URL:
    text = url.strip()
    if not text:
        raise InvalidURL("fetch: no URL given")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidURL(
            f"fetch: URL is {len(text)} characters long; the limit is {MAX_URL_LENGTH}"
        )
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        # yarl silently drops tabs and newlines; refuse rather than guess what was meant.
        raise InvalidURL(f"fetch: URL contains a control character ({show(text)})")
    if "\\" in text:
        # Browsers read "\" as "/" in http(s) URLs, yarl does not: a parser differential.
        raise InvalidURL(f"fetch: URL contains a backslash ({show(text)})")
    try:
        parsed = URL(text)
        # yarl checks the port range and decodes IDNA labels lazily: make it happen here.
        parsed.explicit_port  # noqa: B018
        parsed.host  # noqa: B018
    except ValueError as exc:  # includes UnicodeError from IDNA encoding
        raise InvalidURL(f"fetch: {show(text)} is not a valid URL: {one_line(exc)}") from exc
    if parsed.scheme not in ("http", "https"):
        raise InvalidURL(f"fetch: {show(text)} is not an http(s) URL")
    host = parsed.raw_host
    if not host or not parsed.absolute:
        raise InvalidURL(f"fetch: {show(text)} has no host")
    ip = guard.literal_ip(host)
    if ip is None and not set(host) <= _HOST_CHARACTERS:
        raise InvalidURL(f"fetch: {show(text)} has an invalid host name")
    if not allow_private:
        if ip is not None and not guard.is_public_address(ip):
            spelled = "" if host.strip("[].") == str(ip) else f" ({host} is {ip})"
            raise BlockedAddress(
                f"fetch: {ip} is not a public address{spelled}; refused ({show(text)})"
            )
        name = host.rstrip(".")
        if name == "localhost" or name.endswith(".localhost"):
            raise BlockedAddress(f"fetch: {name} is a local host name; refused ({show(text)})")
    if hosts is not None:
        hosts.check(host, ip=None if ip is None else str(ip), shown=show(text))
    # After the host check, so that http://example.com@127.0.0.1/ reads as "127.0.0.1 refused".
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise InvalidURL(f"fetch: {show(text)} carries a user name or password; refused")
    return parsed.with_fragment(None)


def one_line(value: object) -> str:
    return " ".join(str(value).split())[:300]


def show(url: str) -> str:
    """A URL fit for a one-line message: printable, and not too long."""
    printable = "".join(char if char.isprintable() else repr(char)[1:-1] for char in url)
    if len(printable) > _SHOWN_URL:
        return printable[: _SHOWN_URL - 1] + "…"
    return printable
