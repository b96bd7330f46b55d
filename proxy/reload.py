"""Loads the feeds config, and reloads it on SIGHUP or when the file changes.

A reload that brings an invalid file is refused with the same messages check-config prints;
the server keeps serving with the config it had.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from proxy import clean
from proxy.clean import custom, userlists
from proxy.config import from_document, read_config_file
from proxy.errors import ConfigError
from proxy.feedconfig import FeedsConfig, parse_feeds
from proxy.trackerlists import TrackerLists

logger = logging.getLogger(__name__)

POLL_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class LoadedFeeds:
    feeds: FeedsConfig
    rulesets: dict[str, clean.Ruleset]  # feed name -> compiled rules
    defaults: clean.Ruleset  # for ad-hoc /feed requests


def compile_feeds(feeds: FeedsConfig) -> LoadedFeeds:
    packs = clean.DEFAULT_PACKS
    return LoadedFeeds(
        feeds=feeds,
        rulesets={f.name: clean.compile_ruleset(f.options, packs) for f in feeds.feeds},
        defaults=clean.compile_ruleset(feeds.defaults, packs),
    )


def with_tracker_lists(loaded: LoadedFeeds, lists: TrackerLists | None) -> LoadedFeeds:
    """loaded with the tracker lists' rule in every ruleset (proxy.clean.userlists)."""
    if lists is None:
        return loaded
    return LoadedFeeds(
        feeds=loaded.feeds,
        rulesets={name: userlists.extend(r, lists) for name, r in loaded.rulesets.items()},
        defaults=userlists.extend(loaded.defaults, lists),
    )


def load_feeds(path: str | None) -> LoadedFeeds:
    """The feeds of a config file (or none). Raises ConfigError listing every problem."""
    if not path:
        return compile_feeds(FeedsConfig())
    return feeds_from_document(read_config_file(path), path)


def feeds_from_document(document: Mapping[str, Any], path: str) -> LoadedFeeds:
    """The feeds of a parsed config file. Raises ConfigError listing every problem."""
    feeds = parse_feeds(document, source=path, check=custom.check, pack_names=clean.PACKS)
    return compile_feeds(feeds)


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime_ns / 1e9
    except OSError:
        return None


def load(path: str) -> tuple[LoadedFeeds, dict[str, Any] | None]:
    """The feeds of the file, and its settings' values (None when they have problems)."""
    document = read_config_file(path)
    loaded = feeds_from_document(document, path)
    try:
        settings = from_document(document, path, os.environ)
    except ConfigError:
        return loaded, None
    return loaded, settings.redacted()


def restart_needed(started: dict[str, Any] | None, reloaded: dict[str, Any] | None) -> str:
    """The one log line saying which settings changed in the file since the server started
    and so need a restart ("" if none)."""
    if reloaded is None:
        return (
            "config: the settings ([server] or top level) have problems; they are read at "
            "start-up only, so the running ones stay until a restart (run check-config)"
        )
    changed = [name for name, value in reloaded.items() if (started or {}).get(name) != value]
    if not changed:
        return ""
    return (
        f"config: changed settings need a restart to take effect: {', '.join(changed)} "
        "(a reload applies [defaults] and [[feeds]] only)"
    )


async def watch(path: str, apply: Callable[[LoadedFeeds], None]) -> None:
    """Reload on SIGHUP and whenever the file's modification time changes.

    Only [defaults] and [[feeds]] are applied; settings changed in the file since the start
    (the server read them once) are logged as needing a restart.
    """
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    try:
        loop.add_signal_handler(signal.SIGHUP, wake.set)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no SIGHUP
        logger.debug("config: SIGHUP reload unavailable here; watching the file only")
    seen = _mtime(path)
    try:
        _, started = await asyncio.to_thread(load, path)
    except ConfigError:
        started = None
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), POLL_SECONDS)
            signalled = wake.is_set()
            wake.clear()
            current = _mtime(path)
            if not signalled and current == seen:
                continue
            seen = current
            try:
                loaded, values = await asyncio.to_thread(load, path)
            except ConfigError as exc:
                logger.error(
                    "config: reload refused, still serving the previous config: %s",
                    exc.message.replace("\n", "; "),
                )
                continue
            apply(loaded)
            logger.info("config: reloaded %s (%d named feeds)", path, len(loaded.feeds.feeds))
            note = restart_needed(started, values)
            if note:
                logger.warning("%s", note)
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGHUP)
