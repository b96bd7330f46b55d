"""Fuzz target: raw upstream bytes → parse → clean → rewrite → sanitise → render.

The pipeline must either produce a feed that feedparser reads without error, or raise one of
our declared errors (NotAFeed for input that is not a feed). Anything else is a bug.

    pip install atheris
    python fuzz/pipeline_fuzz.py -max_total_time=60 fuzz/corpus     # coverage-guided (atheris)
    python fuzz/pipeline_fuzz.py --seconds 60                        # no atheris: random mutation

Seeds come from tests/data/feeds and the seed item; crashes are written by atheris as
crash-* files in the working directory (re-run one with: python fuzz/pipeline_fuzz.py FILE).
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402

from proxy import parse  # noqa: E402
from proxy.errors import NotAFeed  # noqa: E402
from proxy.models import FetchResult  # noqa: E402
from proxy.pipeline.process import build_output  # noqa: E402
from proxy.rewrite import ImagePolicy  # noqa: E402

POLICY = ImagePolicy(mode="proxy", public_base="http://proxy.test", key=b"fuzz")
WHEN = datetime(2024, 1, 1, tzinfo=UTC)
CONTENT_TYPES = ("", "application/rss+xml", "text/xml", "application/xml; charset=gbk",
                 "text/html; charset=utf-8")


def one_input(data: bytes) -> None:
    content_type = CONTENT_TYPES[data[0] % len(CONTENT_TYPES)] if data else ""
    try:
        feed = parse.parse(FetchResult(url="https://fuzz.test/feed", status=200, body=data[1:],
                                       content_type=content_type))
    except NotAFeed:
        return
    for fmt in ("rss", "atom"):
        body = build_output(feed, fmt, policy=POLICY, self_url="http://proxy.test/f",
                            fallback_date=WHEN)
        parsed = feedparser.parse(body)
        if parsed.bozo:
            raise AssertionError(f"{fmt} output not well-formed: {parsed.bozo_exception}")
        if len(parsed.entries) != len(feed.entries):
            raise AssertionError(f"{fmt}: {len(feed.entries)} items in, {len(parsed.entries)} out")


def seeds() -> list[bytes]:
    files = sorted((ROOT / "tests" / "data" / "feeds").glob("*.xml"))
    return [b"\x00" + f.read_bytes()[:200_000] for f in files]


def mutate(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        choice = rng.random()
        position = rng.randrange(len(buffer) + 1)
        if choice < 0.4 and buffer:
            buffer[min(position, len(buffer) - 1)] = rng.randrange(256)
        elif choice < 0.7:
            snippet = rng.choice([b"<", b">", b"&", b"]]>", b"<![CDATA[", b"</item>", b"<item>",
                                  b"<script>", b'"', b"\x00", b"\xff\xfe", b"&#0;", b"<p>"])
            buffer[position:position] = snippet
        elif buffer:
            end = min(len(buffer), position + rng.randint(1, 64))
            del buffer[position:end]
    return bytes(buffer)


def random_run(seconds: float) -> int:
    rng = random.Random(0)
    corpus = seeds()
    deadline = time.monotonic() + seconds
    runs = 0
    while time.monotonic() < deadline:
        sample = mutate(rng.choice(corpus), rng)
        try:
            one_input(sample)
        except Exception:
            crash = Path(f"crash-{runs}.bin")
            crash.write_bytes(sample)
            print(f"crash after {runs} runs, input saved to {crash}", file=sys.stderr)
            raise
        runs += 1
    return runs


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--seconds"]:
        runs = random_run(float(args[1]))
        print(f"{runs} inputs in {args[1]} s, no failure")
        return
    if len(args) == 1 and Path(args[0]).is_file():
        one_input(Path(args[0]).read_bytes())
        print("no failure")
        return
    import atheris  # type: ignore[import-not-found]

    corpus_dir = next((Path(a) for a in args if not a.startswith("-")), None)
    if corpus_dir is not None and not any(corpus_dir.glob("*")):
        corpus_dir.mkdir(parents=True, exist_ok=True)
        for i, seed in enumerate(seeds()):
            (corpus_dir / f"seed-{i}").write_bytes(seed)
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
