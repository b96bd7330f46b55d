"""The clean stage's own cost per rule, in process (issue 15.1), and what its prefilters save.

    python bench/clean_rules.py                       # 500 seed-like items, 5 rounds
    python bench/clean_rules.py --items 200 --rounds 3
    python bench/clean_rules.py --corpus              # the real corpus feeds (tests/data/corpus)
    python bench/clean_rules.py --against DIR         # also a checkout of another commit in DIR

clean_items runs on the items' HTML as the pipeline gives it (summaries of one feed in one
batch), with every built-in pack. Rounds alternate prefilters on and off (registry.Needs:
a rule the item cannot feed is not called) and, with --against, the other checkout in a
subprocess, so each comparison is measured in one run. Per rule: its own time plus, with
prefilters on, the time its prefilter took, µs per item, the minimum over rounds (the
machine is shared: the minimum is the run least disturbed).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import NOISE, ROOT, seed_like_feed  # noqa: E402

sys.path.insert(0, str(ROOT))
import proxy.clean as clean  # noqa: E402
from proxy import parse  # noqa: E402
from proxy.clean import registry  # noqa: E402
from proxy.errors import ProxyError  # noqa: E402
from proxy.models import FetchResult  # noqa: E402


def batches(corpus: bool, items: int) -> list[list[str]]:
    bodies = (
        [p.read_bytes() for p in sorted((ROOT / "tests" / "data" / "corpus").glob("*.xml"))]
        if corpus
        else [seed_like_feed(items)]
    )
    found = []
    for body in bodies:
        try:
            feed = parse.parse(FetchResult(url="", status=200, body=body, content_type=""))
        except ProxyError:
            continue
        htmls = [e.summary or e.content or "" for e in feed.entries]
        if htmls:
            found.append(htmls)
    return found


def measure(work: list[list[str]], rounds: int, prefilters: bool) -> dict[str, Any]:
    """Minimum over rounds: clean_items µs/item untimed, and per rule with timers on."""
    run_item, run_feed = clean._run_item_rule, clean._run_feed_rule
    may_find = getattr(clean, "_may_find", None)
    needs_of = {r.needs: r.id for r in clean.all_rules() if getattr(r, "needs", None)}
    spent: dict[str, float] = defaultdict(float)

    def item_rule(rule: Any, *args: Any) -> None:
        started = time.thread_time()
        run_item(rule, *args)
        spent[rule.id] += time.thread_time() - started

    def feed_rule(rule: Any, *args: Any) -> None:
        started = time.thread_time()
        run_feed(rule, *args)
        spent[rule.id] += time.thread_time() - started

    def prefilter(needs: Any, item: Any) -> bool:
        started = time.thread_time()
        found = bool(may_find(needs, item))  # type: ignore[misc]
        spent[needs_of[needs]] += time.thread_time() - started
        return found

    if hasattr(registry, "use_prefilters"):
        registry.use_prefilters = prefilters
    items = sum(map(len, work))
    plain = timed = float("inf")
    rules: dict[str, float] = defaultdict(lambda: float("inf"))
    for htmls in work:
        clean.clean_items(htmls)  # warm up: imports, compiled patterns
    for _ in range(rounds):
        started = time.thread_time()
        for htmls in work:
            clean.clean_items(htmls)
        plain = min(plain, time.thread_time() - started)
        clean._run_item_rule = item_rule  # type: ignore[assignment]
        clean._run_feed_rule = feed_rule  # type: ignore[assignment]
        if may_find is not None:
            clean._may_find = prefilter
        spent.clear()
        started = time.thread_time()
        try:
            for htmls in work:
                clean.clean_items(htmls)
        finally:
            clean._run_item_rule, clean._run_feed_rule = run_item, run_feed
            if may_find is not None:
                clean._may_find = may_find
        timed = min(timed, time.thread_time() - started)
        for rule, seconds in spent.items():
            rules[rule] = min(rules[rule], seconds)
    per_item = 1e6 / items
    return {
        "items": items,
        "plain": plain * per_item,
        "timed": timed * per_item,
        "rules": {rule: seconds * per_item for rule, seconds in rules.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--corpus", action="store_true")
    parser.add_argument("--against", type=Path, help="a checkout of another commit")
    parser.add_argument("--json", action="store_true", help="(internal) one measurement")
    parser.add_argument("--prefilters", choices=("on", "off"), default="on")
    args = parser.parse_args()
    logging.getLogger("proxy").setLevel(logging.ERROR)
    work = batches(args.corpus, args.items)
    if args.json:
        print(json.dumps(measure(work, args.rounds, args.prefilters == "on")))
        return
    results: dict[str, list[dict[str, Any]]] = {"prefilters on": [], "prefilters off": []}
    for round_ in range(args.rounds):
        # Each goes first every other round: the first measurement of a round runs colder.
        for on in (True, False) if round_ % 2 == 0 else (False, True):
            results["prefilters on" if on else "prefilters off"].append(measure(work, 1, on))
        if args.against:
            command = [sys.executable, str(args.against / "bench" / "clean_rules.py"), "--json"]
            command += ["--rounds", "1", "--items", str(args.items)]
            command += ["--corpus"] if args.corpus else []
            if not (args.against / "bench" / "clean_rules.py").exists():
                command[1] = str(Path(__file__).resolve())  # this script, their code
            out = subprocess.run(
                command,
                cwd=args.against,
                env={"PYTHONPATH": str(args.against), "PATH": "/usr/bin:/bin"},
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            results.setdefault(f"{args.against}", []).append(
                json.loads(out.strip().splitlines()[-1])
            )
    best = {
        name: {
            "plain": min(r["plain"] for r in runs),
            "rules": {
                rule: min(r["rules"].get(rule, 0.0) for r in runs) for rule in runs[0]["rules"]
            },
        }
        for name, runs in results.items()
    }
    what = "the corpus" if args.corpus else f"{args.items} seed-like items"
    print(f"clean_items on {what}, min of {args.rounds} rounds, µs per item")
    print(NOISE)
    names = list(best)
    base = best[names[-1]]["plain"]
    for name in names:
        print(f"  {best[name]['plain']:7.0f}  ({best[name]['plain'] / base:.2f}x)  {name}")
    print("\nper rule (own time; with prefilters on, its prefilter's time too):")
    print(f"  {' | '.join(names)}")
    order = sorted(best[names[-1]]["rules"], key=lambda r: -best[names[-1]]["rules"][r])
    with_needs = {r.id for r in clean.all_rules() if getattr(r, "needs", None) is not None}
    for rule in order:
        figures = "  ".join(f"{best[n]['rules'].get(rule, 0.0):6.1f}" for n in names)
        print(f"  {figures}  {rule}{'  (prefilter)' if rule in with_needs else ''}")


if __name__ == "__main__":
    main()
