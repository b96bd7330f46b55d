"""What issue 12's sanitiser features cost: footnote anchors and MathML, as ratios in one run.

    python bench/sanitize_features.py [--repeat 5]

1. anchors: sanitize_html over every item of tests/data and ../shared/corpus/real as the
   clean stage hands it over (serialised after the rules), with an item key (ids that
   in-item links point at kept, prefixed) against without (every id dropped, as before).
2. MathML: items with formulas (the seed item with N formulas spliced in) against the same
   items with <math> renamed, so that nh3 drops the formulas as it did before.
Each figure is the median of --repeat CPU-time runs; the ratio is what to read.
"""

from __future__ import annotations

import argparse
import functools
import glob
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import NOISE, ROOT, SEED  # noqa: E402

from proxy import clean as clean_stage  # noqa: E402
from proxy import parse  # noqa: E402
from proxy.models import FetchResult  # noqa: E402
from proxy.sanitize import sanitize_html  # noqa: E402

FORMULA = (
    '<math display="block"><semantics><mrow><msup><mi>e</mi><mrow><mi>i</mi><mi>π</mi>'
    "</mrow></msup><mo>+</mo><mn>1</mn><mo>=</mo><mfrac><mn>0</mn><mn>1</mn></mfrac></mrow>"
    '<annotation encoding="application/x-tex">e^{i\\pi}+1=0</annotation></semantics></math>'
)


def corpus_inputs() -> list[str]:
    """Every item HTML the clean stage would hand the sanitiser, for the corpus files."""
    seen: list[str] = []
    original = sanitize_html

    def spy(html: str, **options: Any) -> str:
        seen.append(html)
        return original(html, **options)

    setattr(clean_stage, "sanitize_html", spy)  # noqa: B010 (the name clean imported)
    try:
        files = sorted(
            glob.glob(str(ROOT / "tests/data/corpus/*.xml"))
            + glob.glob(str(ROOT / "tests/data/feeds/*.xml"))
            + glob.glob(str(ROOT.parent.parent / "shared/corpus/real/*.xml"))
        )
        for path in files:
            with open(path, "rb") as handle:
                body = handle.read()
            try:
                feed = parse.parse(
                    FetchResult(
                        url="https://bench.test/",
                        status=200,
                        body=body,
                        content_type="application/xml",
                    )
                )
            except Exception:  # noqa: BLE001 (a corpus file that is not a feed: skipped)
                continue
            for field in ("summary", "content"):
                htmls = [getattr(e, field) for e in feed.entries if getattr(e, field)]
                if htmls:
                    clean_stage.clean_items(htmls)
    finally:
        setattr(clean_stage, "sanitize_html", original)  # noqa: B010
    return seen


def _sanitize_all(htmls: list[str]) -> list[str]:
    return [sanitize_html(h) for h in htmls]


def cpu(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        run()
        times.append(time.process_time() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    inputs = corpus_inputs()
    size = sum(map(len, inputs)) / 1e6
    plain = cpu(lambda: [sanitize_html(h, spans_unwrapped=True) for h in inputs], args.repeat)
    keyed = cpu(
        lambda: [sanitize_html(h, spans_unwrapped=True, item_key="k") for h in inputs],
        args.repeat,
    )
    print(
        f"anchors: {len(inputs)} corpus items ({size:.1f} MB): without key {plain:.3f}s, "
        f"with key {keyed:.3f}s, ratio {keyed / plain:.3f}"
    )
    paragraphs = SEED.split("</p>")
    for count in (1, 10):
        with_math = "</p>".join(
            p + (FORMULA if i < count else "") for i, p in enumerate(paragraphs)
        )
        without = with_math.replace("<math", "<xmath").replace("</math", "</xmath")
        items = [with_math.replace("布林肯", f"布林肯{i}") for i in range(50)]
        renamed = [without.replace("布林肯", f"布林肯{i}") for i in range(50)]
        kept = cpu(functools.partial(_sanitize_all, items), args.repeat)
        dropped = cpu(functools.partial(_sanitize_all, renamed), args.repeat)
        print(
            f"MathML: 50 seed items with {count} formula(s): kept {kept:.3f}s, "
            f"dropped as before {dropped:.3f}s, ratio {kept / dropped:.2f}"
        )
    print(NOISE)


if __name__ == "__main__":
    main()
