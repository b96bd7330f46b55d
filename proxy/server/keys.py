"""Typed keys for what the app holds."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from aiohttp import web
from multidict import CIMultiDict

from proxy.bounded import BoundedMap
from proxy.config import Settings
from proxy.images.proxy import ImageProxy
from proxy.metrics import Metrics
from proxy.models import Rendered
from proxy.pipeline.jobs import FeedJob
from proxy.pipeline.service import Pipeline
from proxy.reload import LoadedFeeds
from proxy.store import Store

SETTINGS = web.AppKey("settings", Settings)
CACHE = web.AppKey("cache", Store)
PIPELINE = web.AppKey("pipeline", Pipeline)
IMAGES = web.AppKey("images", ImageProxy)
METRICS = web.AppKey("metrics", Metrics)


@dataclass(frozen=True, slots=True)
class Heads:
    """The response headers of one rendered output, as ``feeds.respond`` sends them: with a
    304, with the identity body, with the gzip body (aiohttp copies them into each answer;
    never changed after they are made)."""

    not_modified: CIMultiDict[str]
    identity: CIMultiDict[str]
    gzip: CIMultiDict[str]


@dataclass(slots=True)
class Remembered:
    """What a request seen before led to (server/feeds.py): its job, made with ``feeds``
    (a reload makes new jobs), and the last output served for it with its headers (a hot
    copy is one object for a second: its headers are built once, not per request).

    The output is held by a weak reference: 4,096 remembered jobs must not keep feeds'
    bytes alive after the hot copies (bounded in bytes) let them go."""

    feeds: LoadedFeeds
    job: FeedJob
    rendered: weakref.ref[Rendered] | None = None
    heads: Heads | None = None
    # With an access key: a request of this path passed the check on its query alone (key=
    # or sig=, no Authorization header), so another one without the header passes it too
    # (the check depends on nothing else): the short path needs no HMAC (server/warm.py).
    by_query: bool = False


# (raw path with its query, public base) → what it led to. Bounded: the path is the
# reader's choice.
Jobs = BoundedMap[tuple[str, str], Remembered]
JOBS = web.AppKey("jobs", Jobs)
JOBS_KEPT = 4096
JOBS_MAX_AGE = 3600.0
