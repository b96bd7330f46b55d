"""The shared backend: a Redis- or Valkey-compatible server (FEEDSCRUB_CACHE_URL), for replicas.

The only module importing redis. Records are the same packed bytes as on disk
(records.py), under ``feedscrub:<namespace>:<key>``, every one with an expiry so that a
server run with ``maxmemory-policy volatile-lru`` evicts cache entries and never the signing
key (the one key without an expiry).

The server failing is not an outage. Every operation has a short timeout; the first failure
marks the store *degraded* (``ping()`` says why) and starts one reconnect loop with backoff,
while reads are answered from a bounded in-memory copy of what this replica read or wrote
and writes land there too, marked dirty. When the server answers again, the dirty entries are
written back (SET NX: what another replica wrote meanwhile wins) and the store is shared again,
with no restart. Locks taken while degraded are local: this replica fetches directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis as syncredis
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from redis.utils import HIREDIS_AVAILABLE

from proxy.errors import ConfigError
from proxy.store import records
from proxy.store.disk import ImageCache
from proxy.store.keyed import KeyedRecords
from proxy.store.lru import BoundedBytes
from proxy.store.records import StoredArticle

logger = logging.getLogger(__name__)

PREFIX = "feedscrub:"
RELEASED = PREFIX + "released"  # pub/sub channel: the name of each lock released
SECRET_KEY = PREFIX + "secret"  # the signing key: SET NX once, never expires
SECRET_COPY = "secret.shared"  # in the cache dir: the shared key, for starts while it is down
OP_TIMEOUT = 1.0  # seconds for one command: slower than this counts as down
CONNECT_TIMEOUT = 1.0
MAX_CONNECTIONS = 64  # per replica; Redis's default limit is 10,000 clients
RECONNECT_FIRST = 0.25  # seconds before the first reconnect attempt; doubles up to the max
RECONNECT_MAX = 10.0
POLL_SECONDS = 0.25  # a waiter looks at the lock this often even if no release is published
FEED_EXPIRE_SECONDS = 30 * 24 * 3600  # a raw body not written for 30 days goes
MEMORY_BYTES = 64 * 1024 * 1024  # the in-memory copy: what a replica serves while degraded
MEMORY_ENTRIES = 4096
DIRTY_ENTRIES = 4096  # writes kept for writing back (their values live in the memory copy)

# Release only a lock we still hold (the token matches), then tell the waiters.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end
redis.call('publish', ARGV[2], ARGV[3])
return 1
"""


def redact(url: str) -> str:
    """The URL without its password, for logs and /readyz."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def check_url(url: str) -> None:
    """Raise ConfigError unless url is one FEEDSCRUB_CACHE_URL can take."""
    scheme = urlsplit(url).scheme
    if scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(
            f"FEEDSCRUB_CACHE_URL has value {redact(url)!r}. "
            "Use redis://host:port, rediss://host:port (TLS) or unix:///path/to/socket, "
            "or leave it empty for the embedded cache."
        )


class RedisStore(KeyedRecords):
    """The Store on a Redis/Valkey server shared by replicas (see the module docstring)."""

    backend = "redis"
    feed_expire = FEED_EXPIRE_SECONDS  # every key expires: volatile-lru may evict any of them

    def __init__(self, url: str, cache_dir: str, *, memory_bytes: int = MEMORY_BYTES) -> None:
        check_url(url)
        self.url = url
        self.images = ImageCache(cache_dir)  # image bytes stay on this machine's disk
        self.directory = self.images.directory
        # Blocking: a burst of more commands than connections waits for one (at most
        # OP_TIMEOUT) instead of failing, which would wrongly count as the server being down.
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=MAX_CONNECTIONS,
            timeout=OP_TIMEOUT,
            socket_timeout=OP_TIMEOUT,
            socket_connect_timeout=CONNECT_TIMEOUT,
            retry=Retry(NoBackoff(), 0),  # our own reconnect loop decides when to try again
        )
        self.client = aioredis.Redis.from_pool(pool)
        self.memory = BoundedBytes(memory_bytes, MEMORY_ENTRIES)
        self.degraded = ""  # why the server is not used right now; "" while it is
        self._dirty: OrderedDict[str, None] = OrderedDict()
        self._reconnect: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._closed = False
        self._key = b""  # the shared signing key, put back if the server comes back empty
        logger.info(
            "store: redis at %s (hiredis %s)", redact(url), "on" if HIREDIS_AVAILABLE else "off"
        )

    async def close(self) -> None:
        self._closed = True
        for task in (self._reconnect, self._listener):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self.client.aclose()
        self.images.close()

    async def ping(self) -> str:
        """"" when the server answers, else why not (the replica still serves: degraded)."""
        if not self.degraded:
            try:
                await self.client.ping()
            except (RedisError, OSError) as exc:
                self._fail(exc)
        if not self.degraded:
            return ""
        return f"shared cache {redact(self.url)} unreachable: {self.degraded}"

    # -- the signing key ---------------------------------------------------------------------

    def shared_key(self, local: bytes) -> bytes:
        """The signing key every replica uses: the first replica's ``local`` key, stored with
        SET NX. Called once at startup (synchronously, before the port is bound). While the
        server is down, the copy kept from the last start is used; with neither, startup stops."""
        copy = self.directory / SECRET_COPY
        if copy.exists():
            # The key this replica shared before: it seeds the server again should the server
            # have lost its data, so links readers hold keep working.
            local = copy.read_bytes().strip() or local
        client = syncredis.Redis.from_url(
            self.url, socket_timeout=2 * OP_TIMEOUT, socket_connect_timeout=2 * CONNECT_TIMEOUT
        )
        try:
            client.set(SECRET_KEY, local, nx=True)
            shared = client.get(SECRET_KEY)
        except (RedisError, OSError) as exc:
            if copy.exists():
                logger.warning("store: redis unreachable (%s); using the shared key kept in %s",
                               exc, copy)
                self._key = local
                return local
            raise ConfigError(
                f"cannot read the shared image-signing key from {redact(self.url)}: {exc}; "
                "start the server first or set FEEDSCRUB_SECRET on every replica"
            ) from None
        finally:
            client.close()
        assert isinstance(shared, bytes)
        _write_private(copy, shared)
        self._key = shared
        return shared

    # -- records -----------------------------------------------------------------------------

    async def get_articles(self, urls: Iterable[str]) -> dict[str, StoredArticle]:
        links = list(urls)
        blobs = await self._get_many(["article:" + link for link in links])
        found = {}
        for link, blob in zip(links, blobs, strict=True):
            article = records.decode_article(blob)
            if article is not None:
                found[link] = article
        return found

    async def get_referer(self, host: str) -> str | None:
        return records.decode_referer(await self._get("referer:" + host))

    async def put_referer(self, host: str, policy: str, expire: float) -> None:
        await self._set("referer:" + host, records.encode_referer(policy), expire)

    async def get_state(self, key: str) -> dict[str, Any] | None:
        return records.decode_state(await self._get("state:" + key))

    async def put_state(self, key: str, state: dict[str, Any], expire: float) -> None:
        await self._set("state:" + key, records.encode_state(state), expire)

    # -- locks across replicas ---------------------------------------------------------------

    async def acquire(self, name: str, ttl: float) -> str | None:
        """A token if this replica now holds lock ``name`` for ``ttl`` seconds, else None."""
        token = secrets.token_hex(8)
        if self.degraded:
            return "local:" + token  # nobody to agree with: fetch directly
        try:
            taken = await self.client.set(
                PREFIX + "lock:" + name, token, nx=True, px=max(1, int(ttl * 1000))
            )
        except (RedisError, OSError) as exc:
            self._fail(exc)
            return "local:" + token
        return token if taken else None

    async def release(self, name: str, token: str) -> None:
        """Let go of a lock (only if still ours) and wake every replica waiting for it."""
        if token.startswith("local:") or self.degraded:
            return
        try:
            await self.client.eval(_RELEASE, 1, PREFIX + "lock:" + name, token, RELEASED, name)
        except (RedisError, OSError) as exc:
            self._fail(exc)

    async def wait(self, name: str, timeout: float) -> None:
        """Return once lock ``name`` is free (released, or expired with its dead holder), or
        after ``timeout`` seconds. Woken by the release message; polls in case one is missed."""
        self._listen()
        event = asyncio.Event()
        self._waiters.setdefault(name, set()).add(event)
        deadline = time.monotonic() + timeout
        try:
            while not self.degraded:
                try:
                    left_ms = await self.client.pttl(PREFIX + "lock:" + name)
                except (RedisError, OSError) as exc:
                    self._fail(exc)
                    return
                remaining = deadline - time.monotonic()
                if left_ms < 0 or remaining <= 0:
                    return  # -2: no such key, the lock is free
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        event.wait(), min(POLL_SECONDS, left_ms / 1000, remaining)
                    )
                if event.is_set():
                    return
        finally:
            waiting = self._waiters.get(name)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiters[name]

    def _listen(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.ensure_future(self._listen_loop())

    async def _listen_loop(self) -> None:
        delay = RECONNECT_FIRST
        while not self._closed:
            pubsub = self.client.pubsub()
            try:
                await pubsub.subscribe(RELEASED)
                delay = RECONNECT_FIRST
                while not self._closed:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is None:
                        if not self._waiters:
                            return  # started again by the next wait()
                        continue
                    name = message["data"].decode("utf-8", "replace")
                    for event in self._waiters.get(name, ()):
                        event.set()
            except (RedisError, OSError) as exc:
                logger.debug("store: release listener stopped: %s", exc)
                await asyncio.sleep(delay)  # waiters poll meanwhile
                delay = min(delay * 2, RECONNECT_MAX)
                if not self._waiters:
                    return  # started again by the next wait()
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    # -- fault tolerance ---------------------------------------------------------------------

    async def _get(self, key: str) -> bytes | None:
        if not self.degraded:
            try:
                value: bytes | None = await self.client.get(PREFIX + key)  # type: ignore[assignment]
            except (RedisError, OSError) as exc:
                self._fail(exc)
            else:
                if value is None:
                    self.memory.pop(key)
                    return None
                self._remember(key, value)
                return value
        item = self.memory.get(key)
        return item[0] if item is not None else None

    async def _get_many(self, keys: list[str]) -> list[bytes | None]:
        if not keys:
            return []
        if not self.degraded:
            try:
                values: list[bytes | None] = await self.client.mget(  # type: ignore[assignment]
                    [PREFIX + k for k in keys]
                )
            except (RedisError, OSError) as exc:
                self._fail(exc)
            else:
                for key, value in zip(keys, values, strict=True):  # as _get keeps them
                    if value is None:
                        self.memory.pop(key)
                    else:
                        self._remember(key, value)
                return values
        return [item[0] if (item := self.memory.get(k)) is not None else None for k in keys]

    async def _set(self, key: str, value: bytes, expire: float | None) -> None:
        expire = FEED_EXPIRE_SECONDS if expire is None else expire
        self.memory.put(key, value, time.time() + expire)
        if not self.degraded:
            try:
                await self.client.set(PREFIX + key, value, px=max(1, int(expire * 1000)))
                return
            except (RedisError, OSError) as exc:
                self._fail(exc)
        self._dirty[key] = None
        self._dirty.move_to_end(key)
        while len(self._dirty) > DIRTY_ENTRIES:
            self._dirty.popitem(last=False)

    def _remember(self, key: str, value: bytes) -> None:
        # Only what this replica serves while degraded: feeds and outputs (the bulk), small
        # records too. The expiry here is the memory copy's, not the server's.
        self.memory.put(key, value, time.time() + FEED_EXPIRE_SECONDS)

    def _fail(self, exc: BaseException) -> None:
        if self._closed:
            return
        reason = f"{type(exc).__name__}: {exc}"[:200]
        if not self.degraded:
            logger.warning(
                "store: redis %s unreachable (%s); serving from memory, fetching directly",
                redact(self.url), reason,
            )
        self.degraded = reason
        if self._reconnect is None or self._reconnect.done():
            self._reconnect = asyncio.ensure_future(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        delay = RECONNECT_FIRST
        while not self._closed:
            await asyncio.sleep(delay)
            try:
                await self.client.ping()
                written = await self._write_back()
            except (RedisError, OSError) as exc:
                self.degraded = f"{type(exc).__name__}: {exc}"[:200]
                delay = min(delay * 2, RECONNECT_MAX)
                continue
            self.degraded = ""
            logger.warning(
                "store: redis %s answers again; shared again (%d entries written back)",
                redact(self.url), written,
            )
            return

    async def _write_back(self) -> int:
        """Write what was stored while the server was away; what is there already wins."""
        written = 0
        now = time.time()
        if self._key:
            await self.client.set(SECRET_KEY, self._key, nx=True)
        while self._dirty:
            key = next(iter(self._dirty))
            item = self.memory.get(key)
            if item is not None and item[1] > now:
                await self.client.set(
                    PREFIX + key, item[0], nx=True, px=max(1, int((item[1] - now) * 1000))
                )
                written += 1
            self._dirty.pop(key, None)
        return written


def _write_private(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data + b"\n")
    os.replace(temporary, path)


__all__ = ["RedisStore", "check_url", "redact"]
