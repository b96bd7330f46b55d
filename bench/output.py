"""Output stage benchmark (issue 11): the same-format in-place edit against the rebuild, and
the W3C validator's error counts for the corpus, upstream against ours.

    python bench/output.py               # both
    python bench/output.py --only cost   # per-item cost, in place ÷ rebuild
    python bench/output.py --only errors # validator errors per feed and format

(cost) For each corpus feed in its own format: milliseconds per item of the whole output step
    (transform + write) through the in-place path and through the rebuild (the conversion in
    the same format, what feedscrub did before), and the output alone (the transform done
    once beforehand). Reported as ratios in the same run; the rebuild is the baseline.
(errors) The validator's error count (occurrences of error classes, first occurrence per class
    and line as the validator reports them) for the upstream and for ours in RSS and Atom.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from proxy import output, rewrite  # noqa: E402
from proxy.models import Feed  # noqa: E402
from proxy.pipeline import process  # noqa: E402
from tests import corpus  # noqa: E402

WHEN = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = rewrite.ImagePolicy(mode="proxy", public_base="https://proxy.example", key=b"k" * 32)


def _best(run: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def cost(repeat: int) -> None:
    print(
        f"{'feed':44} {'items':>5} {'inplace ms/item':>15} {'rebuild ms/item':>15} "
        f"{'ratio':>6} {'write-only ratio':>16}"
    )
    totals = [0.0, 0.0, 0.0, 0.0]
    items_total = 0
    for name in corpus.FEED_FILES:
        body = corpus.upstream(name)
        feed = corpus.parsed(name)
        if not feed.entries:
            continue

        def transform(parsed: Feed) -> Feed:
            return process.transform(parsed, policy=POLICY)

        cleaned = transform(feed)

        def done(_: Feed, cleaned: Feed = cleaned) -> Feed:
            return cleaned

        def run(
            source: bytes | None, step: Callable[[Feed], Feed], feed: Feed = feed
        ) -> Callable[[], object]:
            return lambda: output.build_output(
                source, feed, step, feed.kind, self_url=corpus.SELF_URL, fallback_date=WHEN
            )

        inplace = _best(run(body, transform), repeat)
        rebuild = _best(run(None, transform), repeat)
        inplace_write = _best(run(body, done), repeat)
        rebuild_write = _best(run(None, done), repeat)
        n = len(feed.entries)
        items_total += n
        for i, value in enumerate((inplace, rebuild, inplace_write, rebuild_write)):
            totals[i] += value
        print(
            f"{name[:44]:44} {n:5d} {inplace / n * 1000:15.3f} {rebuild / n * 1000:15.3f} "
            f"{inplace / rebuild:6.2f} {inplace_write / rebuild_write:16.2f}"
        )
    print(
        f"{'all corpus feeds':44} {items_total:5d} {totals[0] / items_total * 1000:15.3f} "
        f"{totals[1] / items_total * 1000:15.3f} {totals[0] / totals[1]:6.2f} "
        f"{totals[2] / totals[3]:16.2f}"
    )


def errors() -> None:
    if not corpus.validator_available():
        print(f"the validator is not at {corpus.VALIDATORS}")
        return

    def count(body: bytes, content_type: str) -> int:
        return len(corpus.validator_error_events(body, content_type))

    print(f"{'feed':48} {'upstream':>8} {'ours rss':>8} {'ours atom':>9}")
    sums = [0, 0, 0]
    for name in corpus.FEED_FILES:
        feed = corpus.parsed(name)
        up = 0 if feed.kind == "json" else count(corpus.upstream(name), corpus.TYPES[feed.kind])
        rss = count(corpus.served(name, "rss"), corpus.TYPES["rss"])
        atom = count(corpus.served(name, "atom"), corpus.TYPES["atom"])
        for i, value in enumerate((up, rss, atom)):
            sums[i] += value
        label = name + (" (JSON: not validated)" if feed.kind == "json" else "")
        print(f"{label[:48]:48} {up:8d} {rss:8d} {atom:9d}")
    print(f"{'total':48} {sums[0]:8d} {sums[1]:8d} {sums[2]:9d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("cost", "errors"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if args.only in (None, "cost"):
        cost(args.repeat)
    if args.only in (None, "errors"):
        errors()


if __name__ == "__main__":
    main()
