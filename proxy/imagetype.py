"""Decides whether fetched bytes are an image we pass on, and under which Content-Type. No I/O.

The type comes from the bytes' magic number where we know it, not from the upstream's
header, so a page cannot be smuggled through the image proxy as "image/png". SVG is refused:
it can carry script that runs when a reader opens the image on its own.
"""

from __future__ import annotations

from proxy.errors import NotAnImage

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"ftypavif", 4, "image/avif"),
    (b"ftypavis", 4, "image/avif"),
    (b"ftypheic", 4, "image/heic"),
    (b"ftypmif1", 4, "image/heif"),
    (b"BM", 0, "image/bmp"),
    (b"\x00\x00\x01\x00", 0, "image/x-icon"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"\xff\x0a", 0, "image/jxl"),
    (b"\x00\x00\x00\x0cJXL ", 0, "image/jxl"),
)


def image_type(declared: str, body: bytes, *, url: str = "") -> str:
    """The Content-Type to serve ``body`` with, or NotAnImage (502) if it is not a raster image."""
    for magic, offset, kind in _MAGIC:
        if body[offset : offset + len(magic)] == magic:
            if kind == "image/webp" and not body.startswith(b"RIFF"):
                continue
            return kind
    media = declared.split(";")[0].strip().lower()
    where = f" ({url})" if url else ""
    if media == "image/svg+xml" or body.lstrip()[:5].lower() in (b"<svg ", b"<?xml"):
        raise NotAnImage(f"image: SVG images are not proxied (they can carry scripts){where}")
    raise NotAnImage(f"image: upstream did not return an image (it sent {media or 'no type'}){where}")
