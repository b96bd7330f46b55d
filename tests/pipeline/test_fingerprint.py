"""The code fingerprint in output keys (pipeline/fingerprint.py): an output cached by one
release is not served as current by a release whose cleaning differs, with nobody bumping
OUTPUT_VERSION; replicas of two releases on one store each serve their own.

The release is simulated in one test process: `code_fingerprint` patched to name it, and the
older release's cleaning patched in (it did not remove boilerplate lines). Each "release" is
a new app (a new process's memory) on the same real store in a temp dir (or Redis).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from proxy.clean import boilerplate_lines
from proxy.pipeline import fingerprint
from proxy.server import create_app
from tests.redis_server import BOTH_BACKENDS
from tests.upstream import Upstream

SUBSCRIBE = "Subscribe by mail: write to news@example.org for the daily digest"


def _feed(items: int = 5) -> bytes:
    entries = "".join(
        f"<item><title>t{i}</title><link>https://example.org/{i}</link><guid>g{i}</guid>"
        f"<description><![CDATA[<p>Article {i} has its own opening sentence, subject {i}.</p>"
        f"<p><small>Posted by someone {i} at "
        f'<a href="https://site.example/p/{i}">link {i}</a><br>Tags: t{i}, u{i}, v{i} and more'
        f"<br>{SUBSCRIBE}</small></p>]]></description></item>"
        for i in range(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>f</title>'
        f"<link>https://example.org/</link><description>d</description>{entries}</channel></rss>"
    ).encode()


async def _served(
    aiohttp_client: AiohttpClient, settings: Any, url: str, release: str, *, lines: bool
) -> str:
    """The feed as a new process of `release` serves it (lines: whether that release's
    cleaning removes boilerplate lines; the older one did not)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fingerprint, "code_fingerprint", lambda: release)
        if not lines:
            patch.setattr(boilerplate_lines, "remove", lambda line: None)
        client = await aiohttp_client(create_app(settings))
        try:
            response = await client.get("/feed", params={"url": url})
            assert response.status == 200
            return await response.text()
        finally:
            await client.close()


@BOTH_BACKENDS
async def test_an_output_cached_by_another_release_is_not_served(
    aiohttp_client: AiohttpClient, make_settings: Any, upstream: Upstream
) -> None:
    url = upstream.route("/lines.xml", _feed())
    settings = make_settings(ttl=3600)  # the body stays fresh: only the code differs
    old = await _served(aiohttp_client, settings, url, "release-1", lines=False)
    assert SUBSCRIBE in old  # what the older release made, now in the store

    # The same release restarted (a new process on the same store) serves what it stored:
    # the store hands that output to any process whose key is the same.
    assert await _served(aiohttp_client, settings, url, "release-1", lines=True) == old

    # A new release cleans again, from the stored body (no new upstream request).
    new = await _served(aiohttp_client, settings, url, "release-2", lines=True)
    assert SUBSCRIBE not in new and "Article 4 has its own opening sentence" in new
    assert upstream.hits["/lines.xml"] == 1

    # Rolling deploy: the old release, still running beside it, keeps its own output (and
    # the new one its own): neither overwrote the other's, nothing is rebuilt back and forth.
    assert await _served(aiohttp_client, settings, url, "release-1", lines=False) == old
    assert await _served(aiohttp_client, settings, url, "release-2", lines=True) == new
    assert upstream.hits["/lines.xml"] == 1


def _package(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


BASE = {
    "clean/packs/share.py": "RULE = 1\n",
    "output/inplace.py": "X = 1\n",
    "clean/data/list.txt": "host.example\n",
    "server/preview.py": "Y = 1\n",
    "metrics.py": "Z = 1\n",
    "pipeline/freshness.py": "W = 1\n",
}
LIBS = {"lxml": "6.1.3", "nh3": "0.3.8"}


@pytest.mark.parametrize(
    ("change", "changes_the_key"),
    [
        ({"clean/packs/share.py": "RULE = 2\n"}, True),  # a rule changed
        ({"clean/packs/new.py": "NEW = 1\n"}, True),  # a module added counts by default
        ({"clean/data/list.txt": "other.example\n"}, True),  # a data file
        ({"output/inplace.py": "X = 1  # a comment\n"}, True),  # (a needless re-clean: safe)
        ({"server/preview.py": "Y = 2\n"}, False),  # shapes no served byte
        ({"metrics.py": "Z = 2\n"}, False),
        ({"pipeline/freshness.py": "W = 2\n"}, False),
        ({"clean/__pycache__/share.cpython-311.pyc": "bytecode"}, False),
    ],
    ids=lambda value: next(iter(value)) if isinstance(value, dict) else str(value),
)
def test_fingerprint_follows_what_shapes_output(
    tmp_path: Path, change: dict[str, str], changes_the_key: bool
) -> None:
    before = fingerprint.fingerprint_of(_package(tmp_path / "a", BASE), LIBS)
    after = fingerprint.fingerprint_of(_package(tmp_path / "b", {**BASE, **change}), LIBS)
    assert (before != after) is changes_the_key


def test_fingerprint_follows_libraries_not_the_install_path(tmp_path: Path) -> None:
    one = fingerprint.fingerprint_of(_package(tmp_path / "site-a" / "proxy", BASE), LIBS)
    two = fingerprint.fingerprint_of(_package(tmp_path / "elsewhere" / "proxy", BASE), LIBS)
    assert one == two  # relative paths: every replica of a release agrees
    upgraded = fingerprint.fingerprint_of(tmp_path / "site-a" / "proxy", {**LIBS, "nh3": "0.4"})
    assert upgraded != one


def test_the_real_fingerprint_is_computed_once_and_names_this_package() -> None:
    value = fingerprint.code_fingerprint()
    assert value == fingerprint.code_fingerprint() and len(value) == 24
    assert fingerprint.code_fingerprint.cache_info().misses == 1  # (functools.cache)
    assert fingerprint.output_version("5") == f"5:{value}"
    assert (fingerprint.PACKAGE / "clean" / "boilerplate_lines.py").is_file()
