"""The guard: which addresses are public, how host strings spell addresses, and host rules."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from proxy.config import load
from proxy.errors import BlockedHost, ConfigError
from proxy.fetch import check_url
from proxy.fetch.guard import HostRules, is_public_address, literal_ip
from proxy.hostpatterns import parse_host_patterns

# Research §A1 (b), plus the ranges the contract names. (address, why)
REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.0.0.2", "loopback, not only .1"),
    ("::1", "IPv6 loopback"),
    ("0:0:0:0:0:0:0:1", "IPv6 loopback, long form"),
    ("0.0.0.0", "unspecified: reaches loopback on Linux"),
    ("0.1.2.3", "this network, 0.0.0.0/8"),
    ("::", "IPv6 unspecified"),
    ("169.254.169.254", "link-local, cloud metadata"),
    ("fe80::1", "IPv6 link-local"),
    ("10.0.0.1", "RFC 1918"),
    ("172.16.0.1", "RFC 1918"),
    ("172.31.255.255", "RFC 1918, end of 172.16/12"),
    ("192.168.1.1", "RFC 1918"),
    ("100.64.0.1", "CGNAT 100.64/10, neither private nor global to ipaddress"),
    ("fd00::1", "unique local"),
    ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
    ("::ffff:169.254.169.254", "IPv4-mapped metadata"),
    ("::ffff:10.1.2.3", "IPv4-mapped private"),
    ("::127.0.0.1", "deprecated IPv4-compatible"),
    ("2002:c0a8:ffff::", "6to4 carrying 192.168.255.255"),
    ("2002:7f00:1::", "6to4 carrying 127.0.0.1"),
    ("64:ff9b::c0a8:0201", "NAT64 carrying 192.168.2.1"),
    ("64:ff9b::a9fe:a9fe", "NAT64 carrying 169.254.169.254"),
    ("64:ff9b:1::1", "local-use NAT64"),
    ("2001:0:4136:e378:8000:63bf:3f57:fdf2", "Teredo whose client is 192.168.2.13"),
    ("fec0::1", "site-local"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast (SSDP)"),
    ("ff02::1", "IPv6 multicast"),
    ("198.18.0.1", "benchmarking 198.18/15"),
    ("198.19.255.254", "benchmarking 198.18/15"),
    ("192.0.0.8", "IETF protocol assignments 192.0.0/24"),
    ("192.0.2.1", "TEST-NET-1"),
    ("198.51.100.1", "TEST-NET-2"),
    ("203.0.113.10", "TEST-NET-3"),
    ("2001:db8::1", "IPv6 documentation"),
    ("100::1", "IPv6 discard-only"),
    ("240.0.0.1", "reserved 240/4"),
    ("255.255.255.255", "broadcast"),
    ("", "not an address"),
    ("example.com", "not an address"),
    ("127.1", "not an address to ipaddress; literal_ip reads such spellings"),
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700:4700::1111",
    "2a00:1450:4001:82b::200e",
    "::ffff:8.8.8.8",  # IPv4-mapped: judged by the IPv4 address it carries
    "2002:808:808::",  # 6to4 carrying 8.8.8.8
    "64:ff9b::808:808",  # NAT64 carrying 8.8.8.8
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo: server 65.54.227.120, client 8.8.8.8
]


@pytest.mark.parametrize(("address", "why"), REFUSED, ids=[a or "empty" for a, _ in REFUSED])
def test_non_public_addresses_are_refused(address: str, why: str) -> None:
    assert is_public_address(address) is False, why


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public_address(address) is True


def test_address_objects_are_accepted() -> None:
    assert is_public_address(ipaddress.IPv4Address("8.8.8.8"))
    assert not is_public_address(ipaddress.IPv4Address("127.0.0.1"))
    assert not is_public_address(ipaddress.IPv6Address("::ffff:7f00:1"))


def test_teredo_vector_embeds_a_private_client() -> None:
    """The research's Teredo vector: public server, private client, so refused."""
    teredo = ipaddress.IPv6Address("2001:0:4136:e378:8000:63bf:3f57:fdf2").teredo
    assert teredo == (
        ipaddress.IPv4Address("65.54.227.120"),
        ipaddress.IPv4Address("192.168.2.13"),
    )
    assert is_public_address("2001:0:4136:e378:8000:63bf:3f57:fdf2") is False


def test_scoped_ipv6_is_judged_without_its_zone() -> None:
    assert is_public_address("fe80::1%eth0") is False


LOOPBACK = ipaddress.IPv4Address("127.0.0.1")

SPELLINGS = [
    ("127.0.0.1", LOOPBACK),
    ("2130706433", LOOPBACK),
    ("0x7f.1", LOOPBACK),
    ("0X7F.1", LOOPBACK),
    ("0x7f000001", LOOPBACK),
    ("0177.0.0.1", LOOPBACK),
    ("017700000001", LOOPBACK),
    ("127.1", LOOPBACK),
    ("127.0.1", LOOPBACK),
    ("0x7f.0.0.0x1", LOOPBACK),
    ("169.254.169.254.", ipaddress.IPv4Address("169.254.169.254")),
    ("0", ipaddress.IPv4Address("0.0.0.0")),
    ("01.02.03.04", ipaddress.IPv4Address("1.2.3.4")),
    ("4294967295", ipaddress.IPv4Address("255.255.255.255")),
    ("::1", ipaddress.IPv6Address("::1")),
    ("[::1]", ipaddress.IPv6Address("::1")),
    ("[::ffff:7f00:1]", ipaddress.IPv6Address("::ffff:127.0.0.1")),
    ("fe80::1%25eth0", ipaddress.IPv6Address("fe80::1%eth0")),
]


@pytest.mark.parametrize(("host", "expected"), SPELLINGS, ids=[h for h, _ in SPELLINGS])
def test_literal_ip_reads_every_spelling(
    host: str, expected: ipaddress.IPv4Address | ipaddress.IPv6Address
) -> None:
    assert literal_ip(host) == expected


NAMES = [
    "example.com",
    "localhost",
    "1.2.3.4.example",
    "",
    "0x",  # no digits after 0x
    "08",  # 8 is not octal
    "4294967296",  # 2**32
    "1.16777216",  # last of two parts over 24 bits
    "256.1.1.1",
    "1.2.3.4.5",
    "1..2",
    "[1.2.3.4]",
    "::g",
]


@pytest.mark.parametrize("host", NAMES, ids=[h or "empty" for h in NAMES])
def test_literal_ip_leaves_names_alone(host: str) -> None:
    assert literal_ip(host) is None


def _getaddrinfo_numeric(host: str) -> ipaddress.IPv4Address | None:
    """What the C library makes of ``host`` as a numeric address (never touches DNS)."""
    try:
        info = socket.getaddrinfo(
            host, 80, socket.AF_INET, socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        )
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    return ipaddress.IPv4Address(info[0][4][0])


@given(st.text(alphabet="0123456789abcdefxABCDEFX.", max_size=24))
def test_literal_ip_agrees_with_getaddrinfo(host: str) -> None:
    """The pre-flight reads IPv4 spellings exactly as the connection would."""
    assume(not host.endswith("."))  # literal_ip reads a trailing dot; getaddrinfo asks DNS
    assert literal_ip(host) == _getaddrinfo_numeric(host)


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_decimal_spelling_of_any_address(number: int) -> None:
    assert literal_ip(str(number)) == ipaddress.IPv4Address(number)


# --- host rules (FEEDSCRUB_ALLOW_HOSTS / FEEDSCRUB_DENY_HOSTS) -----------------------------


def test_host_patterns_are_normalised() -> None:
    patterns = parse_host_patterns(
        " Example.ORG , *.Bücher.example,xn--bcher-kva.test, [::1], 10.0.*, news.example. ,"
    )
    assert patterns == (
        "example.org",
        "*.xn--bcher-kva.example",
        "xn--bcher-kva.test",
        "::1",
        "10.0.*",
        "news.example",
    )


@pytest.mark.parametrize(
    "text",
    [
        "https://example.org",
        "example.org/feed",
        "exa mple.org",
        "user@example.org",
        "*ü.example",
        "['a.example', 'b.example']",
        "[a-z].example",
    ],
)
def test_bad_host_patterns_name_the_variable(text: str) -> None:
    with pytest.raises(ConfigError, match="FEEDSCRUB_ALLOW_HOSTS has value"):
        load(environ={"FEEDSCRUB_ALLOW_HOSTS": text})


@pytest.mark.parametrize(
    ("allow", "deny", "host", "allowed"),
    [
        ((), (), "anything.example", True),
        (("example.org",), (), "example.org", True),
        (("example.org",), (), "www.example.org", False),
        (("*.example.org",), (), "www.example.org", True),
        (("*.example.org",), (), "a.b.example.org", True),
        (("*.example.org",), (), "example.org", False),  # plain globs: list both forms
        (("*.example.org",), (), "example.org.evil.test", False),
        (("feed?.example",), (), "feed1.example", True),
        ((), ("evil.test",), "evil.test", False),
        ((), ("evil.test",), "evil.test.", False),  # the trailing dot is the same host
        ((), ("evil.test",), "notevil.test", True),
        (("*",), ("*.evil.test",), "img.evil.test", False),  # deny beats allow
        (("*",), ("*.evil.test",), "feeds.test", True),
    ],
)
def test_host_rules(
    allow: tuple[str, ...], deny: tuple[str, ...], host: str, allowed: bool
) -> None:
    rules = HostRules(allow=allow, deny=deny)
    if allowed:
        rules.check(host)
    else:
        with pytest.raises(BlockedHost):
            rules.check(host)


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.test/f",
        "http://EVIL.test:8080/f",
        "http://sub.evil.test/f",
        "http://bücher.test/f",
        "http://BÜCHER.test./f",
        "http://xn--bcher-kva.test/f",
        "http://127.0.0.1/f",
        "http://0x7f.1/f",
        "http://2130706433/f",
    ],
)
def test_check_url_applies_the_deny_list(url: str) -> None:
    rules = HostRules(deny=parse_host_patterns("evil.test,*.evil.test,bücher.test,127.0.0.1"))
    with pytest.raises(BlockedHost) as raised:
        check_url(url, allow_private=True, hosts=rules)
    assert raised.value.status == 403
    assert "FEEDSCRUB_DENY_HOSTS" in raised.value.message
    assert check_url("http://feeds.test/f", allow_private=True, hosts=rules)
