"""What the pipeline serves for every feed the test data holds, as digests: the served-bytes
differential of a pure speed-up past the clean stage (rewrite, sanitise, output), beside
tests/clean_inputs.py (the clean stage's own outcomes).

Each feed of tests/data/{corpus,feeds,xss,boilerplate} and a 60-item seed-like feed goes
through process.build_output in its own format and in rss, atom and json (images proxied),
in its own format with images absolute and left alone, and through process.transform with
an item cache (the server's path), twice (the second reuses every item). Across commits:
`python -m tests.served_outputs write FILE` in one checkout, `check FILE` in the other.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from proxy import parse, rewrite
from proxy.errors import ProxyError
from proxy.models import Feed, FetchResult
from proxy.pipeline import process
from proxy.pipeline.itemcache import ItemCache
from tests.helpers import DATA

FEED_DIRS = ("corpus", "feeds", "xss", "boilerplate")
WHEN = datetime(2026, 1, 1, tzinfo=UTC)
SEED = (DATA / "seed" / "feedx-rfi-item.html").read_text(encoding="utf-8")


def _seed_like(items: int) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t']
    parts.append("</title><link>https://bench.test/</link><description>d</description>")
    for i in range(items):
        html = SEED.replace("布林肯", f"布林肯{i}")
        parts.append(
            f"<item><title>item {i}</title><link>https://bench.test/{i}</link>"
            f'<guid isPermaLink="false">bench-{i}</guid>'
            f"<description><![CDATA[{html}]]></description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def _bodies() -> Iterator[tuple[str, bytes]]:
    for folder in FEED_DIRS:
        for path in sorted((DATA / folder).iterdir()):
            if path.suffix in (".xml", ".json"):
                yield f"{folder}/{path.name}", path.read_bytes()
    yield "seed-like-60", _seed_like(60)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _transformed(feed: Feed, policy: rewrite.ImagePolicy, cache: ItemCache) -> str:
    cleaned = process.transform(feed, policy=policy, learnt={}, items=cache)
    rows = [(e.summary, e.content, e.link, [x.url for x in e.enclosures]) for e in cleaned.entries]
    return _digest(repr(rows).encode("utf-8", "surrogatepass"))


def outputs() -> dict[str, str]:
    """'<feed>|<image mode>|<format or transform run>' → a digest of what is served."""
    logging.getLogger("proxy").disabled = True  # odd feeds log warnings: not ours here
    found: dict[str, str] = {}
    try:
        for name, body in _bodies():
            try:
                result = FetchResult(
                    url="https://upstream.example/feed", status=200, body=body, content_type=""
                )
                feed = parse.parse(result)
            except ProxyError:
                continue
            for mode in ("proxy", "absolute", "none"):
                policy = rewrite.ImagePolicy(
                    mode=mode, public_base="https://proxy.example", key=b"k" * 32
                )
                for fmt in (None, "rss", "atom", "json") if mode == "proxy" else (None,):
                    served = process.build_output(
                        feed,
                        fmt or feed.kind,
                        policy=policy,
                        self_url="https://proxy.example/feed",
                        fallback_date=WHEN,
                        body=body,
                    )
                    found[f"{name}|{mode}|{fmt}"] = _digest(served)
                cache = ItemCache()
                for run in range(2):
                    found[f"{name}|{mode}|transform{run}"] = _transformed(feed, policy, cache)
    finally:
        logging.getLogger("proxy").disabled = False
    return found


def main(argv: list[str]) -> int:
    """write FILE, or check FILE (exit 1 on a difference, each one named)."""
    logging.disable(logging.WARNING)
    if len(argv) != 2 or argv[0] not in ("write", "check"):
        print("usage: python -m tests.served_outputs write|check FILE")
        return 2
    path = Path(argv[1])
    now = outputs()
    if argv[0] == "write":
        path.write_text(json.dumps(now, indent=0), encoding="utf-8")
        return 0
    before = json.loads(path.read_text(encoding="utf-8"))
    found = [k for k in before if before[k] != now.get(k)] + [k for k in now if k not in before]
    for line in found:
        print(line)
    print(f"{len(found)} differences over {len(now)} outputs")
    return 1 if found else 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
