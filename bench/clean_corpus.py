"""Per-rule hit counts and text kept over the real corpus (../shared/corpus/real).

    python bench/clean_corpus.py [CORPUS_DIR]

Each feed's items go through the clean stage as the pipeline runs it (clean_items, every
built-in pack, summaries and contents as separate batches). Prints removals per rule (from
the attribution), and every sentence (30+ characters) of an item's text — as the sanitiser
alone would serve it — that the cleaned item no longer has, with the rule that took it.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import lxml.html

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from proxy import clean, parse  # noqa: E402
from proxy.models import FetchResult  # noqa: E402

DEFAULT = ROOT.parent.parent / "shared" / "corpus" / "real"
_SENTENCE = re.compile(r"[^.!?。！？\n]{30,}[.!?。！？]?")


def text(html: str) -> str:
    if not html.strip():
        return ""
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    return " ".join(str(root.text_content()).split())


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    hits: Counter[str] = Counter()
    links: Counter[str] = Counter()
    lost: list[str] = []
    items = files = 0
    for path in sorted(corpus.iterdir()):
        if path.suffix not in (".xml", ".json"):
            continue
        result = FetchResult(
            url="https://upstream.example/feed", status=200, body=path.read_bytes(), content_type=""
        )
        try:
            feed = parse.parse(result)
        except Exception as exc:  # the corpus has malformed feeds on purpose
            print(f"{path.name}: not parsed ({exc})")
            continue
        files += 1
        for field in ("summary", "content"):
            htmls = [getattr(e, field) for e in feed.entries if getattr(e, field)]
            if not htmls:
                continue
            items += len(htmls)
            cleaned = clean.clean_items(htmls, feed=clean.FeedContext(feed_key=path.name))
            bare = clean.clean_items(htmls, clean.Ruleset(packs=()))
            for before, after in zip(bare, cleaned, strict=True):
                hits.update(after.hits())
                links.update(change.rule for change in after.links)
                kept = text(after.html)
                for sentence in _SENTENCE.findall(text(before.html)):
                    if sentence.strip() not in kept:
                        by = sorted({r.rule for r in after.removals if sentence[:20] in r.text})
                        lost.append(f"{path.name} [{','.join(by) or '?'}] {sentence.strip()[:110]}")
    print(f"{files} feeds, {items} item bodies")
    for rule, count in sorted(hits.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"{count:7d}  {rule}")
    print(f"sentences no longer in the cleaned items: {len(lost)}")
    for line in lost:
        print("  " + line)


if __name__ == "__main__":
    main()
