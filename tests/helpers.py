"""Helpers shared by end-to-end tests: feeds with their upstream URLs swapped in, and the
proxy app wired to a temp cache."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import feedparser
from aiohttp.test_utils import TestClient

DATA = Path(__file__).parent / "data"
SEED_IMAGE = (
    "https://s.rfi.fr/media/display/7f64401a-0dd8-11ee-a580-005056bfb2b6/w:1280/p:16x9/"
    "AP23169258707262.jpg"
)


def seed_feed(image_base: str | None = None, encoding: str = "utf-8") -> bytes:
    """The seed feed; with image_base, its images point at the local upstream instead."""
    name = "feedx-rfi-gbk.xml" if encoding == "gbk" else "feedx-rfi.xml"
    body = (DATA / "feeds" / name).read_bytes()
    if image_base:
        body = body.replace(SEED_IMAGE.encode(), f"{image_base}/seed.jpg".encode())
    return body


def big_feed(items: int) -> bytes:
    """An RSS feed of `items` tiny items: for size and item-count limits (tests and bench/)."""
    parts = [
        '<?xml version="1.0"?><rss version="2.0"><channel><title>big</title>'
        "<link>http://x/</link><description>d</description>"
    ]
    parts += [
        f"<item><title>i{i}</title><guid>g{i}</guid><description>&lt;p&gt;{i}&lt;/p&gt;"
        "</description></item>"
        for i in range(items)
    ]
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def read_feed(body: bytes) -> Any:
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def img_paths(html: str) -> list[str]:
    return re.findall(r'src="https?://[^/"]+(/img/[^"]+)"', html)


def move_clock(client: TestClient[Any, Any], seconds: float) -> None:
    """Advance the pipeline's clock: the cache sees `seconds` pass without sleeping."""
    from proxy.server import PIPELINE

    pipeline = client.server.app[PIPELINE]
    base = pipeline.clock
    pipeline.clock = lambda: base() + seconds


def cleaned_tree(html: str, packs: tuple[str, ...] | list[str] | None = None) -> str:
    """What the clean stage's rules leave of html, serialised before the sanitiser: the
    tree its `rewrite` hook sees (packs: which to run; default every built-in pack)."""
    from proxy.clean import DEFAULT_RULESET, Ruleset, clean, serialise

    ruleset = DEFAULT_RULESET if packs is None else Ruleset(packs=tuple(packs))
    seen: list[str] = []
    cleaned = clean(html, ruleset, rewrite=lambda root: seen.append(serialise(root)))
    assert cleaned.failed is None, cleaned.failed
    return seen[0]


def canon(html: str) -> str:
    """lxml's own serialisation of html, so expectations need not spell `<br>` vs `<br/>`."""
    from proxy.clean import parse_fragment, serialise

    return serialise(parse_fragment(html))


def keep(html: str, id: str) -> Any:  # (pytest's ParameterSet is not public)
    """A before/after case of a look-alike: the rules must leave it exactly as it was."""
    import pytest

    return pytest.param(html, html, id=id)


def gone(before: str, after: str, id: str) -> Any:
    """A before/after case where the rules remove junk: ``after`` is what must be left."""
    import pytest

    return pytest.param(before, after, id=id)
