"""The image proxy: verify the signed link, then serve from the image cache or a transfer.

One instance per app. It checks the link (``signing``), the URL (``fetch.check_url``: host
rules apply to cached images too) and media proxying, answers from the cache when it can, and
otherwise attaches the reader to the one running ``transfer.Transfer`` for that URL.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiohttp

from proxy import fetch
from proxy.config import Settings
from proxy.errors import NotAnImage, NotFound
from proxy.images import referer, signing
from proxy.images.transfer import CachedImage, ImageSource, Setup, Transfer
from proxy.store import Store

# A podcast episode of 200 MB at ~350 KB/s; images keep FEEDSCRUB_FETCH_TIMEOUT.
MEDIA_TRANSFER_SECONDS = 600.0
PARTIAL_DIR = "images-partial"  # inside the cache dir: same disk, never a RAM-backed /tmp


class ImageProxy:
    """Signed links in, image bytes out; one instance per app (one session, one cache).

    Parameters:
        settings: max_image_bytes / max_media_bytes, fetch_timeout, image_referer,
            image_cache_bytes, proxy_media and allow_private are used.
        session: the app's guarded session (``fetch.new_session``).
        cache: the store; images live in its ``images`` (this machine's disk), learned Referer
            policies in the store itself (shared between replicas on Redis).
        keys: the signing key of image links, and the rotated-out ones still accepted.
        referer_table: host → Referer overrides (``referer.KNOWN_HOSTS`` when None).
    """

    def __init__(
        self,
        settings: Settings,
        session: aiohttp.ClientSession,
        cache: Store,
        keys: signing.SigningKeys,
        referer_table: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.keys = keys
        feed_limits = fetch.Limits.of(settings)
        self.setup = Setup(
            session=session,
            cache=cache,
            referers=referer.Learning(cache, settings.image_referer, referer_table),
            image_limits=feed_limits.replace(max_bytes=settings.max_image_bytes),
            media_limits=feed_limits.replace(
                max_bytes=settings.max_media_bytes,
                timeout=max(settings.fetch_timeout, MEDIA_TRANSFER_SECONDS),
            ),
            partial_dir=Path(cache.images.directory) / PARTIAL_DIR,
        )
        self._transfers: dict[tuple[str, bool], Transfer] = {}
        cache.images.limit_images(settings.image_cache_bytes)

    async def open(
        self, signature: str, encoded_url: str, encoded_hint: str | None = None
    ) -> ImageSource:
        """Check a signed link and return where its bytes come from; close the result.

        Everything that can go wrong before the first byte raises here (403 bad signature,
        400/403 refused URL, 404 media proxying off, 502/504 upstream failures, not an
        image), so the caller can still answer with an error.
        """
        url, hint_text = signing.verify_link(
            signature, encoded_url, encoded_hint, self.keys.current, self.keys.previous
        )
        # Host rules here too, not only in the fetch: a host denied later is not served from
        # the cache either.
        url = fetch.check_url(
            url, allow_private=self.settings.allow_private, hosts=self.setup.image_limits.hosts
        )
        hint = referer.Hint.decode(hint_text)
        if hint.media and not self.settings.proxy_media:
            raise NotFound("image: proxying audio and video is off (FEEDSCRUB_PROXY_MEDIA)")
        opened = await asyncio.to_thread(self.cache.images.open_image, url)
        if opened is not None:
            if hint.media or opened.record.content_type.startswith("image/"):
                return CachedImage(opened)
            # Cached for a media link: an image link never passes audio or video.
            opened.close()
            raise NotAnImage(
                f"image: upstream did not return an image (it sent "
                f"{opened.record.content_type}) ({url})"
            )
        key = (url, hint.media)  # an image link must not join a media transfer
        transfer = self._transfers.get(key)
        if transfer is None:
            transfer = Transfer(self.setup, url, hint, self._forget)
            self._transfers[key] = transfer
            transfer.start()
        return await transfer.attach()

    async def idle(self) -> None:
        """Wait until no transfer is running (each has stored its image or failed)."""
        while self._transfers:
            tasks = [t.task for t in self._transfers.values() if t.task is not None]
            await asyncio.gather(*tasks, return_exceptions=True)

    async def aclose(self) -> None:
        """Stop running transfers (app shutdown): their readers see a cut transfer."""
        tasks = [t.task for t in self._transfers.values() if t.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _forget(self, transfer: Transfer) -> None:
        key = (transfer.url, transfer.hint.media)
        if self._transfers.get(key) is transfer:
            del self._transfers[key]
