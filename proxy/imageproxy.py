"""The image proxy: verify the signature, then serve from the image cache or the upstream.

Every fetch goes through the same guarded session as feeds, so a signed URL that points at a
private address is refused like a feed would be.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time

import aiohttp

from proxy import fetch, signing
from proxy.cache import Cache, StoredImage
from proxy.config import Settings
from proxy.imagetype import image_type
from proxy.models import ImageResult
from proxy.singleflight import SingleFlight

logger = logging.getLogger(__name__)


class ImageProxy:
    def __init__(
        self, settings: Settings, session: aiohttp.ClientSession, cache: Cache, key: bytes
    ) -> None:
        self.settings = settings
        self.session = session
        self.cache = cache
        self.key = key
        self._flights = SingleFlight()

    async def get(self, signature: str, encoded_url: str) -> ImageResult:
        """A proxied image: signature checked first, then cache, then the upstream."""
        url = signing.verify(signature, encoded_url, self.key)
        url = fetch.check_url(url, allow_private=self.settings.allow_private)
        stored = await asyncio.to_thread(self.cache.get_image, url)
        if stored is None:
            stored = await self._flights.run(("img", url), lambda: self._fetch(url))
        return ImageResult(body=stored.body, content_type=stored.content_type, etag=stored.etag)

    async def _fetch(self, url: str) -> StoredImage:
        started = time.monotonic()
        result = await fetch.fetch(
            self.session,
            url,
            settings=self.settings,
            accept=fetch.IMAGE_ACCEPT,
            max_bytes=self.settings.max_image_bytes,
        )
        kind = image_type(result.content_type, result.body, url=url)
        stored = StoredImage(
            body=result.body,
            content_type=kind,
            etag='"' + hashlib.sha256(result.body).hexdigest()[:32] + '"',
        )
        await asyncio.to_thread(self.cache.put_image, url, stored)
        logger.info(
            "fetch image_url=%s status=200 bytes=%d elapsed_ms=%d",
            url, len(result.body), int((time.monotonic() - started) * 1000),
        )
        return stored
