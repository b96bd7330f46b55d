"""Signed image URLs: HMAC-SHA256 over the upstream URL, and the key that signs them.

Two link shapes, both served:

- ``/img/<sig>/<b64url(url)>``, sig = HMAC(key, url): the original form, still in readers'
  caches;
- ``/img/<sig>/<b64url(url)>?h=<b64url(hint)>``, sig = HMAC(key, "feedscrub-img-2" NUL url
  NUL hint): the hint (``referer.Hint``: the feed's Referer policy, the item origin, whether
  it is media) is signed together with the URL, so a reader can neither add, change nor
  strip it. The prefix keeps the two forms apart: no http(s) URL starts with it.

The key is FEEDSCRUB_SECRET when set; otherwise one is generated on first start and kept in
the cache directory (owner-only), so image links in feeds readers already hold keep working
across restarts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from proxy.errors import BadSignature, ConfigError

SECRET_FILE = "secret"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


HINT_PARAM = "h"  # the query parameter carrying the signed hint
_HINTED = b"feedscrub-img-2\0"


def sign(url: str, key: bytes, hint: str = "") -> str:
    """The signature of an image link; over the URL alone when there is no hint."""
    message = url.encode("utf-8")
    if hint:
        message = _HINTED + message + b"\0" + hint.encode("utf-8")
    return _b64(hmac.new(key, message, hashlib.sha256).digest())


def image_path(url: str, key: bytes, hint: str = "") -> str:
    """The proxy path for an image: /img/<signature>/<base64url(url)>[?h=<base64url(hint)>]."""
    path = f"/img/{sign(url, key, hint)}/{_b64(url.encode('utf-8'))}"
    if hint:
        path += f"?{HINT_PARAM}={_b64(hint.encode('utf-8'))}"
    return path


def verify(signature: str, encoded_url: str, key: bytes) -> str:
    """Return the upstream URL of an old-style link if the signature matches; BadSignature
    (403) otherwise."""
    return verify_link(signature, encoded_url, None, key)[0]


def verify_link(
    signature: str,
    encoded_url: str,
    encoded_hint: str | None,
    key: bytes,
    previous: tuple[bytes, ...] = (),
) -> tuple[str, str]:
    """Return (upstream URL, hint text) if the signature matches; BadSignature (403) otherwise.

    ``encoded_hint`` is the ``h`` query parameter, None (or empty) for an old-style link.
    """
    try:
        url = _unb64(encoded_url).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadSignature("image: the URL part of this link is not valid") from None
    hint = ""
    if encoded_hint:
        try:
            hint = _unb64(encoded_hint).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise BadSignature("image: the hint part of this link is not valid") from None
    presented = signature.encode("ascii", "replace")
    # The current key, then keys rotated out but still in their grace period: links that
    # readers fetched before a rotation keep working until the grace ends.
    for candidate in (key, *previous):
        if hmac.compare_digest(sign(url, candidate, hint).encode(), presented):
            return url, hint
    raise BadSignature("image: signature does not match; the link was altered or expired")


def load_or_create_secret(configured: str, cache_dir: str) -> bytes:
    """The signing key: the configured secret, else the one kept in the cache dir.

    The file is created with mode 0600 in a 0700 directory; it is read back on every start.
    """
    if configured:
        return configured.encode("utf-8")
    directory = Path(cache_dir)
    path = directory / SECRET_FILE
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.exists():
            key = path.read_text(encoding="ascii").strip()
            if key:
                return key.encode("ascii")
        key = secrets.token_urlsafe(32)
        # O_EXCL: two processes starting at once must not each write a different key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text(encoding="ascii").strip().encode("ascii")
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
        return key.encode("ascii")
    except OSError as exc:
        raise ConfigError(
            f"cannot keep the image signing key in {path}: {exc.strerror}; "
            "set FEEDSCRUB_SECRET or make FEEDSCRUB_CACHE_DIR writable"
        ) from None


PREVIOUS_FILE = "secret.previous"  # lines "<unix expiry> <key>": rotated-out keys in grace
DEFAULT_GRACE_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True, slots=True)
class SigningKeys:
    current: bytes
    previous: tuple[bytes, ...] = ()  # still accepted when verifying, never used to sign

    @property
    def fingerprint(self) -> str:
        """Changes when the signing key does: cached outputs made with another key are rebuilt."""
        return hashlib.sha256(self.current).hexdigest()[:16]


def load_keys(configured: str, previous_configured: str, cache_dir: str) -> SigningKeys:
    """The signing key and the keys still accepted in their grace period.

    Parameters:
        configured: FEEDSCRUB_SECRET (empty: the generated key in the cache dir).
        previous_configured: FEEDSCRUB_PREVIOUS_SECRETS, comma-separated keys an operator
            rotated out by hand; accepted until removed from the setting.
        cache_dir: where the generated key and the rotated-out keys are kept.
    """
    current = load_or_create_secret(configured, cache_dir)
    previous = [k.strip().encode("utf-8") for k in previous_configured.split(",") if k.strip()]
    path = Path(cache_dir) / PREVIOUS_FILE
    now = time.time()
    try:
        lines = path.read_text(encoding="ascii").splitlines() if path.exists() else []
    except OSError:
        lines = []
    for line in lines:
        expiry, _, key = line.partition(" ")
        if key and expiry.isdigit() and int(expiry) > now:
            previous.append(key.strip().encode("ascii"))
    return SigningKeys(current, tuple(k for k in previous if k != current))


def rotate_secret(cache_dir: str, grace_seconds: int = DEFAULT_GRACE_SECONDS) -> None:
    """Replace the generated key with a new one; the old one stays valid for the grace period.

    Raises ConfigError when there is no generated key yet (nothing to rotate). Only for the
    generated key: a FEEDSCRUB_SECRET set by the operator is rotated by setting a
    new one and moving the old one into FEEDSCRUB_PREVIOUS_SECRETS.
    """
    directory = Path(cache_dir)
    path = directory / SECRET_FILE
    try:
        old = path.read_text(encoding="ascii").strip()
    except OSError:
        old = ""
    if not old:
        # Nothing was ever signed with a key that does not exist: no previous key to keep.
        raise ConfigError(
            f"there is no generated image-signing key in {cache_dir} (FEEDSCRUB_CACHE_DIR) "
            "to rotate; the server makes one when it first starts"
        )
    previous = directory / PREVIOUS_FILE
    now = int(time.time())
    kept = []
    if previous.exists():
        for line in previous.read_text(encoding="ascii").splitlines():
            expiry, _, key = line.partition(" ")
            if key and expiry.isdigit() and int(expiry) > now:
                kept.append(line)
    kept.append(f"{now + grace_seconds} {old}")
    _write_private(previous, "\n".join(kept) + "\n")
    _write_private(path, secrets.token_urlsafe(32) + "\n")


def _write_private(path: Path, text: str) -> None:
    """Write owner-only, replacing the file atomically."""
    temporary = path.with_name(path.name + ".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)
    os.replace(temporary, path)
