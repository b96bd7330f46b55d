"""Which Referer the image proxy sends to an image host, in what order it tries, and what it
learns.

Hosts that refuse hot-linking look at the Referer header (research landscape §3: WeChat
``mmbiz.qpic.cn``, Weibo ``*.sinaimg.cn``, pixiv, sspai…). A policy says what to send:

- ``none``: no Referer (the default: the image host learns nothing about where it is shown);
- ``origin``: the origin of the item's link (``https://blog.example/``);
- ``image``: the image's own origin;
- a fixed ``http(s)`` URL.

The rewrite stage knows the item link and the feed's ``image_referer``; the proxy knows neither.
They travel inside the signed image link as a ``Hint``. The proxy then tries, in order: the
policy it learned for the host, the feed's policy, the built-in table, the default setting,
and the remaining policies, each Referer once (``attempts``).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from proxy.config import REFERER_POLICIES as POLICIES
from proxy.config import is_referer_policy as is_policy

logger = logging.getLogger(__name__)

REFUSED_STATUSES = frozenset({401, 403})  # how hot-link protection answers, besides a page
MEMORY_SECONDS = 30 * 24 * 3600  # a learned policy is re-probed after a month

# Hosts known to refuse requests without their own site as Referer. Exact host names, or a
# leading "." for every subdomain. Gathered from Miniflux (internal/reader/rewrite/
# referer_override.go), Folo (packages/shared/src/image.ts) and research landscape §3.
KNOWN_HOSTS: dict[str, str] = {
    ".cdninstagram.com": "https://www.instagram.com/",
    ".moyu.im": "https://i.jandan.net/",
    ".sinaimg.cn": "https://weibo.com/",
    "cdnfile.sspai.com": "https://sspai.com/",
    "f.video.weibocdn.com": "https://weibo.com/",
    "i.pximg.net": "https://www.pixiv.net/",
    "img.hellogithub.com": "https://hellogithub.com/",
    "mmbiz.qpic.cn": "https://mp.weixin.qq.com/",
    "moyu.im": "https://i.jandan.net/",
}


def origin_of(url: str | None) -> str:
    """scheme://host[:port] of an http(s) URL, or "" for anything else."""
    if not url:
        return ""
    return _origin_of(url)


@functools.lru_cache(maxsize=4096)  # one call per item; feeds repeat the same few origins
def _origin_of(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not host:
        return ""
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return f"{parts.scheme.lower()}://{netloc}"


def host_key(url: str) -> str:
    """What a learned policy is remembered under: host[:port] (ports are separate servers)."""
    origin = origin_of(url)
    return origin.split("://", 1)[1] if origin else ""


def known_referer(url: str, table: dict[str, str] | None = None) -> str | None:
    """The built-in Referer for the image's host, if it is a known hot-link-protected one."""
    table = KNOWN_HOSTS if table is None else table
    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return None
    if host in table:
        return table[host]
    for pattern, referer in table.items():
        if pattern.startswith(".") and host.endswith(pattern):
            return referer
    return None


@dataclass(frozen=True, slots=True)
class Hint:
    """What the proxy needs from the feed, carried signed inside the image link."""

    policy: str = ""  # the feed's image_referer; "" when the feed does not set one
    origin: str = ""  # origin of the item link ("https://blog.example"), "" when unknown
    media: bool = False  # an audio/video enclosure, not an image

    def encode(self) -> str:
        """A compact text form; "" when there is nothing to say (an old-style link)."""
        if not (self.policy or self.origin or self.media):
            return ""
        # Newline-separated: none of the fields can contain one (URLs with control
        # characters never pass check_url), and it keeps the links short.
        return "\n".join((self.policy, self.origin, "media" if self.media else "")).rstrip("\n")

    @classmethod
    def decode(cls, text: str) -> Hint:
        """The hint back from ``encode``'s text; unknown trailing fields are ignored."""
        if not text:
            return cls()
        fields = (text.split("\n") + ["", "", ""])[:3]
        policy = fields[0] if is_policy(fields[0]) else ""
        return cls(policy=policy, origin=origin_of(fields[1]), media=fields[2] == "media")


@dataclass(frozen=True, slots=True)
class Attempt:
    """One Referer to try: the policy it comes from (what is remembered) and the header."""

    policy: str  # none | origin | image | a fixed URL
    referer: str | None  # the Referer header value; None sends none


def referer_for(policy: str, *, image_url: str, item_origin: str) -> Attempt | None:
    """The Attempt a policy gives for this image, or None when it cannot apply here
    (``origin`` for an item without a link, an unknown policy)."""
    if policy == "none":
        return Attempt("none", None)
    if policy == "origin":
        return Attempt("origin", item_origin + "/") if item_origin else None
    if policy == "image":
        origin = origin_of(image_url)
        return Attempt("image", origin + "/") if origin else None
    if policy.startswith(("http://", "https://")) and policy.isascii() and policy.isprintable():
        # A header value must be plain ASCII; a configured IRI would fail every request.
        return Attempt(policy, policy)
    return None


def attempts(
    image_url: str,
    hint: Hint,
    *,
    learned: str | None,
    default: str,
    table: dict[str, str] | None = None,
) -> list[Attempt]:
    """Every Referer worth trying for this image, best first, each header value once.

    Parameters:
        image_url: the upstream image URL.
        hint: the feed's policy and the item's origin, from the signed link.
        learned: the policy that last worked for the image's host, if one is remembered.
        default: FEEDSCRUB_IMAGE_REFERER.
        table: host → Referer overrides (``KNOWN_HOSTS`` when None).

    A learned policy comes first because it is known to work for this host; the feed's own
    setting next, then the table entry, the default, and finally the policies not tried yet.
    """
    candidates: list[str] = []
    if learned:
        candidates.append(learned)
    if hint.policy:
        candidates.append(hint.policy)
    known = known_referer(image_url, table)
    if known:
        candidates.append(known)
    candidates.extend((default, *POLICIES))
    plan: list[Attempt] = []
    seen: set[str | None] = set()
    for policy in candidates:
        attempt = referer_for(policy, image_url=image_url, item_origin=hint.origin)
        if attempt is None or attempt.referer in seen:
            continue
        seen.add(attempt.referer)
        plan.append(attempt)
    return plan


# --- learning ---------------------------------------------------------------------------------


class RefererStore(Protocol):
    """Where learned policies live (the cache's image part), shared across restarts."""

    async def get_referer(self, host: str) -> str | None: ...

    async def put_referer(self, host: str, policy: str, expire: float) -> None: ...


class Learning:
    """The policy that worked for a host, remembered: one reader's request fixes the host for
    everybody. A transfer asks ``plan`` for its attempts and calls ``worked`` when an attempt
    other than the first one got the image.

    Parameters:
        store: the cache.
        default: FEEDSCRUB_IMAGE_REFERER.
        table: host → Referer overrides (``KNOWN_HOSTS`` when None).
    """

    def __init__(
        self, store: RefererStore, default: str, table: dict[str, str] | None = None
    ) -> None:
        self.store = store
        self.default = default
        self.table = KNOWN_HOSTS if table is None else table

    async def plan(self, image_url: str, hint: Hint) -> tuple[str, list[Attempt]]:
        """The host key and the attempts for this image, the learned policy first."""
        host = host_key(image_url)
        learned = await self.store.get_referer(host) if host else None
        return host, attempts(
            image_url, hint, learned=learned, default=self.default, table=self.table
        )

    async def worked(self, host: str, policy: str) -> None:
        await self.store.put_referer(host, policy, MEMORY_SECONDS)
        logger.info("image referer learned host=%s policy=%s", host, policy)
