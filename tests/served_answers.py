"""What the server answers to cached feed requests, as golden lines: the differential of a
pure speed-up of the warm path (issue 15.4) across commits.

One app at a frozen clock, a local upstream serving the seed feed, and the requests
readers send once a feed is cached: identity and gzip, HEAD, validators that match and that
do not, other formats and limits, a named feed, other Hosts, a copy refreshed in the
background, a stale copy after the upstream failed. Each answer is kept as its status and
raw header lines in order (Date aside); the values that depend on the output bytes (ETag,
Last-Modified, Content-Length, the body) are numbered by first appearance, so the golden
holds when the cleaning changes and pins how answers are made. tests/data/warm/answers.json
was written by main at 258a35b, before the short path (server/warm.py).
``python -m tests.served_answers write FILE`` in one checkout, ``check FILE`` in the other.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from proxy.config import Settings
from proxy.server import PIPELINE, create_app
from tests.helpers import seed_feed
from tests.upstream import Upstream

GOLDEN = Path(__file__).parent / "data" / "warm" / "answers.json"
T0 = 1_800_000_000.25  # the frozen clock (a fraction of a second in: Age/ttl truncate)
_NUMBERED = (b"etag", b"last-modified", b"content-length")


class _Numbers:
    """Output-dependent values → "<name N>", N by first appearance."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, bytes], str] = {}

    def __call__(self, name: str, value: bytes) -> str:
        return self.seen.setdefault(
            (name, value), f"<{name} {sum(k[0] == name for k in self.seen)}>"
        )


async def answers(tmp: Path) -> list[Any]:
    """The answers of the whole sequence, each [request, status, header lines, body]."""
    upstream = Upstream()
    server = TestServer(upstream.app, host="127.0.0.1")
    await server.start_server()
    upstream.base_url = str(server.make_url("")).rstrip("/")
    url = upstream.route("/rfi.xml", seed_feed(), validators=True)
    config = tmp / "feedscrub.toml"
    config.write_text(f'[[feeds]]\nname = "rfi"\nurl = "{url}"\n', encoding="utf-8")
    settings = Settings(
        cache_dir=str(tmp / "cache"),
        allow_private=True,
        secret="test-secret",
        public_url="",  # links from the Host header: Vary names Host
        fetch_timeout=5.0,
        connect_timeout=2.0,
        ttl=60,
        stale_while_revalidate=300,
        config=str(config),
    ).validate()
    app = create_app(settings)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    pipeline = app[PIPELINE]
    number = _Numbers()
    found: list[Any] = []
    raw: list[str] = []  # the first answer's ETag, which later requests send back

    async def ask(path: str, method: str = "GET", **headers: str) -> None:
        headers.setdefault("Host", "proxy.test")
        async with client.session.request(
            method, client.make_url(path), headers=headers, auto_decompress=False
        ) as response:
            body = await response.read()
            lines = []
            for name, value in response.raw_headers:
                if name.lower() in (b"date", b"server"):  # the clock's, aiohttp's version
                    continue
                shown = value.decode("latin-1")
                shown = shown.replace(upstream.base_url, "UPSTREAM")  # its port is free's
                if name.lower() in _NUMBERED:
                    shown = number(name.decode().lower(), value)
                lines.append([name.decode("latin-1"), shown])
            asked = {k: v.replace(raw[0], "<etag 0>") if raw else v for k, v in headers.items()}
            found.append(
                [
                    [method, path.replace(url, "URL"), asked],
                    response.status,
                    lines,
                    number("body", body),
                ]
            )

    def clock(at: float) -> None:
        pipeline.clock = lambda: at

    try:
        clock(T0)
        feed = f"/feed?url={url}"
        await ask(feed, **{"Accept-Encoding": "identity"})
        raw_etag = next(n[1] for n in number.seen if n[0] == "etag").decode()
        raw.append(raw_etag)
        raw_modified = next(n[1] for n in number.seen if n[0] == "last-modified").decode()
        for at in (T0, T0 + 0.5, T0 + 1, T0 + 59.9):
            clock(at)
            for path in (feed, feed + "&format=atom", feed + "&limit=1", "/feeds/rfi"):
                await ask(path, **{"Accept-Encoding": "identity"})
                await ask(path, **{"Accept-Encoding": "gzip, deflate"})
                await ask(path, "HEAD", **{"Accept-Encoding": "identity"})
            for validators in (
                {"If-None-Match": raw_etag},
                {"If-None-Match": f"W/{raw_etag}"},
                {"If-None-Match": f'"other", {raw_etag}'},
                {"If-None-Match": "*"},
                {"If-None-Match": '"other"'},
                {"If-None-Match": '"other"', "If-Modified-Since": raw_modified},
                {"If-Modified-Since": raw_modified},
                {"If-Modified-Since": "Sun, 01 Jan 2006 00:00:00 GMT"},
                {"If-Modified-Since": "not a date"},
            ):
                await ask(feed, **{"Accept-Encoding": "gzip"}, **validators)
                await ask(feed, "HEAD", **validators)
            await ask("/feeds/rfi.json", **{"Accept-Encoding": "identity"})
            await ask(feed, Host="other.test:8080", **{"Accept-Encoding": "identity"})
            await ask(feed, Host="bad host")
        # Past the ttl: the copy at once while one refresh runs (a 304 from the upstream).
        upstream.route("/rfi.xml", seed_feed(), validators=True, delay=0.3)
        clock(T0 + 90)
        for _ in range(2):
            await ask(feed, **{"Accept-Encoding": "identity"})
        await pipeline.settle()
        for _ in range(2):
            await ask(feed, **{"Accept-Encoding": "identity"})
        # The upstream fails past the revalidate window: the stale copy, kept a while.
        upstream.route("/rfi.xml", b"down", status=503, content_type="text/plain")
        for at in (T0 + 500, T0 + 500.5, T0 + 530):
            clock(at)
            await ask(feed, **{"Accept-Encoding": "identity"})
            await ask(feed, **{"Accept-Encoding": "gzip"})
            await ask(feed, **{"If-None-Match": "*"})
    finally:
        await client.close()
        await server.close()
    return found


def collect() -> list[Any]:
    with tempfile.TemporaryDirectory() as name:
        return asyncio.run(answers(Path(name)))


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("write", "check"):
        print("usage: python -m tests.served_answers write|check FILE", file=sys.stderr)
        return 2
    path = Path(argv[1])
    got = collect()
    if argv[0] == "write":
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ",\n".join(json.dumps(answer, ensure_ascii=False) for answer in got)
        path.write_text(f"[\n{lines}\n]\n", encoding="utf-8")  # an answer a line
        print(f"{len(got)} answers written to {path}")
        return 0
    expected = json.loads(path.read_text(encoding="utf-8"))
    differ = [(e, g) for e, g in zip(expected, got, strict=False) if e != g]
    for e, g in differ[:5]:
        print(f"expected {e}\n     got {g}")
    same = not differ and len(expected) == len(got)
    print(f"{len(got)} answers, {'all as' if same else 'NOT as'} in {path}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
