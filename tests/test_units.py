"""Small stage helpers: image type sniffing and single-flight."""

from __future__ import annotations

import asyncio

import pytest

from proxy.errors import NotAnImage
from proxy.images.imagetype import image_type
from proxy.singleflight import SingleFlight
from tests.helpers import DATA


@pytest.mark.parametrize(
    ("declared", "body", "expected"),
    [
        ("image/png", (DATA / "images" / "red.png").read_bytes(), "image/png"),
        ("text/html", (DATA / "images" / "red.png").read_bytes(), "image/png"),
        ("image/jpeg", b"\xff\xd8\xff\xe0JFIF", "image/jpeg"),
        ("", b"GIF89a....", "image/gif"),
        ("image/webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    ],
)
def test_image_type_from_magic(declared: str, body: bytes, expected: str) -> None:
    assert image_type(declared, body) == expected


@pytest.mark.parametrize(
    ("declared", "body", "message"),
    [
        ("image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
        ("image/png", b"<html><script>alert(1)</script>", "did not return an image"),
        ("text/html", b"<!doctype html>", "text/html"),
    ],
)
def test_non_images_refused(declared: str, body: bytes, message: str) -> None:
    with pytest.raises(NotAnImage, match=message):
        image_type(declared, body)


async def test_single_flight_shares_one_run() -> None:
    flights = SingleFlight()
    calls = 0

    async def work() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return 42

    results = await asyncio.gather(*(flights.run("k", work) for _ in range(20)))
    assert results == [42] * 20
    assert calls == 1
    assert len(flights) == 0


async def test_single_flight_survives_a_cancelled_waiter() -> None:
    flights = SingleFlight()

    async def work() -> str:
        await asyncio.sleep(0.05)
        return "done"

    first = asyncio.ensure_future(flights.run("k", work))
    second = asyncio.ensure_future(flights.run("k", work))
    await asyncio.sleep(0.01)
    first.cancel()
    assert await second == "done"


async def test_single_flight_shares_errors() -> None:
    flights = SingleFlight()

    async def work() -> None:
        await asyncio.sleep(0.01)
        raise ValueError("upstream broke")

    results = await asyncio.gather(
        *(flights.run("k", work) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, ValueError) for r in results)
