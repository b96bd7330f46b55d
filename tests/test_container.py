"""The container image end to end, with rootful podman: build it from the Dockerfile, run it,
clean a feed from a local upstream, proxy its image, keep the cache across a restart on the
same volume, stop on SIGTERM, and come up and go away with the compose file.

Slow (it builds the image): marked ``container``, so ``pytest -m "not container"`` skips it.
Skipped when podman is not installed; CI installs podman and the local base image with
``.ci/container-setup.sh``. The containers use ``--network=host`` so they can reach the test
upstream on this machine's 127.0.0.1; they listen on 127.0.0.1 only.

Figures (image size, build time, cold start until healthy) are printed and written to
bench/container-figures.txt: they are measured, not asserted.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import feedparser
import pytest

REPO = Path(__file__).resolve().parent.parent
SEED_ITEM = REPO / "tests" / "data" / "seed" / "feedx-rfi-item.html"
FIGURES_FILE = REPO / "bench" / "container-figures.txt"

pytestmark = [
    pytest.mark.container,
    pytest.mark.skipif(
        shutil.which("podman") is None,
        reason="podman is not installed (bash .ci/container-setup.sh installs it)",
    ),
]

RUN_ID = uuid.uuid4().hex[:8]
HEALTHY_WITHIN = 60.0  # seconds from `podman run` until the healthcheck must pass
STOP_TIMEOUT = 10  # `podman stop -t`: SIGTERM, then SIGKILL after this many seconds
PROMO = "获取更多RSS"  # the feedx.net footer the cleaner must remove
ARTICLE_TEXT = "布林肯原本计划二月份访华"  # a sentence of the article that must stay


# --- podman --------------------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    """The environment for podman: no FEEDSCRUB_* leaks in; builds keep HEALTHCHECK."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSCRUB_")}
    env["BUILDAH_FORMAT"] = "docker"  # the OCI format silently drops HEALTHCHECK
    # No layer cache: every build starts clean and leaves no untagged intermediate images.
    env["BUILDAH_LAYERS"] = "false"
    env.update(extra)
    return env


def run(
    args: list[str], *, check: bool = True, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, env=env or _env(), check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"`{' '.join(args)}` exited {result.returncode}\n"
            f"stdout: {result.stdout[-3000:]}\nstderr: {result.stderr[-3000:]}"
        )
    return result


def podman(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return run(["podman", *args], check=check, timeout=timeout)


@dataclass
class Created:
    """Everything this module creates, removed at the end even when a test fails."""

    containers: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)

    def volume(self, name: str) -> str:
        podman("volume", "create", name)
        self.volumes.append(name)
        return name

    def remove_all(self) -> None:
        for cid in reversed(self.containers):
            podman("rm", "--force", "--time", "2", cid, check=False, timeout=60)
        for volume in self.volumes:
            podman("volume", "rm", "--force", volume, check=False)
        for image in self.images:
            podman("rmi", "--force", image, check=False)


@dataclass
class Figures:
    values: dict[str, str] = field(default_factory=dict)

    def record(self, name: str, value: str) -> None:
        self.values[name] = value


@pytest.fixture(scope="module")
def created() -> Iterator[Created]:
    resources = Created()
    try:
        yield resources
    finally:
        resources.remove_all()


@pytest.fixture(scope="module")
def figures(request: pytest.FixtureRequest) -> Iterator[Figures]:
    seen = Figures()
    yield seen
    if not seen.values:
        return
    runtime = podman(
        "info", "--format", "{{.Host.OCIRuntime.Name}} {{.Version.Version}}", check=False
    ).stdout.split()
    lines = [
        "# feedscrub container figures: measured by tests/test_container.py, not asserted.",
        f"measured: {datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"machine: {os.cpu_count()} cores; podman {' / runtime '.join(reversed(runtime))}",
        *(f"{name}: {value}" for name, value in seen.values.items()),
    ]
    FIGURES_FILE.parent.mkdir(exist_ok=True)
    FIGURES_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # Shown even under output capture (as capsys.disabled() does).
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:  # pragma: no cover
        print("\n".join(lines))
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)


@pytest.fixture(scope="module")
def image(created: Created, figures: Figures) -> str:
    """The project's image, built from the repo's Dockerfile (base image must be local)."""
    tag = f"localhost/feedscrub-test:{RUN_ID}"
    created.images.append(tag)
    started = time.monotonic()
    podman("build", "--pull=never", "--tag", tag, str(REPO), timeout=900)
    seconds = time.monotonic() - started
    size = int(podman("image", "inspect", "--format", "{{.Size}}", tag).stdout.strip())
    figures.record("image size", f"{size / 1e6:.0f} MB ({size} bytes, podman image inspect .Size)")
    figures.record("build time", f"{seconds:.1f} s (no layer cache, base image local)")
    return tag


# --- a feed and its image on 127.0.0.1 ---------------------------------------------------


def tiny_png() -> bytes:
    """A real 4×4 red PNG, made here."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    width = height = 4
    rows = b"".join(b"\x00" + bytes((220, 20, 20)) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def seed_rss(base: str) -> bytes:
    """The seed item (feedx.net junk and all) in an RSS document, its image served by us."""
    html, count = re.subn(
        r'<img src="[^"]+"', f'<img src="{base}/media/photo.png"', SEED_ITEM.read_text("utf-8")
    )
    assert count == 1, "the seed item should hold exactly one <img>"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
<channel>
<title>RFI 中文 (feedscrub container test)</title>
<link>{base}/</link>
<description>The seed item served from 127.0.0.1</description>
<language>zh-cn</language>
<item>
<title>美中会谈同意再谈  重大议题无突破</title>
<link>{base}/article/1</link>
<guid isPermaLink="false">feedscrub-container-test-1</guid>
<pubDate>Sun, 18 Jun 2023 23:50:00 +0000</pubDate>
<description>{escape(html)}</description>
</item>
</channel>
</rss>
""".encode()


class Upstream:
    """A threaded http.server on 127.0.0.1 serving fixed bodies; counts hits per path."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[str, bytes]] = {}
        self.hits: Counter[str] = Counter()
        routes, hits = self.routes, self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                hits[self.path] += 1
                content_type, body = routes.get(self.path, ("text/plain", b""))
                self.send_response(200 if self.path in routes else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.running = True
        self.feed_url = f"{self.base_url}/rss/rfi.xml"
        feed = seed_rss(self.base_url)
        self.routes["/rss/rfi.xml"] = ("application/rss+xml; charset=utf-8", feed)
        self.routes["/media/photo.png"] = ("image/png", tiny_png())

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=5)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    try:
        yield server
    finally:
        server.stop()


# --- talking to the container -------------------------------------------------------------

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes


def http_get(url: str, timeout: float = 30) -> Reply:
    try:
        with _OPENER.open(url, timeout=timeout) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return Reply(exc.code, exc.headers, exc.read())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proxy:
    cid: str
    port: int
    seconds_to_healthy: float

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def feed(self, upstream_url: str) -> Reply:
        return http_get(f"{self.base}/feed?url={urllib.parse.quote(upstream_url, safe='')}")


def logs(cid: str) -> str:
    result = podman("logs", cid, check=False)
    return (result.stdout + result.stderr)[-4000:]


def wait_healthy(cid: str, started: float) -> float:
    """Poll `podman healthcheck run` (no systemd here, so its timer never fires)."""
    while True:
        if podman("healthcheck", "run", cid, check=False, timeout=30).returncode == 0:
            return time.monotonic() - started
        state = podman("inspect", "--format", "{{.State.Status}}", cid, check=False).stdout.strip()
        if state not in ("created", "running"):
            pytest.fail(f"container {cid[:12]} is {state} before becoming healthy:\n{logs(cid)}")
        if time.monotonic() - started > HEALTHY_WITHIN:
            pytest.fail(f"container {cid[:12]} not healthy within {HEALTHY_WITHIN} s:\n{logs(cid)}")
        time.sleep(0.2)


def start_proxy(created: Created, image: str, volume: str, **settings: str) -> Proxy:
    port = free_port()
    env = {
        "FEEDSCRUB_HOST": "127.0.0.1",
        "FEEDSCRUB_PORT": str(port),
        "FEEDSCRUB_ALLOW_PRIVATE": "true",  # the upstream is on 127.0.0.1
        **settings,
    }
    args = ["run", "--detach", "--network=host", "--volume", f"{volume}:/data"]
    for name, value in env.items():
        args += ["--env", f"{name}={value}"]
    started = time.monotonic()
    cid = podman(*args, image).stdout.strip().splitlines()[-1]
    created.containers.append(cid)
    return Proxy(cid, port, wait_healthy(cid, started))


def entry_html(body: bytes) -> str:
    parsed = feedparser.parse(body)
    assert not parsed.bozo, f"feedparser: {parsed.get('bozo_exception')}"
    assert len(parsed.entries) == 1
    entry = parsed.entries[0]
    assert entry.get("id") == "feedscrub-container-test-1"
    return str(entry.get("content", [{}])[0].get("value") or entry.get("summary", ""))


def proxied_images(html: str, proxy: Proxy) -> list[str]:
    return [src for src in re.findall(r'src="([^"]+)"', html) if "/img/" in src]


# --- the tests ----------------------------------------------------------------------------


def test_image_is_slim_non_root_and_declares_its_contract(image: str) -> None:
    config = podman(
        "image",
        "inspect",
        "--format",
        "{{.Config.User}}|{{json .Config.Healthcheck.Test}}|{{json .Config.ExposedPorts}}|"
        "{{json .Config.Volumes}}|{{json .Config.Entrypoint}}|{{.Config.StopSignal}}|"
        "{{json .Config.Env}}",
        image,
    ).stdout.strip()
    user, health, ports, volumes, entrypoint, stop_signal, env = config.split("|")
    assert user and user.split(":")[0] not in ("", "0", "root")
    assert health == '["CMD","feedscrub","healthcheck"]', "HEALTHCHECK lost (BUILDAH_FORMAT?)"
    assert "8080/tcp" in ports
    assert "/data" in volumes
    assert entrypoint == '["feedscrub"]'
    assert stop_signal in ("SIGTERM", "15")
    assert "FEEDSCRUB_CACHE_DIR=/data" in env
    assert "FEEDSCRUB_SECRET" not in env

    # Multi-stage: no compiler or build tool reached the final image, and /data starts empty.
    tools = podman(
        "run",
        "--rm",
        "--network=none",
        "--entrypoint",
        "sh",
        image,
        "-c",
        "command -v gcc || command -v cc || command -v make",
        check=False,
    )
    assert tools.returncode != 0, f"build tools in the image: {tools.stdout.strip()}"
    data = podman("run", "--rm", "--network=none", "--entrypoint", "ls", image, "-A", "/data")
    assert data.stdout.strip() == "", "the image ships files in /data"


def test_serves_a_cleaned_feed_and_its_image_as_non_root(
    image: str, created: Created, upstream: Upstream, figures: Figures
) -> None:
    volume = created.volume(f"feedscrub-test-{RUN_ID}-serve")
    proxy = start_proxy(created, image, volume)
    figures.record(
        "cold start until healthy",
        f"{proxy.seconds_to_healthy:.1f} s (podman run -d to the first passing healthcheck)",
    )
    assert http_get(f"{proxy.base}/healthz").status == 200

    started = time.monotonic()
    reply = proxy.feed(upstream.feed_url)
    figures.record("first /feed (fetch, clean, render)", f"{time.monotonic() - started:.2f} s")
    assert reply.status == 200, reply.body[:500]
    html = entry_html(reply.body)
    assert PROMO not in reply.body.decode("utf-8")
    assert ARTICLE_TEXT in html
    assert "facebook.com/dialog/share" not in html

    images = proxied_images(html, proxy)
    assert len(images) == 1, html[:1000]
    assert images[0].startswith(f"{proxy.base}/img/")
    picture = http_get(images[0])
    assert picture.status == 200
    assert picture.body == tiny_png()
    assert picture.headers["Content-Type"] == "image/png"

    uid = podman("exec", proxy.cid, "id", "-u").stdout.strip()
    assert uid != "0"
    # The generated image-signing secret lives in the volume, readable by the server alone.
    mode = podman("exec", proxy.cid, "stat", "-c", "%a %u", "/data/secret").stdout.split()
    assert mode == ["600", uid]
    assert "Traceback" not in logs(proxy.cid)


def test_cache_survives_a_restart_and_sigterm_stops_gracefully(
    image: str, created: Created, upstream: Upstream, figures: Figures
) -> None:
    volume = created.volume(f"feedscrub-test-{RUN_ID}-restart")
    # The cached feed is stale a second later and, with no stale-while-revalidate window, the
    # restarted proxy asks the upstream before answering: its failure is what gets reported.
    ttl = 1
    settings = {"FEEDSCRUB_TTL": str(ttl), "FEEDSCRUB_STALE_WHILE_REVALIDATE": "0"}
    first = start_proxy(created, image, volume, **settings)
    fresh = first.feed(upstream.feed_url)
    fetched_at = time.monotonic()
    assert fresh.status == 200, fresh.body[:500]
    [image_url] = proxied_images(entry_html(fresh.body), first)
    assert http_get(image_url).body == tiny_png()
    assert upstream.hits["/media/photo.png"] == 1

    # SIGTERM (the image's STOPSIGNAL): the server must exit by itself, long before SIGKILL.
    started = time.monotonic()
    podman("stop", "--time", str(STOP_TIMEOUT), first.cid, timeout=STOP_TIMEOUT + 30)
    stop_seconds = time.monotonic() - started
    exit_code = podman("inspect", "--format", "{{.State.ExitCode}}", first.cid).stdout.strip()
    figures.record("stop on SIGTERM", f"{stop_seconds:.1f} s, exit code {exit_code}")
    # 0: aiohttp's run_app turned SIGTERM into a clean shutdown; 143 (128+15) would mean the
    # process died of the signal itself, which is still a stop without SIGKILL (137).
    assert exit_code in ("0", "143"), logs(first.cid)
    assert stop_seconds < STOP_TIMEOUT - 2, f"took {stop_seconds:.1f} s: SIGTERM was not honoured"
    first_logs = logs(first.cid)
    assert "Traceback" not in first_logs
    assert "GET /feed" in first_logs  # access log on stdout, collected by podman

    # A new container on the same volume, the upstream gone: the cached copy comes back, marked.
    upstream.stop()
    time.sleep(max(0.0, ttl + 0.5 - (time.monotonic() - fetched_at)))
    second = start_proxy(created, image, volume, **settings)
    stale = second.feed(upstream.feed_url)
    assert stale.status == 200, stale.body[:500]
    assert "fwd=stale" in (stale.headers["Cache-Status"] or ""), dict(stale.headers)
    html = entry_html(stale.body)
    assert ARTICLE_TEXT in html
    assert PROMO not in stale.body.decode("utf-8")

    # The old image URL still verifies (the secret persisted) and is served from the cache.
    # Path and query: image links carry a signed ?h= hint (the feed's Referer policy).
    parts = urllib.parse.urlsplit(image_url)
    old_path = parts.path + (f"?{parts.query}" if parts.query else "")
    picture = http_get(f"{second.base}{old_path}")
    assert picture.status == 200, picture.body[:300]
    assert picture.body == tiny_png()
    assert upstream.hits["/media/photo.png"] == 1


def test_compose_file_comes_up_healthy_and_down_removes_its_volume(
    image: str, created: Created, tmp_path: Path
) -> None:
    if shutil.which("podman-compose") is None:
        pytest.skip("podman-compose is not installed (bash .ci/container-setup.sh installs it)")
    project = f"feedscrubtest{RUN_ID}"
    compose_image = f"localhost/feedscrub-compose-test:{RUN_ID}"
    created.images.append(compose_image)
    # Only the image name changes (so a real feedscrub:latest is left alone); the port is the
    # compose file's own variable, bound to loopback.
    override = tmp_path / "compose.override.yml"
    override.write_text(f"services:\n  feedscrub:\n    image: {compose_image}\n", "utf-8")
    port = free_port()
    env = _env(FEEDSCRUB_PUBLISH_PORT=f"127.0.0.1:{port}")
    compose = [
        "podman-compose",
        "-p",
        project,
        "-f",
        str(REPO / "docker-compose.yml"),
        "-f",
        str(override),
    ]
    volume = f"{project}_feedscrub-data"
    label = f"label=io.podman.compose.project={project}"
    try:
        started = time.monotonic()
        run([*compose, "up", "-d", "--build"], env=env, timeout=900)
        ids = podman("ps", "-q", "--filter", label).stdout.split()
        assert len(ids) == 1, ids
        wait_healthy(ids[0], started)
        assert http_get(f"http://127.0.0.1:{port}/healthz").status == 200
        assert podman("volume", "exists", volume, check=False).returncode == 0
        mounts = podman(
            "inspect", "--format", "{{range .Mounts}}{{.Name}}={{.Destination}} {{end}}", ids[0]
        ).stdout.split()
        assert f"{volume}=/data" in mounts
        restart = podman("inspect", "--format", "{{.HostConfig.RestartPolicy.Name}}", ids[0])
        assert restart.stdout.strip() == "unless-stopped"

        run([*compose, "down", "-v"], env=env, timeout=120)
        assert podman("ps", "-aq", "--filter", label).stdout.split() == []
        assert podman("volume", "exists", volume, check=False).returncode != 0
    finally:
        run([*compose, "down", "-v"], env=env, check=False, timeout=120)
        for cid in podman("ps", "-aq", "--filter", label, check=False).stdout.split():
            podman("rm", "--force", "--time", "2", cid, check=False)
        podman("volume", "rm", "--force", volume, check=False)
        podman("network", "rm", "--force", f"{project}_default", check=False)
