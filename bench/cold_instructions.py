"""Instructions per item of the server's cold transform (issue 15.1) under callgrind:
``process.transform`` with an ItemCache (the server's path: clean in steps, rewrite, sanitise)
on seed-like items. Deterministic, unlike CPU time on a shared machine, so a change of a
few µs per item shows; compare trees in one run.

    python bench/cold_instructions.py                    # this tree, 100 items
    python bench/cold_instructions.py --tree /tmp/base   # and another checkout, for before/after

Each figure is (two cold transforms − one) ÷ items: imports, the warm-up and the parse of
the feed cancel out. Needs valgrind (Debian: valgrind); about half a minute per tree.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import add_tree_option, callgrind_total

HERE = Path(__file__).resolve().parent

# Run in the tree under test (its proxy package first on sys.path), twice per figure.
_CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
from harness import seed_like_feed
from proxy import rewrite
from proxy.pipeline import process
from proxy.pipeline.itemcache import ItemCache
items, runs = int(sys.argv[3]), int(sys.argv[4])
feed = process.parse_body(seed_like_feed(items), "https://bench.test/feed")
policy = rewrite.ImagePolicy(mode="proxy", public_base="http://127.0.0.1:1/", key=b"k" * 32)
process.transform(process.parse_body(seed_like_feed(20), "https://bench.test/w"), policy=policy)
import os, subprocess
subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], capture_output=True)
for _ in range(runs):
    process.transform(feed, policy=policy, items=ItemCache(), learnt={})
"""


def _instructions(tree: Path, items: int, runs: int, out: Path) -> int:
    dump = out / f"cg.{len(list(out.iterdir()))}"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    python = tree / ".venv" / "bin" / "python"
    if not python.exists():
        python = Path(sys.executable)
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={dump}",
        str(python),
        "-c",
        _CHILD,
        str(HERE),
        str(tree),
        str(items),
        str(runs),
    ]
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=tree)
    return callgrind_total(dump)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100)
    add_tree_option(parser)
    args = parser.parse_args()
    trees = [HERE.parent, *args.tree]
    with tempfile.TemporaryDirectory() as tmp:
        for tree in trees:
            one = _instructions(tree, args.items, 1, Path(tmp))
            two = _instructions(tree, args.items, 2, Path(tmp))
            per_item = (two - one) / args.items
            print(f"{per_item / 1000:8,.0f}k instructions per item  {tree}", flush=True)


if __name__ == "__main__":
    main()
