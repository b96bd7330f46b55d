"""The benchmark harness keeps up with the product (issue 15): the profile's stage timers
still find every function they wrap, and the benchmark feeds are what they claim. No timing
is asserted here; the figures come from `python bench/run.py` and `bench/profile.py`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from proxy.models import FetchResult
from proxy.parse import parse

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str, as_name: str) -> ModuleType:
    # bench/profile.py shares its name with the standard library's profile: load it by path.
    spec = importlib.util.spec_from_file_location(as_name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[as_name] = module
    path = list(sys.path)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = path  # the scripts put bench/ on the path; other tests must not see it
    return module


def test_profile_timers_wrap_every_stage_function_and_undo_cleanly() -> None:
    profile = _load("profile", "bench_profile")
    import proxy.parse
    import proxy.pipeline.process

    before = (proxy.parse.parse, proxy.pipeline.process.compress)
    profile.install_timers()  # SystemExit names a stage function that moved
    try:
        assert proxy.parse.parse is not before[0]
        assert proxy.pipeline.process.compress is not before[1]
        body = proxy.pipeline.process.compress(b"x" * 100)
        assert profile.CALLS["gzip"] == 1 and body[:2] == b"\x1f\x8b"
    finally:
        profile.uninstall_timers()
    assert (proxy.parse.parse, proxy.pipeline.process.compress) == before


def test_seed_like_feed_changes_exactly_the_item_it_names() -> None:
    harness = _load("harness", "bench_harness")
    before = harness.seed_like_feed(5)
    after = harness.seed_like_feed(5, changed=3, version=7)
    old = parse(FetchResult(url="https://b.test/", status=200, body=before, content_type=""))
    new = parse(FetchResult(url="https://b.test/", status=200, body=after, content_type=""))
    assert len(old.entries) == len(new.entries) == 5
    differing = [i for i in range(5) if old.entries[i] != new.entries[i]]
    assert differing == [3]
    assert new.entries[3].title == "item 3v7"
