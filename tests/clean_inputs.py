"""Every item HTML the test data holds, in the batches the pipeline cleans them in, and what
the clean stage makes of them: the input of the clean stage's differential checks (a pure
speed-up must leave every item's HTML, removals and link changes as they were).

tests/data/corpus is the real corpus (../shared/corpus/real, copied whole; its one HTML page
is tests/data/pages/wptavern.html). Feeds are cleaned as process.py does: each feed's
summaries as one batch and its contents as another (feed rules compare items of a batch).
Single HTML files (golden cases, articles, pages, the seed item) are a batch of one.
Across commits: `python -m tests.clean_inputs write FILE` in one checkout, `check FILE` in
the other.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lxml.html import HtmlElement

from proxy import clean, parse
from proxy.errors import ProxyError
from proxy.models import Cleaned, FetchResult
from tests.helpers import DATA

FEED_DIRS = ("corpus", "feeds", "boilerplate", "xss")
HTML_DIRS = ("clean", "articles", "pages", "seed")


@functools.cache
def batches() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(name, item HTMLs) for every batch, in a stable order."""
    found: list[tuple[str, tuple[str, ...]]] = []
    for folder in FEED_DIRS:
        for path in sorted((DATA / folder).iterdir()):
            if path.suffix not in (".xml", ".json"):
                continue
            found.extend(_feed_batches(f"{folder}/{path.name}", path.read_bytes()))
    for folder in HTML_DIRS:
        for path in sorted((DATA / folder).glob("*.html")):
            # (article-gbk.html is GBK: its odd characters are input like any other)
            text = path.read_bytes().decode("utf-8", "replace")
            found.append((f"{folder}/{path.name}", (text,)))
    return tuple(found)


def _feed_batches(name: str, body: bytes) -> Iterator[tuple[str, tuple[str, ...]]]:
    logging.getLogger("proxy").disabled = True  # odd feeds log warnings: not ours here
    try:
        feed = parse.parse(
            FetchResult(url="https://upstream.example/feed", status=200, body=body, content_type="")
        )
    except ProxyError:
        return
    finally:
        logging.getLogger("proxy").disabled = False
    for field in ("summary", "content"):
        htmls = tuple(h for e in feed.entries if (h := getattr(e, field)) is not None)
        if htmls:
            yield f"{name}#{field}", htmls


def outcome(cleaned: Cleaned) -> dict[str, Any]:
    """Everything the clean stage says about one item, as plain data."""
    return {
        "html": cleaned.html,
        "removals": [
            [r.rule, r.pack, r.tag, r.text, r.reason, r.action, r.count] for r in cleaned.removals
        ],
        "links": [[c.rule, c.pack, c.old, c.new, c.reason] for c in cleaned.links],
        "failed": cleaned.failed,
    }


def outcomes() -> dict[str, list[dict[str, Any]]]:
    """Batch name → each item's outcome, with every built-in pack (no feed memory), and the
    item as the preview page marks it (a second run, in marking mode)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name, htmls in batches():
        marked: dict[int, str] = {}

        def mark(i: int, root: HtmlElement, marked: dict[int, str] = marked) -> None:
            marked[i] = clean.serialise(root)

        items = [outcome(c) for c in clean.clean_items(list(htmls))]
        for i, again in enumerate(clean.clean_items(list(htmls), marked=mark)):
            items[i]["marked"] = marked.get(i)
            items[i]["marked_html"] = again.html
        found[name] = items
    return found


def write(path: Path) -> None:
    path.write_text(json.dumps(outcomes(), ensure_ascii=False, indent=0), encoding="utf-8")


def differences(path: Path) -> list[str]:
    """Where the outcomes differ from those written to path: '<batch>[<item>] <field>'."""
    before = json.loads(path.read_text(encoding="utf-8"))
    now = outcomes()
    found = [f"{name}: batch missing now" for name in before if name not in now]
    found += [f"{name}: new batch" for name in now if name not in before]
    for name, items in now.items():
        for i, (old, new) in enumerate(zip(before.get(name, []), items, strict=False)):
            found += [f"{name}[{i}] {key}" for key in new if old.get(key) != new[key]]
    return found


def main(argv: list[str]) -> int:
    """`python -m tests.clean_inputs write FILE` in one checkout, then `… check FILE` in
    another: the differential check of a pure speed-up across commits (exit 1 on a
    difference, each one named)."""
    logging.disable(logging.WARNING)
    if len(argv) != 2 or argv[0] not in ("write", "check"):
        print("usage: python -m tests.clean_inputs write|check FILE")
        return 2
    path = Path(argv[1])
    if argv[0] == "write":
        write(path)
        return 0
    found = differences(path)
    for line in found:
        print(line)
    print(f"{len(found)} differences over {sum(len(h) for _, h in batches())} items")
    return 1 if found else 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
