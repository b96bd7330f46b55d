"""The real-feed corpus (tests/data/corpus, copied from ../shared/corpus/real) through the
output stage, and the W3C Feed Validation Service's code (../shared/validators, read only)."""

from __future__ import annotations

import functools
import io
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree

from proxy import parse, rewrite
from proxy.models import Feed, FetchResult
from proxy.pipeline import process
from tests.helpers import DATA

CORPUS = DATA / "corpus"
_REPO = Path(__file__).resolve().parents[1]


def _shared(*parts: str) -> Path:
    """A path under ../shared beside the clone (CI); a worktree sits one level deeper
    (wt/<branch>). The first that exists, else the one beside the clone."""
    candidates = [base.joinpath("shared", *parts) for base in (_REPO.parent, _REPO.parent.parent)]
    return next((p for p in candidates if p.is_dir()), candidates[0])


VALIDATORS = _shared("validators")
# The corpus tests/data/corpus was copied from (tests compare the copy with it when it is here).
SHARED_CORPUS = _shared("corpus", "real")
FEED_FILES = sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".xml", ".json"))
SOURCE_URL = "https://upstream.example/feed"
SELF_URL = "https://proxy.example/feed?url=https%3A%2F%2Fupstream.example%2Ffeed"
WHEN = datetime(2026, 1, 1, tzinfo=UTC)
KEY = b"k" * 32
TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}


@functools.cache
def upstream(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


@functools.cache
def parsed(name: str) -> Feed:
    return parse.parse(
        FetchResult(url=SOURCE_URL, status=200, body=upstream(name), content_type="")
    )


@functools.cache
def served(
    name: str, fmt: str | None = None, *, mode: str = "proxy", opencc: str | None = None
) -> bytes:
    """What the proxy serves for a corpus feed (fmt None: the upstream's own format)."""
    feed = parsed(name)
    policy = rewrite.ImagePolicy(mode=mode, public_base="https://proxy.example", key=KEY)
    return process.build_output(
        feed,
        fmt or feed.kind,
        policy=policy,
        self_url=SELF_URL,
        fallback_date=WHEN,
        body=upstream(name),
        opencc=opencc,
    )


@functools.cache
def _validator() -> Any:
    if not (VALIDATORS / "feedvalidator").is_dir():
        return None
    sys.path.insert(0, str(VALIDATORS / "feedvalidator" / "src"))
    # Read only: no __pycache__ beside the validator (CI mounts ../shared read-only).
    before, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        import feedvalidator  # type: ignore[import-not-found]
        import feedvalidator.logging  # type: ignore[import-not-found]
    finally:
        sys.dont_write_bytecode = before
    return feedvalidator


def validator_available() -> bool:
    return _validator() is not None


def validator_error_events(body: bytes, content_type: str) -> list[Any]:
    """The validator's error events for one document (warnings are not counted)."""
    validator = _validator()
    try:
        result = validator.validateStream(
            io.BytesIO(body), firstOccurrenceOnly=1, contentType=content_type, base=""
        )
        events = result["loggedEvents"]
    except validator.logging.ValidationFailure as failure:
        events = [failure.event]
    return [e for e in events if isinstance(e, validator.logging.Error)]


def validator_errors(body: bytes, content_type: str) -> set[str]:
    """The validator's error classes for one document."""
    return {type(e).__name__ for e in validator_error_events(body, content_type)}


@functools.cache
def atom_schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(VALIDATORS / "atom.rng")))


def xml_feed_files() -> list[Path]:
    """Every XML feed of tests/data (corpus, feeds, boilerplate), then those of the shared
    corpus that tests/data/corpus has no copy of: the inputs of the byte-for-byte
    differentials (test_splice, test_streamed)."""
    found = [
        p
        for folder in ("corpus", "feeds", "boilerplate")
        for p in sorted((DATA / folder).iterdir())
        if p.suffix == ".xml"
    ]
    if SHARED_CORPUS.is_dir():
        names = {p.name for p in found}
        found += [p for p in sorted(SHARED_CORPUS.glob("*.xml")) if p.name not in names]
    return found


def xml_feed_params() -> list[Any]:
    """``xml_feed_files`` as pytest parameters named by folder and file."""
    import pytest

    return [pytest.param(p, id=f"{p.parent.name}/{p.name}") for p in xml_feed_files()]
