"""imagetype: what the first bytes say an image (or audio, video) is."""

from __future__ import annotations

import pytest

from proxy.errors import NotAnImage
from proxy.images.imagetype import image_type, is_svg, media_type
from tests.helpers import DATA

KEY = b"k" * 32
PNG = (DATA / "images" / "red.png").read_bytes()


# --- sniffing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "head", "expected"),
    [
        ("", b"ID3\x04\x00", "audio/mpeg"),
        ("", b"\xff\xfb\x90\x00", "audio/mpeg"),
        ("", b"\xff\xf1\x50\x80", "audio/aac"),
        ("", b"OggS\x00\x02", "audio/ogg"),
        ("video/ogg", b"OggS\x00\x02", "video/ogg"),
        ("", b"fLaC\x00", "audio/flac"),
        ("", b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav"),
        ("", b"\x00\x00\x00\x20ftypM4A \x00", "audio/mp4"),
        ("audio/mp4", b"\x00\x00\x00\x20ftypisom\x00", "audio/mp4"),
        ("", b"\x00\x00\x00\x20ftypisom\x00", "video/mp4"),
        ("", b"\x00\x00\x00\x14ftypqt  \x00", "video/quicktime"),
        ("", b"\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm", "video/webm"),
        ("", PNG, "image/png"),  # images pass media links too (a podcast's cover art)
    ],
)
def test_media_types(declared: str, head: bytes, expected: str) -> None:
    assert media_type(declared, head) == expected


def test_image_links_never_pass_audio() -> None:
    with pytest.raises(NotAnImage):
        image_type("audio/mpeg", b"ID3\x04\x00")
    with pytest.raises(NotAnImage):
        media_type("text/html", b"<!doctype html>")


@pytest.mark.parametrize(
    ("declared", "head", "svg"),
    [
        ("image/svg+xml", b"", True),
        ("", b"\xef\xbb\xbf  <svg xmlns='x'>", True),
        ("image/png", b"<?xml version='1.0'?><svg/>", True),
        ("text/html", b"<!doctype html>", False),
        ("image/png", PNG, False),
    ],
)
def test_is_svg(declared: str, head: bytes, svg: bool) -> None:
    assert is_svg(declared, head) is svg
