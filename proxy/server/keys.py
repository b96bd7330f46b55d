"""Typed keys for what the app holds."""

from __future__ import annotations

from aiohttp import web

from proxy.config import Settings
from proxy.pipeline import Pipeline
from proxy.store import Store

SETTINGS = web.AppKey("settings", Settings)
CACHE = web.AppKey("cache", Store)
PIPELINE = web.AppKey("pipeline", Pipeline)
