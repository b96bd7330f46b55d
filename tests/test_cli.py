"""The real CLI, run as a subprocess: clean (file, stdin, URL), check-config, serve + healthcheck."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import feedparser

from tests.helpers import DATA, seed_feed
from tests.upstream import Upstream

FEEDSCRUB = [sys.executable, "-m", "proxy"]
JUNK = ("获取更多RSS", "feedx.net", "分享", "share-button", "data-selfpromo", "<span")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSCRUB_")}
    env.update(
        FEEDSCRUB_CACHE_DIR=str(tmp_path / "cache"),
        FEEDSCRUB_PUBLIC_URL="http://proxy.test",
        **extra,
    )
    return env


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "feedscrub"
    assert script.exists(), "pip install the project: the feedscrub command is missing"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.startswith("feedscrub ")


def test_clean_file_prints_the_cleaned_feed(tmp_path: Path) -> None:
    done = subprocess.run(
        [*FEEDSCRUB, "clean", str(DATA / "feeds" / "feedx-rfi.xml"), "--format", "atom"],
        capture_output=True,
        env=_env(tmp_path),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    feed = feedparser.parse(done.stdout)
    assert not feed.bozo and feed.version == "atom10"
    content = feed.entries[0].content[0].value
    assert "布林肯原本计划二月份访华" in content
    for junk in JUNK:
        assert junk not in content, junk
    assert "http://proxy.test/img/" in content


def test_clean_stdin(tmp_path: Path) -> None:
    done = subprocess.run(
        [*FEEDSCRUB, "clean", "-"],
        input=seed_feed(),
        capture_output=True,
        env=_env(tmp_path, FEEDSCRUB_IMAGES="none"),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    feed = feedparser.parse(done.stdout)
    assert feed.version == "rss20"
    assert "https://s.rfi.fr/media/display/" in feed.entries[0].description


def test_clean_errors_are_one_line(tmp_path: Path) -> None:
    cases = [
        ([str(tmp_path / "missing.xml")], "cannot read"),
        ([str(DATA / "pages" / "wptavern.html")], "is not a feed: it looks like an html page"),
        (["ftp://example.com/feed"], "not an http"),
    ]
    for args, expected in cases:
        done = subprocess.run(
            [*FEEDSCRUB, "clean", *args],
            capture_output=True,
            text=True,
            env=_env(tmp_path),
            timeout=60,
        )
        assert done.returncode == 1, args
        assert expected in done.stderr.lower(), done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


async def test_clean_url_runs_the_real_pipeline(upstream: Upstream, tmp_path: Path) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    process = await asyncio.create_subprocess_exec(
        *FEEDSCRUB,
        "clean",
        url,
        "--format",
        "rss",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(tmp_path, FEEDSCRUB_ALLOW_PRIVATE="true"),
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr
    feed = feedparser.parse(stdout)
    assert not feed.bozo
    assert [e.id for e in feed.entries] == ["1687126501000", "1687126502000"]
    for junk in JUNK:
        assert junk not in feed.entries[0].description
    assert upstream.hits["/rfi.xml"] == 1


async def test_clean_url_refuses_private_address_by_default(
    upstream: Upstream, tmp_path: Path
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    process = await asyncio.create_subprocess_exec(
        *FEEDSCRUB,
        "clean",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(tmp_path),
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert b"Traceback" not in stderr
    assert upstream.hits["/rfi.xml"] == 0


def test_check_config(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[server]\nttl = 60\nsecret = "hunter2"\nimages = "absolute"\n')
    done = subprocess.run(
        [*FEEDSCRUB, "check-config", str(good)],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "ttl = 60" in done.stdout and "<redacted>" in done.stdout
    assert "hunter2" not in done.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[server]\nttl = "soon"\n')
    done = subprocess.run(
        [*FEEDSCRUB, "check-config", str(bad)],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=30,
    )
    assert done.returncode == 1
    assert "ttl" in done.stderr and "Traceback" not in done.stderr


def _check(tmp_path: Path, path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FEEDSCRUB, "check-config", str(path)],
        capture_output=True,
        text=True,
        env=_env(tmp_path, **env),
        timeout=30,
    )


def test_check_config_lists_every_problem_once_with_path_and_value(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        'ttl = "soon"\ncolour = "red"\n[server]\nport = "x"\nimages = "magic"\n'
        'protect_named = true\n[[feeds]]\nname = "a b"\nurl = "ftp://a.test/"\n'
    )
    done = _check(tmp_path, config, FEEDSCRUB_IMAGE_REFERER="bogus")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0] == f"{config}: 8 problem(s)"
    assert lines[1:] == [
        f"{config}: ttl has value 'soon'. Not a valid integer.",
        lines[2],  # the unknown key, with the list of known ones
        f"{config}: server.port has value 'x'. Not a valid integer.",
        f"{config}: server.images has value 'magic'. Use one of: proxy, template, absolute, none.",
        "FEEDSCRUB_IMAGE_REFERER has value 'bogus'. Use one of: none, origin, image, or an http(s) URL.",
        f"{config}: server.protect_named=true requires FEEDSCRUB_ACCESS_KEY.",
        f"{config}: feeds[0].name: 'a b' is not a valid name: letters, digits, - and _ only, up to 64 (it becomes /feeds/<name>)",
        f"{config}: feeds[0].url: 'ftp://a.test/' is not an http:// or https:// feed URL",
    ]
    assert lines[2].startswith(f"{config}: colour: unknown setting (known: host, port,")
    assert len(set(lines)) == len(lines)


def test_check_config_says_what_serve_refuses(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("ttl = 60\n")
    for env in ({"FEEDSCRUB_PROTECT_NAMED": "true"}, {"FEEDSCRUB_IMAGE_REFERER": "bogus"}):
        done = _check(tmp_path, config, **env)
        assert done.returncode == 1, env
        assert next(iter(env)) in done.stderr


def test_check_config_missing_or_broken_file_is_one_line(tmp_path: Path) -> None:
    done = _check(tmp_path, tmp_path / "missing.toml")
    assert done.returncode == 1
    assert done.stderr == f"feedscrub: config file {tmp_path / 'missing.toml'} does not exist\n"
    broken = tmp_path / "broken.toml"
    broken.write_text("ttl = = 3")
    done = _check(tmp_path, broken)
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1 and "not valid TOML" in done.stderr


def test_check_config_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        "[[feeds]]\n"
        + "".join(f'[[feeds]]\nname = "f{i}"\nurl = "https://f{i}.test/"\n' for i in range(2000))[
            len("[[feeds]]\n") :
        ]
    )
    process = subprocess.Popen(
        [*FEEDSCRUB, "check-config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(tmp_path),
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().endswith(b"OK, 2000 named feed(s)\n")
    process.stdout.close()  # what `| head -1` does
    stderr = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=30) != 0
    assert b"Traceback" not in stderr and b"BrokenPipe" not in stderr, stderr


async def test_clean_named_feed_runs_what_serve_runs(upstream: Upstream, tmp_path: Path) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    config = tmp_path / "feeds.toml"
    config.write_text(
        f'[[feeds]]\nname = "rfi"\nurl = "{url}"\nremove_text = ["布林肯原本计划"]\n'
        'exclude = [{ field = "title", pattern = "第二条" }]\nimages = "none"\n',
        encoding="utf-8",
    )
    env = _env(tmp_path, FEEDSCRUB_ALLOW_PRIVATE="true")
    outputs = []
    for source in ("feeds/rfi", url):
        process = await asyncio.create_subprocess_exec(
            *FEEDSCRUB,
            "clean",
            source,
            "--config",
            str(config),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, stderr
        outputs.append(feedparser.parse(stdout))
        if source == "feeds/rfi":  # its images = "none": no signing key is made
            assert not (tmp_path / "cache" / "secret").exists()
    named, adhoc = outputs
    assert len(named.entries) == len(adhoc.entries) - 1  # the feed's exclude filter
    assert "布林肯原本计划" not in named.entries[0].description  # its own rule
    assert "布林肯原本计划" in adhoc.entries[0].description  # ad hoc: the [defaults] only
    self_links = [link.href for link in named.feed.links if link.get("rel") == "self"]
    assert self_links == ["http://proxy.test/feeds/rfi"]  # the self link serve gives
    assert (tmp_path / "cache" / "secret").exists()  # ad hoc: images proxied, signed


def test_clean_html_fragment_and_the_public_url(tmp_path: Path) -> None:
    fragment = (
        '<p>Words <span><span>kept</span></span></p><div class="sharedaddy">Share this</div>'
        '<img src="blank.gif" data-src="https://img.example/real.jpg">'
    )
    done = subprocess.run(
        [*FEEDSCRUB, "clean", "--html", "-"],
        input=fragment.encode(),
        capture_output=True,
        env=_env(tmp_path),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    html = done.stdout.decode()
    assert "<p>Words kept</p>" in html and "Share this" not in html
    assert 'src="http://proxy.test/img/' in html  # the lazy image, proxied
    assert done.stderr.decode() == "feedscrub: links point at http://proxy.test\n"


def test_clean_without_proxied_images_makes_no_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in _env(tmp_path, FEEDSCRUB_IMAGES="absolute").items()}
    del env["FEEDSCRUB_CACHE_DIR"], env["FEEDSCRUB_PUBLIC_URL"]
    done = subprocess.run(
        [*FEEDSCRUB, "clean", str(DATA / "feeds" / "feedx-rfi.xml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "data").exists()  # no ./data/secret where it ran
    assert done.stderr == (
        "feedscrub: links point at http://localhost:8080 (FEEDSCRUB_PUBLIC_URL is not set)\n"
    )


def test_rotate_secret_refuses_negative_grace_and_a_fresh_dir(tmp_path: Path) -> None:
    env = _env(tmp_path)
    done = subprocess.run(
        [*FEEDSCRUB, "rotate-secret", "--grace-days", "-1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert done.returncode == 2 and "0 days or more" in done.stderr
    done = subprocess.run(
        [*FEEDSCRUB, "rotate-secret"], capture_output=True, text=True, env=env, timeout=30
    )
    assert done.returncode == 1 and "no generated image-signing key" in done.stderr
    assert not (tmp_path / "cache").exists()  # nothing invented, nothing created
    from proxy.images.signing import load_or_create_secret

    old = load_or_create_secret("", str(tmp_path / "cache"))
    done = subprocess.run(
        [*FEEDSCRUB, "rotate-secret", "--grace-days", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    previous = (tmp_path / "cache" / "secret.previous").read_text().split()
    assert previous[1].encode() == old  # the one real old key, kept for the grace period


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_healthcheck_and_graceful_stop(tmp_path: Path) -> None:
    port = _free_port()
    env = _env(tmp_path, FEEDSCRUB_HOST="127.0.0.1", FEEDSCRUB_PORT=str(port))
    server = subprocess.Popen(
        [*FEEDSCRUB, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        healthy = False
        while time.monotonic() < deadline and not healthy:
            check = subprocess.run(
                [*FEEDSCRUB, "healthcheck"], env=env, capture_output=True, timeout=30
            )
            healthy = check.returncode == 0
            if not healthy:
                time.sleep(0.2)
        assert healthy, "server never became healthy"
        assert (tmp_path / "cache" / "secret").stat().st_mode & 0o777 == 0o600
        server.send_signal(signal.SIGTERM)
        stdout, _ = server.communicate(timeout=10)
        assert server.returncode == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    output = stdout.decode()
    assert "Traceback" not in output
    # Nothing listens any more: the healthcheck now fails, with one line.
    check = subprocess.run(
        [*FEEDSCRUB, "healthcheck"], env=env, capture_output=True, text=True, timeout=30
    )
    assert check.returncode == 1 and check.stderr.count("\n") == 1


def test_sign_prints_a_link_that_works_without_the_key(tmp_path: Path) -> None:
    from proxy.server import auth as access

    env = _env(tmp_path, FEEDSCRUB_ACCESS_KEY="a-long-enough-access-key-1234")
    done = subprocess.run(
        [*FEEDSCRUB, "sign", "https://Example.org:443/feed#x"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    link = done.stdout.strip()
    assert link.startswith("http://proxy.test/feed?url=https%3A%2F%2Fexample.org%2Ffeed&sig=")
    sig = link.rsplit("sig=", 1)[1]
    assert sig == access.feed_signature("https://example.org/feed", "a-long-enough-access-key-1234")
    named = subprocess.run(
        [*FEEDSCRUB, "sign", "feeds/rfi"], capture_output=True, text=True, env=env, timeout=30
    )
    assert named.stdout.strip().startswith("http://proxy.test/feeds/rfi?sig=")
    without = subprocess.run(
        [*FEEDSCRUB, "sign", "https://example.org/feed"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=30,
    )
    assert without.returncode == 1 and "FEEDSCRUB_ACCESS_KEY" in without.stderr
