"""proxy/memory.py and the builds that use it: the cyclic collector's full passes wait while
builds run (they stopped the event loop for up to 220 ms during a 5,000-item build), the GIL
changes hands sooner, and both come back as they were after the last build."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading

import pytest

from proxy import memory
from proxy.builds import BuildSlots


def test_full_collections_are_held_off_inside_and_restored_after() -> None:
    before, switch = gc.get_threshold(), sys.getswitchinterval()
    with memory.builds_running():
        inside = gc.get_threshold()
        assert sys.getswitchinterval() == min(switch, memory.BUILD_SWITCH_SECONDS)
        with memory.builds_running():  # nested: still held
            assert gc.get_threshold() == inside
        assert gc.get_threshold() == inside
    assert inside[:2] == before[:2]  # the young generations are still collected as before
    assert inside[2] > 1_000_000 > before[2]
    assert gc.get_threshold() == before
    assert sys.getswitchinterval() == switch


def test_restored_even_when_the_build_fails() -> None:
    before = gc.get_threshold()
    try:
        with memory.builds_running():
            raise ValueError("a build that failed")
    except ValueError:
        pass
    assert gc.get_threshold() == before


def test_overlapping_builds_restore_only_when_the_last_one_ends() -> None:
    before = gc.get_threshold()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, tuple[int, int, int]] = {}

    def first() -> None:
        with memory.builds_running():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second() -> None:
        first_in.wait(10)
        with memory.builds_running():
            second_in.set()
            first_out.wait(10)
            seen["after the first left"] = gc.get_threshold()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen["after the first left"][2] > before[2]  # the second was still running
    assert gc.get_threshold() == before


async def test_build_slots_run_work_with_full_collections_held_off() -> None:
    before = gc.get_threshold()
    slots = BuildSlots(2)
    inside = await asyncio.gather(slots.run(gc.get_threshold), slots.run(gc.get_threshold))
    assert all(seen[2] > before[2] for seen in inside)
    assert gc.get_threshold() == before


def test_a_step_that_grew_the_process_is_trimmed_after(monkeypatch: pytest.MonkeyPatch) -> None:
    trims: list[int] = []
    monkeypatch.setattr(memory, "_TRIM", trims.append)
    sizes = iter([100 * 2**20, 100 * 2**20 + memory.GROWN_BYTES - 1])
    monkeypatch.setattr(memory, "resident", lambda: next(sizes))
    memory.release_grown(100 * 2**20 - memory.GROWN_BYTES)  # grew by GROWN_BYTES: trimmed
    memory.release_grown(100 * 2**20 + 1)  # grew by less: not
    memory.release_grown(0)  # resident size unknown (not Linux): never
    assert trims == [0]


async def test_build_slots_trim_after_each_build(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    monkeypatch.setattr(memory, "release_grown", seen.append)
    assert await BuildSlots(1).run(sum, [1, 2]) == 3
    assert len(seen) == 1 and seen[0] > 0  # the resident size before the build


def test_builds_back_to_back_still_get_a_full_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    passes: list[int] = []

    def collect(*args: int) -> int:
        passes.append(1)
        return 0

    monkeypatch.setattr(gc, "collect", collect)
    monkeypatch.setattr(memory, "HOLD_SECONDS", 0.0)
    with memory.builds_running():
        with memory.builds_running():
            pass  # ends while another build runs, the hold old enough: one pass
        assert passes == [1]
    assert passes == [1]  # the last one out restores the thresholds instead
    monkeypatch.setattr(memory, "HOLD_SECONDS", 3600.0)
    with memory.builds_running(), memory.builds_running():
        pass
    assert passes == [1]  # a young hold: no pass
