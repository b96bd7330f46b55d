"""Where an upstream may be: the IP policy, the connect-time guard, and the host rules.

``client.new_session`` installs the guard (``guarded_socket_factory``), which asks
``is_public_address`` about every address about to be connected to, and notes refusals in
``guard_log`` so a fetch can answer 403 rather than 502. ``urls.check_url`` asks
``literal_ip`` about hosts written as numbers and ``HostRules`` about every host name
(FEEDSCRUB_ALLOW_HOSTS / FEEDSCRUB_DENY_HOSTS, globs over the name as written in the URL, IDN
names in their xn-- form; the guard judges the addresses names resolve to).

Why not ``ipaddress``'s ``is_global`` alone: on Python 3.11.7 it answers True for multicast
``224.0.0.1``, site-local ``fec0::1``, 6to4 ``2002:c0a8:ffff::`` (embeds 192.168.255.255) and,
before CVE-2024-4032 was fixed (3.11.10 / 3.12.4), ``192.0.0.8``. So IPv6 forms that carry an
IPv4 address are unwrapped first, and the ranges below are refused by an explicit list as well.
"""

from __future__ import annotations

import errno
import functools
import ipaddress
import logging
import socket
import string
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from aiohappyeyeballs import AddrInfoType

from proxy.config import Settings
from proxy.errors import BlockedHost
from proxy.hostpatterns import parse_host_patterns

logger = logging.getLogger(__name__)

AddressPolicy = Callable[[str], bool]
"""An IP address as a string (``"127.0.0.1"``, ``"::1"``) -> may we connect to it?"""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IANA special-purpose ranges that are not reachable on the public internet (or that lead back
# into the machine or its network), refused whatever the running Python's ``is_global`` says.
_DENIED_V4: tuple[ipaddress.IPv4Network, ...] = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches loopback on Linux (imgproxy CVE-2025-24354)
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # CGNAT, RFC 6598: neither private nor global to ipaddress
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, cloud metadata (169.254.169.254)
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # IETF protocol assignments (192.0.0.8 slipped through before 3.11.10)
        "192.0.2.0/24",  # TEST-NET-1
        "192.168.0.0/16",  # RFC 1918
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # TEST-NET-2
        "203.0.113.0/24",  # TEST-NET-3
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and 255.255.255.255 broadcast
    )
)

_DENIED_V6: tuple[ipaddress.IPv6Network, ...] = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "::/128",  # unspecified
        "::1/128",  # loopback
        "::/96",  # deprecated IPv4-compatible addresses
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215)
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments (Teredo 2001::/32 is unwrapped before this)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # SRv6 SIDs (RFC 9602)
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated, still routed inside some networks)
        "ff00::/8",  # multicast
    )
)

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # well-known prefix, RFC 6052
_TEREDO = ipaddress.IPv6Network("2001::/32")


def is_public_address(ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True when ``ip`` is an address on the public internet that an upstream may use.

    False for loopback, private, link-local, multicast, reserved, unspecified, site-local,
    CGNAT, benchmarking, documentation and IETF-protocol ranges, and for anything that is not
    an IP address at all. IPv6 forms that carry an IPv4 address (IPv4-mapped, 6to4, Teredo,
    NAT64 ``64:ff9b::/96``) are judged by the IPv4 address they carry; Teredo by both of its
    ends.
    """
    if isinstance(ip, str):
        try:
            address: IPAddress = ipaddress.ip_address(ip.strip())
        except ValueError:
            return False
    else:
        address = ip
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return all(_is_public_plain(inner) for inner in embedded)
    return _is_public_plain(address)


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address] | None:
    """The IPv4 addresses an IPv6 address carries, or None when it is not such a wrapper."""
    if address.version == 4:
        return None
    assert isinstance(address, ipaddress.IPv6Address)
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address in _TEREDO and address.teredo is not None:
        server, client = address.teredo
        return [server, client]
    if address in _NAT64:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    return None


def _is_public_plain(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv4Address):
        if any(address in network for network in _DENIED_V4):
            return False
    elif any(address in network for network in _DENIED_V6) or address.is_site_local:
        return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``host`` spells, when it is an IP literal; None when it is a name.

    Accepts ``[v6]`` brackets, IPv6 zone ids, one trailing dot, and every IPv4 spelling that
    ``inet_aton`` (and so ``getaddrinfo``) accepts: 1 to 4 parts, each decimal, octal
    (leading 0) or hex (0x), the last part filling the remaining bytes: ``2130706433``,
    ``0x7f.1``, ``0177.0.0.1`` and ``127.1`` all mean 127.0.0.1. A trailing dot
    (``169.254.169.254.``) is read as the address too, although getaddrinfo would send it to
    DNS: refusing it early is the safe reading.
    """
    text = host.strip().lower()
    bracketed = text.startswith("[") and text.endswith("]")
    if bracketed:
        text = text[1:-1]
    if ":" in text or bracketed:  # brackets hold IPv6 only
        try:
            return ipaddress.IPv6Address(text.replace("%25", "%", 1))
        except ValueError:
            return None
    if text.endswith("."):
        text = text[:-1]
    return _inet_aton(text)


_DIGITS = frozenset(string.digits)
_OCTAL = frozenset("01234567")
_HEX = frozenset(string.hexdigits.lower())
# Largest value of the last part, by number of parts: a, a.b, a.b.c, a.b.c.d.
_LAST_PART_MAX = {1: 0xFFFFFFFF, 2: 0xFFFFFF, 3: 0xFFFF, 4: 0xFF}


def _inet_aton(text: str) -> ipaddress.IPv4Address | None:
    """glibc's ``inet_aton`` as used by ``getaddrinfo`` (exact: no trailing characters)."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        value = _parse_part(part)
        if value is None:
            return None
        values.append(value)
    *leading, last = values
    if any(value > 0xFF for value in leading) or last > _LAST_PART_MAX[len(values)]:
        return None
    number = last
    for index, value in enumerate(leading):
        number |= value << (24 - 8 * index)
    return ipaddress.IPv4Address(number)


def _parse_part(part: str) -> int | None:
    if part.startswith("0x"):
        digits = part[2:]
        return int(digits, 16) if digits and _only(digits, _HEX) else None
    if part.startswith("0"):
        return int(part, 8) if _only(part, _OCTAL) else None
    return int(part) if part and _only(part, _DIGITS) else None


def _only(text: str, allowed: frozenset[str]) -> bool:
    return set(text) <= allowed


# --- the connect-time guard ----------------------------------------------------------------


@dataclass
class GuardLog:
    """What the guard decided during one request (one redirect hop)."""

    refused: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)


# A mutable log rather than a flag: Happy Eyeballs connects from child tasks, which see a copy
# of the context, so they must append to an object the request's own task can read.
guard_log: ContextVar[GuardLog | None] = ContextVar("feedscrubguard_log", default=None)


def allow_all(ip: str) -> bool:
    return True


def guarded_socket_factory(policy: AddressPolicy) -> Callable[[AddrInfoType], socket.socket]:
    def create_socket(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        ip = str(sockaddr[0])
        log = guard_log.get()
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


# --- host rules ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HostRules:
    """Which upstream hosts may be fetched. No patterns at all: every host."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    def check(self, host: str, *, ip: str | None = None, shown: str = "") -> None:
        """Raise BlockedHost if ``host`` (yarl's raw_host: lower-case, IDNA) is refused.

        Parameters:
            host: the URL's host.
            ip: the canonical address when the host is an IP literal in any spelling
                (``0x7f.1`` is ``127.0.0.1``); patterns are matched against both.
            shown: the URL, as quoted in the error message.
        """
        if not (self.allow or self.deny):
            return
        names = {host.rstrip(".").removeprefix("[").removesuffix("]")}
        if ip:
            names.add(ip)
        for pattern in self.deny:
            if any(fnmatchcase(name, pattern) for name in names):
                raise BlockedHost(
                    f"fetch: host {host} matches FEEDSCRUB_DENY_HOSTS ({pattern}); refused "
                    f"({shown})"
                )
        if self.allow and not any(
            fnmatchcase(name, pattern) for pattern in self.allow for name in names
        ):
            raise BlockedHost(
                f"fetch: host {host} is not in FEEDSCRUB_ALLOW_HOSTS; refused ({shown})"
            )


@functools.lru_cache(maxsize=16)
def _rules(allow: str, deny: str) -> HostRules:
    # Settings.validate has checked both patterns lists already.
    return HostRules(allow=parse_host_patterns(allow), deny=parse_host_patterns(deny))


def host_rules(settings: Settings) -> HostRules:
    """The host rules of ``settings`` (parsed once per distinct value)."""
    return _rules(settings.allow_hosts, settings.deny_hosts)
