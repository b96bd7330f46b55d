"""Typed keys for what the app holds."""

from __future__ import annotations

from aiohttp import web

from proxy.bounded import BoundedMap
from proxy.config import Settings
from proxy.images.proxy import ImageProxy
from proxy.metrics import Metrics
from proxy.pipeline.jobs import FeedJob
from proxy.pipeline.service import Pipeline
from proxy.reload import LoadedFeeds
from proxy.store import Store

SETTINGS = web.AppKey("settings", Settings)
CACHE = web.AppKey("cache", Store)
PIPELINE = web.AppKey("pipeline", Pipeline)
IMAGES = web.AppKey("images", ImageProxy)
METRICS = web.AppKey("metrics", Metrics)

# (raw path with its query, public base) → (the feeds config it was made with, its job): the
# jobs of requests seen before (server/feeds.py). Bounded: the path is the reader's choice.
Jobs = BoundedMap[tuple[str, str], tuple[LoadedFeeds, FeedJob]]
JOBS = web.AppKey("jobs", Jobs)
JOBS_KEPT = 4096
JOBS_MAX_AGE = 3600.0
