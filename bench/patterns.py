"""The slowest built-in regular expression on its generated worst-case inputs (issue 9.1).

    python bench/patterns.py [--size 100000] [--top 10]

Uses the same pattern walk and input generator as tests/test_patterns.py (which fails any
pattern over 50 ms at 100 KB); prints the slowest (pattern, input) pairs, best of 3 each.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import worstcase  # noqa: E402
from tests.test_patterns import PATTERNS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=worstcase.SIZE)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    worstcase.SIZE = args.size
    timings: list[tuple[float, str, str]] = []
    for name, pattern in PATTERNS.items():
        for label, text in worstcase.inputs(pattern):
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                pattern.search(text)
                best = min(best, time.perf_counter() - started)
            timings.append((best, name, label))
    timings.sort(reverse=True)
    print(f"{len(PATTERNS)} patterns, {len(timings)} inputs of {args.size:,} characters")
    for seconds, name, label in timings[: args.top]:
        print(f"{seconds * 1000:8.1f} ms  {name}  {label[:70]}")


if __name__ == "__main__":
    main()
