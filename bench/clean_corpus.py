"""Per-rule hit counts and the text kept over the real corpus (../shared/corpus/real).

    python bench/clean_corpus.py [CORPUS_DIR] [--all]

Each feed's items go through the clean stage as the pipeline runs it (clean_items, every
built-in pack, summaries and contents as separate batches, a fresh boilerplate memory).
Prints the removals per rule (from the attribution, unwraps included), then every text and
media marker of the sanitised-only output that the cleaned item no longer has, grouped by
the rule that removed it (tests/textmarkers.py says what a marker is and how a loss is
attributed; tests/test_corpus_text.py lists those read as junk and asserts the rest are
kept). Identical losses are printed once with their count; --all prints every one, with its
field and item.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import textmarkers  # noqa: E402

DEFAULT = ROOT.parent.parent / "shared" / "corpus" / "real"


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    every = "--all" in sys.argv[1:]
    corpus = Path(args[0]) if args else DEFAULT
    hits: Counter[str] = Counter()
    links: Counter[str] = Counter()
    lost: list[textmarkers.Lost] = []
    files = items = texts = media = 0
    for path in sorted(corpus.iterdir()):
        if path.suffix not in (".xml", ".json"):
            continue
        try:
            runs = textmarkers.run_feed(path)
        except Exception as exc:  # malformed feeds on purpose; a parse bug must not stop the run
            print(f"{path.name}: not parsed ({exc})")
            continue
        files += 1
        for run in runs:
            items += len(run.cleaned)
            texts, media = texts + run.markers, media + run.media
            lost.extend(run.lost)
            for cleaned in run.cleaned:
                hits.update(cleaned.hits())
                links.update(change.rule for change in cleaned.links)
    print(f"{files} feeds, {items} item bodies, {texts} text markers, {media} media markers")
    print("removals per rule (link rewrites apart):")
    for rule, count in sorted(hits.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"{count:7d}  {rule}")
    for rule, count in sorted(links.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"{count:7d}  {rule} (links)")
    for kind, total in (("text", texts), ("media", media)):
        gone = [x for x in lost if x.kind == kind]
        print(
            f"\n{kind} markers no longer in the cleaned items: {len(gone)} of {total}"
            " (junk or not: tests/test_corpus_text.py lists those read as junk)"
        )
        for rule in sorted({x.rule for x in gone}):
            mine = [x for x in gone if x.rule == rule]
            print(f"  == {rule}: {len(mine)}")
            if every:
                for x in mine:
                    print(f"     {x.feed} {x.field}[{x.item}] {x.text[:120]}")
                continue
            for (feed, text), count in Counter((x.feed, x.text[:120]) for x in mine).items():
                print(f"   {count:4d}x {feed} | {text}")


if __name__ == "__main__":
    main()
