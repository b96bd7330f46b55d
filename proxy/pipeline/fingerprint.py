"""What made a cached output: a fingerprint of the code and libraries that shape it, part of
every output and cleaned-item key (pipeline/jobs.py, pipeline/itemcache.py), so a release
whose cleaning or rendering differs never serves what an older release cached. No I/O but
reading this package's own files, once per process.

OUTPUT_VERSION (process.py) used to be that key part alone, bumped by hand; a change to a
rule that nobody remembered to bump it for served old outputs as current until each feed
changed upstream. Now the key part is OUTPUT_VERSION plus a digest of

* every file of this package (sources and data files) but those in NOT_OUTPUT, which shape
  no served feed byte (the server, the CLI, the store, explain, metrics, scheduling): a new
  module counts by default, and a file wrongly counted costs one needless re-clean per feed
  on release, never a stale output;
* the versions of the libraries that parse, clean, sanitise and render (LIBRARIES), libxml2's
  and Python's.

On a rolling deploy, replicas of two releases on one shared store make different keys: each
serves the outputs its own code made (built once per feed and TTL, from the one shared body:
no fetch more), neither evicts nor overwrites the other's, so there is no thrash. For the
deploy's length each feed has two outputs in the store (the old ones then age out), and a
reader whose requests alternate between old and new replicas may get a 200 instead of a 304
when the two releases render the feed differently (equal bytes keep equal ETags).
"""

from __future__ import annotations

import functools
import hashlib
import sys
from importlib import metadata
from pathlib import Path

from lxml import etree

PACKAGE = Path(__file__).resolve().parent.parent  # proxy/

# Paths under proxy/ (a folder ends in "/") that shape no byte of a served feed: how requests
# are answered, where things are kept, when feeds are fetched, what is counted or logged.
NOT_OUTPUT = (
    "cli/",
    "explain/",
    "fetch/",
    "server/",
    "store/",
    "backoff.py",
    "bounded.py",
    "builds.py",
    "logsafe.py",
    "memory.py",
    "metrics.py",
    "pipeline/freshness.py",
    "reload.py",
    "singleflight.py",
)
# Distributions whose code is in the output path (parse, clean, sanitise, render, convert).
LIBRARIES = (
    "adblock",
    "cssselect",
    "feedgen",
    "feedparser",
    "html5lib",
    "lxml",
    "lxml_html_clean",
    "nh3",
    "opencc",
    "readability-lxml",
    "regex",
)


def _counted(relative: str) -> bool:
    if "__pycache__/" in relative or relative.endswith((".pyc", ".pyo")):
        return False
    return not any(
        relative.startswith(path) if path.endswith("/") else relative == path for path in NOT_OUTPUT
    )


def fingerprint_of(package: Path, libraries: dict[str, str]) -> str:
    """The digest of package's counted files (by path relative to it, and content) and of
    libraries (name → version): stable across machines and install paths."""
    digest = hashlib.sha256()
    files = sorted(
        (path.relative_to(package).as_posix(), path)
        for path in package.rglob("*")
        if path.is_file()
    )
    for relative, path in files:
        if _counted(relative):
            digest.update(relative.encode("utf-8") + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    for name, version in sorted(libraries.items()):
        digest.update(f"{name}={version}\0".encode())
    return digest.hexdigest()[:24]


def _library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "-"
    versions["libxml2"] = ".".join(map(str, etree.LIBXML_VERSION))
    versions["python"] = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return versions


@functools.cache
def code_fingerprint() -> str:
    """This process's fingerprint (computed on first use, ~10 ms, then a cached string)."""
    return fingerprint_of(PACKAGE, _library_versions())


def output_version(manual: str) -> str:
    """The version part of output keys: the hand-kept one (OUTPUT_VERSION) and the code's."""
    return f"{manual}:{code_fingerprint()}"
