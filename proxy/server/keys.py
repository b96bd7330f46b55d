"""Typed keys for what the app holds."""

from __future__ import annotations

from aiohttp import web

from proxy.config import Settings
from proxy.images.proxy import ImageProxy
from proxy.metrics import Metrics
from proxy.pipeline.service import Pipeline
from proxy.store import Store

SETTINGS = web.AppKey("settings", Settings)
CACHE = web.AppKey("cache", Store)
PIPELINE = web.AppKey("pipeline", Pipeline)
IMAGES = web.AppKey("images", ImageProxy)
METRICS = web.AppKey("metrics", Metrics)
