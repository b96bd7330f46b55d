"""Decides whether fetched bytes are an image we pass on, and under which Content-Type. No I/O.

The type comes from the bytes' magic number where we know it, not from the upstream's
header, so a page cannot be smuggled through the image proxy as "image/png". SVG is refused:
it can carry script that runs when a reader opens the image on its own.

The proxy decides on the first ``SNIFF_BYTES`` of a body, before anything is sent to the
reader; every magic number below lies within them. Audio and video (``media_type``) are
only accepted for links signed as media (podcast enclosures, with FEEDSCRUB_PROXY_MEDIA).
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


SNIFF_BYTES = 512  # what the proxy reads before deciding; covers SVG after some whitespace

# ISO base media brands that are audio only; any other "ftyp" file is served as video/mp4
# unless the upstream itself says audio (an .m4a labelled isom is common).
_AUDIO_BRANDS = (b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B ")


def _media_magic(declared: str, body: bytes) -> str | None:
    media = declared.split(";")[0].strip().lower()
    audio_declared = media.startswith("audio/")
    if body.startswith(b"ID3"):
        return "audio/mpeg"
    if len(body) >= 2 and body[0] == 0xFF and body[1] & 0xE0 == 0xE0:
        # MPEG audio frame sync; layer bits 00 mean an ADTS AAC stream instead.
        return "audio/aac" if body[1] & 0x06 == 0 else "audio/mpeg"
    if body.startswith(b"OggS"):
        return "video/ogg" if media == "video/ogg" else "audio/ogg"
    if body.startswith(b"fLaC"):
        return "audio/flac"
    if body.startswith(b"RIFF") and body[8:12] == b"WAVE":
        return "audio/wav"
    if body[4:8] == b"ftyp":
        brand = body[8:12]
        if brand == b"qt  ":
            return "video/quicktime"
        return "audio/mp4" if brand in _AUDIO_BRANDS or audio_declared else "video/mp4"
    if body.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: WebM or Matroska
        if b"webm" in body[:64]:
            return "audio/webm" if audio_declared else "video/webm"
        return "video/x-matroska"
    return None


def is_svg(declared: str, head: bytes) -> bool:
    """Whether an answer is SVG (by header or by its first bytes): refused, never retried."""
    media = declared.split(";")[0].strip().lower()
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:5].lower()
    return media == "image/svg+xml" or start in (b"<svg ", b"<svg>", b"<?xml")


def media_type(declared: str, body: bytes, *, url: str = "") -> str:
    """Like ``image_type``, but audio and video pass too (for links signed as media)."""
    try:
        return image_type(declared, body, url=url)
    except NotAnImage:
        kind = _media_magic(declared, body)
        if kind is None:
            raise
        return kind


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
    sent = media or "no type"
    raise NotAnImage(f"image: upstream did not return an image (it sent {sent}){where}")
