"""Command line: serve | clean | explain | check-config | sign | rotate-secret | healthcheck.

Settings are loaded once, here.

Every failure is one line on stderr and a non-zero exit; never a traceback for bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from proxy import __version__
from proxy.config import Settings, load
from proxy.errors import ConfigError, ProxyError

logger = logging.getLogger("proxy")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feedscrub", description="A self-hosted feed-cleaning proxy."
    )
    parser.add_argument("--version", action="version", version=f"feedscrub {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the proxy server")
    serve.add_argument("--host", help="address to listen on (FEEDSCRUB_HOST, default 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port to listen on (FEEDSCRUB_PORT, default 8080)")
    serve.add_argument("--config", help="TOML config file (FEEDSCRUB_CONFIG)")

    clean = commands.add_parser(
        "clean", help="run the server's pipeline on one feed (or one item's HTML) and print it"
    )
    clean.add_argument(
        "source",
        help="a feed URL, feeds/<name> for a named feed of --config, a file path, or - for stdin",
    )
    clean.add_argument(
        "--format", choices=("rss", "atom", "json"), help="output format (default: the input's)"
    )
    clean.add_argument("--config", help="TOML config file (FEEDSCRUB_CONFIG)")
    clean.add_argument(
        "--html",
        action="store_true",
        help="SOURCE is one item's HTML fragment: print it cleaned ([defaults] rules)",
    )

    explain = commands.add_parser(
        "explain", help="show what cleaning removes from a feed, rule by rule"
    )
    explain.add_argument(
        "source", help="a feed URL, a file path, - for stdin, or feeds/<name> (--config)"
    )
    explain.add_argument("--config", help="TOML config file (FEEDSCRUB_CONFIG)")
    explain.add_argument("--item", type=int, metavar="N", help="show only item N (1 = first)")
    explain.add_argument("--json", action="store_true", help="print the report as JSON")
    explain.add_argument(
        "--rule",
        action="append",
        default=[],
        metavar="KIND=VALUE",
        help="try a rule (remove, remove_xpath, remove_text, remove_after, unwrap, "
        "strip_params) as the preview page's form does; repeatable; nothing is stored",
    )

    check = commands.add_parser("check-config", help="validate a config file and show the settings")
    check.add_argument("file", help="the TOML config file")

    sign = commands.add_parser(
        "sign", help="print a signed link for one feed (needs FEEDSCRUB_ACCESS_KEY)"
    )
    sign.add_argument("url", help="the upstream feed URL, or feeds/<name> for a named feed")
    sign.add_argument("--config", help="TOML config file (FEEDSCRUB_CONFIG)")

    rotate = commands.add_parser(
        "rotate-secret",
        help="replace the generated image-signing key; old links keep working for a grace period",
    )
    rotate.add_argument("--grace-days", type=_days, default=30, help="0 or more (default 30)")
    rotate.add_argument("--config", help="TOML config file (FEEDSCRUB_CONFIG)")

    health = commands.add_parser("healthcheck", help="exit 0 if the local server answers /healthz")
    health.add_argument("--url", help="default: http://127.0.0.1:$FEEDSCRUB_PORT/healthz")
    health.add_argument("--timeout", type=float, default=5.0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        status = _run(args)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at interpreter exit
        return status
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"feedscrub: {problem}", file=sys.stderr)
        return 1
    except ProxyError as exc:
        print(f"feedscrub: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `feedscrub … | head`: the reader has gone; say nothing, and keep Python from
        # complaining again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _run(args: argparse.Namespace) -> int:
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "serve": _serve,
        "clean": _clean,
        "explain": _explain,
        "check-config": _check_config,
        "sign": _sign,
        "rotate-secret": _rotate_secret,
        "healthcheck": _healthcheck,
    }
    return commands[args.command](args)


def _clean(args: argparse.Namespace) -> int:
    from proxy.cli.clean import clean

    return clean(args)


def settings_from(config: str | None, **overrides: Any) -> Settings:
    return load(config, os.environ, overrides)


def _configure_logging(settings: Settings) -> None:
    from proxy import logsafe

    logging.basicConfig(
        level=settings.log_level,
        stream=sys.stdout,  # containers collect stdout
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # On the handler, so every logger's records pass: no forged lines, no keys in the log.
    for handler in logging.getLogger().handlers:
        logsafe.install(handler)
    # The format names no source file, thread or process: finding them costs a stack walk
    # and system calls on every record, and an access line is written for every request
    # (about as much CPU as the rest of a cached request, measured by p15warm).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def _serve(args: argparse.Namespace) -> int:
    import faulthandler

    from proxy.server import create_app
    from proxy.server.serve import serve

    settings = settings_from(args.config, host=args.host, port=args.port)
    _configure_logging(settings)
    # A fatal signal (SIGBUS, SIGSEGV in a C library) still writes why on stderr: the server
    # never dies silently.
    faulthandler.enable()
    app = create_app(settings)
    asyncio.run(serve(app, settings))
    return 0


def public_base(settings: Settings) -> str:
    return settings.public_url.rstrip("/") or f"http://localhost:{settings.port}"


def read_source(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise ProxyError(f"cannot read {source}: {exc.strerror}") from None


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of days") from None
    if days < 0:
        raise argparse.ArgumentTypeError(f"{days} days: the grace period is 0 days or more")
    return days


def _explain(args: argparse.Namespace) -> int:
    from proxy import explain, rewrite
    from proxy.clean import DEFAULT_PACKS
    from proxy.reload import load_feeds, with_tracker_lists

    settings = settings_from(args.config)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="feedscrub: %(message)s")
    tried = []
    for text in args.rule:
        try:
            rule = explain.parse_rule(text)
        except ValueError as exc:
            print(f"feedscrub: {exc}", file=sys.stderr)
            return 1
        problem = explain.rule_problem(rule)
        if problem:
            print(f"feedscrub: --rule {rule.kind}: {problem}", file=sys.stderr)
            return 1
        tried.append(rule)
    loaded = with_tracker_lists(load_feeds(settings.config or None), settings.trackers())
    source: str = args.source
    options, ruleset, name = loaded.feeds.defaults, loaded.defaults, ""
    if source.startswith("feeds/"):
        name = source.removeprefix("feeds/")
        config = loaded.feeds.get(name)
        if config is None:
            names = ", ".join(loaded.feeds.names) or "none are configured (--config)"
            print(
                f"feedscrub: no feed named {name!r}; the named feeds are: {names}", file=sys.stderr
            )
            return 1
        source, options, ruleset = config.url, config.options, loaded.rulesets[name]
    if "://" in source:
        body, facts, final_url, content_type, learnt = asyncio.run(
            _explain_fetch(settings, source, name)
        )
    else:
        body = read_source(source)
        facts = explain.FetchFacts(url=source, size=len(body))
        final_url, content_type, learnt = "", "", None
    # Links shown as they are (no image proxy): the terminal cannot load them anyway.
    policy = rewrite.ImagePolicy(mode="none", public_base=public_base(settings), key=b"")
    report = explain.build_report(
        body,
        source=source,
        options=options,
        default_packs=DEFAULT_PACKS,
        ruleset=ruleset,
        policy=policy,
        fetch=facts,
        feed_name=name,
        tried=tried,
        final_url=final_url,
        content_type=content_type,
        learnt=learnt,
    )
    if args.item is not None and not any(i.number == args.item for i in report.items):
        print(
            f"feedscrub: no item {args.item} among the served items (1 to {report.total})",
            file=sys.stderr,
        )
        return 1
    if args.json:
        sys.stdout.write(explain.format_json(report, item=args.item))
        return 0
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    sys.stdout.write(explain.format_text(report, colour=colour, item=args.item))
    return 0


async def _explain_fetch(
    settings: Settings, url: str, name: str
) -> tuple[bytes, Any, str, str, dict[str, Any]]:
    """The upstream body through the server's cache, as the preview page gets it."""
    import time

    from proxy import explain, fetch
    from proxy.images.signing import load_or_create_secret
    from proxy.pipeline.service import Pipeline
    from proxy.reload import load_feeds
    from proxy.server import links
    from proxy.store import open_store

    key = load_or_create_secret(settings.secret, settings.cache_dir)
    cache = open_store(settings.cache_dir, settings.cache_url)
    if not settings.secret:
        key = cache.shared_key(key)  # replicas on one shared store sign with one key
    session = fetch.new_session(settings)
    try:
        pipeline = Pipeline(
            settings,
            session,
            cache,
            key,
            load_feeds(settings.config or None),
            self_path=links.self_path(settings),
        )
        base = public_base(settings)
        job = (
            pipeline.named_job(name, fmt=None, public_base=base)
            if name
            else pipeline.job(url, fmt=None, public_base=base)
        )
        started = time.perf_counter()
        state = await pipeline.body(job)
        elapsed = (time.perf_counter() - started) * 1000
        learnt = await pipeline.learnt(job, state.stored)
    finally:
        await session.close()
        await cache.close()
    facts = explain.fetch_facts(state, url=url, fetch_ms=elapsed, now=pipeline.clock())
    return state.stored.body, facts, state.stored.final_url, state.stored.content_type, learnt


def _rotate_secret(args: argparse.Namespace) -> int:
    from proxy.images.signing import rotate_secret

    settings = settings_from(args.config)
    if settings.secret:
        print(
            "feedscrub: FEEDSCRUB_SECRET is set: rotate it by setting a new one and moving the "
            "old one into FEEDSCRUB_PREVIOUS_SECRETS until the old links have aged out",
            file=sys.stderr,
        )
        return 1
    if settings.cache_url:
        # The replicas share the key kept in Redis; a new key in one cache dir changes nothing.
        print(
            "feedscrub: FEEDSCRUB_CACHE_URL is set: the replicas share one key; rotate it with "
            "FEEDSCRUB_SECRET and FEEDSCRUB_PREVIOUS_SECRETS on every replica",
            file=sys.stderr,
        )
        return 1
    rotate_secret(settings.cache_dir, args.grace_days * 86400)
    print(
        f"new image-signing key in {settings.cache_dir}/secret; links signed with the old one "
        f"work for {args.grace_days} more days. Restart the server to use the new key."
    )
    return 0


def _sign(args: argparse.Namespace) -> int:
    """A link a reader can subscribe to without the access key, for this one feed."""
    from proxy.server import links

    settings = settings_from(args.config)
    if not settings.access_key:
        print(
            "feedscrub: sign needs FEEDSCRUB_ACCESS_KEY (links are signed with it)", file=sys.stderr
        )
        return 1
    target: str = args.url
    if target.startswith("feeds/"):
        path = links.sign_named_feed(target.removeprefix("feeds/"), settings.access_key)
    else:
        path = links.sign_feed_url(target, settings.access_key)
    print(public_base(settings) + path)
    return 0


def _check_config(args: argparse.Namespace) -> int:
    """Validate settings and feeds; print every problem once with its path, or the result."""
    from proxy.config import from_document, read_config_file
    from proxy.reload import feeds_from_document

    document = read_config_file(args.file)  # a missing or broken file: one line, from main
    problems: list[str] = []
    settings = None
    loaded = None
    try:
        settings = from_document(document, args.file, os.environ)
    except ConfigError as exc:
        problems.extend(exc.problems)
    try:
        loaded = feeds_from_document(document, args.file)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if problems:
        print(f"{args.file}: {len(problems)} problem(s)", file=sys.stderr)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    assert settings is not None and loaded is not None
    print(f"{args.file}: OK, {len(loaded.feeds.feeds)} named feed(s)")
    for name, value in settings.redacted().items():
        print(f"  {name} = {value!r}")
    for feed in loaded.feeds.feeds:
        packs = ", ".join(loaded.rulesets[feed.name].packs)
        print(f"  feeds.{feed.name}: {feed.url} (packs: {packs})")
    return 0


def _healthcheck(args: argparse.Namespace) -> int:
    url = args.url
    if not url:
        port = os.environ.get("FEEDSCRUB_PORT", "8080")
        url = f"http://127.0.0.1:{port}/healthz"
    try:
        # No proxies: HTTP_PROXY set for the server's own use must not send the check away.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url, timeout=args.timeout) as response:
            if response.status == 200:
                return 0
            print(f"feedscrub: {url} answered {response.status}", file=sys.stderr)
    except (urllib.error.URLError, OSError) as exc:
        print(f"feedscrub: {url} did not answer: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
