"""Tracker and ad lists people supply, in Adblock Plus syntax (EasyPrivacy, EasyList, their
own), read by Brave's adblock-rust engine (the `adblock` package). No network I/O: the
files are read once, at startup (FEEDSCRUB_TRACKER_LISTS, checked in proxy.config).

What a list decides in an item (proxy.clean.packs.lists):

- an image whose URL the lists block as an image request is a tracker: it is removed, as
  the `pixels` pack removes known trackers (an authored image, such as a WordPress
  attachment or an image inside a link to its own file, stays);
- a link to a URL the lists block as a page (a `document` request: host rules such as
  `||ads.example^`, never path rules such as `/ads/*`, which also match articles about
  ads) is unwrapped: its text stays, the link goes.

Every request is judged as a third-party one (the reader shows the item on its own page).
Exception rules (`@@…`) are honoured; cosmetic rules (`##…`) are ignored.

Bounded: at most MAX_LIST_BYTES of lists in all and MAX_RULES rules are read (more is a
startup error, not a silent cut), a URL longer than MAX_URL_CHARS is not looked up, and one
item has at most MAX_CHECKS_PER_ITEM URLs looked up (adblock-rust matches in a few
microseconds, its regex rules in linear time).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_CHECKS_PER_ITEM",
    "MAX_LIST_BYTES",
    "MAX_RULES",
    "MAX_URL_CHARS",
    "ListError",
    "TrackerLists",
    "load",
    "load_kept",
    "parse_paths",
]

MAX_LIST_BYTES = 32 * 1024 * 1024  # EasyList + EasyPrivacy are about 3 MB
MAX_RULES = 500_000  # lines of rules (they are about 120,000)
MAX_URL_CHARS = 4096
MAX_CHECKS_PER_ITEM = 2_000
# What every request is judged from: a page no list names, so every URL is third-party.
SOURCE_URL = "https://reader.feedscrub.invalid/"


class ListError(ValueError):
    """A list file that cannot be used: the message is one line naming the file."""


def parse_paths(value: str) -> tuple[str, ...]:
    """The comma-separated paths of the setting, in order, without blanks or repeats."""
    seen: dict[str, None] = {}
    for part in value.split(","):
        if part.strip():
            seen.setdefault(part.strip(), None)
    return tuple(seen)


@dataclass(frozen=True, slots=True, eq=False)
class TrackerLists:
    """The lists, compiled into one engine. digest names their contents (for cache keys)."""

    engine: Any  # adblock.Engine
    digest: str
    rules: int

    def __repr__(self) -> str:
        return f"TrackerLists(rules={self.rules}, digest={self.digest})"

    def blocks_image(self, url: str) -> bool:
        """Whether the lists block url as an image (a tracking pixel, an ad banner)."""
        return self._blocks(url, "image")

    def blocks_page(self, url: str) -> bool:
        """Whether the lists block url as a page to go to (an ad or click-tracker host)."""
        return self._blocks(url, "document")

    def _blocks(self, url: str, kind: str) -> bool:
        url = url.strip()
        if len(url) > MAX_URL_CHARS or not url.lower().startswith(("http://", "https://")):
            return False
        try:
            result = self.engine.check_network_urls(url, SOURCE_URL, kind)
        except Exception:  # a URL the engine cannot parse: not one it blocks
            return False
        return bool(result.matched)


def _read(path: str) -> str:
    try:
        size = os.path.getsize(path)
        if size > MAX_LIST_BYTES:
            raise ListError(f"{path} is {size} bytes; lists may hold {MAX_LIST_BYTES} in all.")
        with open(path, "rb") as file:
            data = file.read(MAX_LIST_BYTES + 1)
    except OSError as exc:
        raise ListError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ListError(f"{path} is not UTF-8 text (byte {exc.start}).") from None


def _rules_in(text: str) -> int:
    """Lines that are rules: not blank, not a comment ("!"), not a list header ("[…]")."""
    count = 0
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("!", "[")):
            count += 1
    return count


def _compile(paths: Sequence[str]) -> TrackerLists:
    try:
        import adblock
    except ImportError:  # pragma: no cover (a dependency; the hint is for broken installs)
        raise ListError("tracker lists need the 'adblock' package: pip install adblock") from None
    texts = []
    total = 0
    rules = 0
    for path in paths:
        text = _read(path)
        total += len(text)
        if total > MAX_LIST_BYTES:
            raise ListError(f"the lists hold over {MAX_LIST_BYTES} bytes in all (at {path}).")
        found = _rules_in(text)
        if not found:
            raise ListError(f"{path} holds no rule (only blank lines and ! comments).")
        rules += found
        if rules > MAX_RULES:
            raise ListError(f"the lists hold over {MAX_RULES} rules in all (at {path}).")
        texts.append(text)
    filters = adblock.FilterSet()
    for text in texts:
        filters.add_filter_list(text, "standard")  # (lines it cannot read are skipped)
    digest = hashlib.sha256("\0".join(texts).encode("utf-8", "surrogatepass")).hexdigest()
    return TrackerLists(adblock.Engine(filters, optimize=True), digest[:16], rules)


# Compiled lists by (path, size, mtime) of every file: the setting's check at startup and the
# pipeline then share one engine. Bounded: a few sets of lists (tests make several).
_LOADED: dict[tuple[tuple[str, int, int], ...], TrackerLists] = {}
_MAX_LOADED = 4
_lock = threading.Lock()


def _stamp(paths: Sequence[str]) -> tuple[tuple[str, int, int], ...]:
    stamps = []
    for path in paths:
        try:
            status = os.stat(path)
        except OSError as exc:
            raise ListError(f"{path} cannot be read: {exc.strerror or exc}.") from None
        stamps.append((os.path.abspath(path), status.st_size, status.st_mtime_ns))
    return tuple(stamps)


_last_good: dict[tuple[str, ...], TrackerLists] = {}  # per setting value (a few)


def load_kept(value: str) -> TrackerLists | None:
    """load(value), but when lists that loaded before have gone bad since (a reload after
    an edit), the last good ones, with a warning: a running server never loses its lists
    on a reload. A first load that fails raises ListError as load does."""
    paths = parse_paths(value)
    try:
        found = load(value)
    except ListError as exc:
        kept = _last_good.get(paths)
        if kept is None:
            raise
        logger.warning("tracker lists: kept the last good ones: %s", exc)
        return kept
    if found is not None:
        with _lock:
            if paths not in _last_good and len(_last_good) >= _MAX_LOADED:
                _last_good.pop(next(iter(_last_good)))
            _last_good[paths] = found
    return found


def load(value: str) -> TrackerLists | None:
    """The lists the setting names (comma-separated paths), compiled; None when it names
    none. Raises ListError (one line) for a file that is missing, unreadable, not UTF-8,
    empty of rules, or over the bounds."""
    paths = parse_paths(value)
    if not paths:
        return None
    stamp = _stamp(paths)
    with _lock:
        found = _LOADED.get(stamp)
        if found is None:
            found = _compile(paths)
            if len(_LOADED) >= _MAX_LOADED:
                _LOADED.pop(next(iter(_LOADED)))
            _LOADED[stamp] = found
    return found
