"""Upstream I/O: the only package that opens client connections.

``urls`` checks a URL before any I/O, ``guard`` decides which addresses and hosts may be
reached, ``client`` makes the request (one redirect loop), ``stream`` hands a body over piece
by piece, ``failures`` turns library errors into ours.
"""

from __future__ import annotations

from proxy.fetch.client import (
    FEED_ACCEPT,
    IMAGE_ACCEPT,
    USER_AGENT,
    Limits,
    fetch,
    new_session,
)
from proxy.fetch.guard import AddressPolicy, HostRules, host_rules
from proxy.fetch.stream import UpstreamStream, open_stream
from proxy.fetch.urls import MAX_URL_LENGTH, check_url

__all__ = [
    "FEED_ACCEPT",
    "IMAGE_ACCEPT",
    "MAX_URL_LENGTH",
    "USER_AGENT",
    "AddressPolicy",
    "HostRules",
    "Limits",
    "UpstreamStream",
    "check_url",
    "fetch",
    "host_rules",
    "new_session",
    "open_stream",
]
