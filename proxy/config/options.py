"""The one table of settings, and every check of them.

The table is the ``Settings`` declaration itself: each field is one option, with its name,
type, default, help and check written once (``_opt``); ``OPTIONS`` is read from it. Every
check lives here, value checks and combinations alike, so ``serve`` and ``check-config``
refuse exactly the same things (``Settings.problems``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from proxy import trackerlists
from proxy.errors import ConfigError
from proxy.hostpatterns import parse_host_patterns

ENV_PREFIX = "FEEDSCRUB_"
IMAGE_MODES = ("proxy", "template", "absolute", "none")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
REFERER_POLICIES = ("none", "origin", "image")  # besides a fixed http(s) URL
MIN_ACCESS_KEY_LENGTH = 16  # shorter keys are accepted, with a warning: they can be guessed
MB = 1024 * 1024

Check = Callable[[Any], str | None]
"""A value → why it cannot work (one sentence), or None when it is fine."""


def _rule(accepts: Callable[[Any], bool], reason: str) -> Check:
    """A check that gives ``reason`` for every value ``accepts`` turns down."""
    return lambda value: None if accepts(value) else reason


def is_referer_policy(value: str) -> bool:
    """none, origin, image, or a fixed http(s) URL (also what a feed's image_referer takes)."""
    return value in REFERER_POLICIES or value.startswith(("http://", "https://"))


def _one_of(*choices: str) -> Check:
    return _rule(lambda value: value in choices, f"Use one of: {', '.join(choices)}.")


_greater_than_zero = _rule(lambda value: value > 0, "It must be greater than 0.")
_zero_or_more = _rule(lambda value: value >= 0, "It must be 0 or more.")
_port = _rule(lambda value: 0 <= value <= 65535, "Not a valid port.")
_log_level = _rule(
    lambda value: str(value).upper() in LOG_LEVELS, f"Use one of: {', '.join(LOG_LEVELS)}."
)
_http_url_or_empty = _rule(
    lambda value: not value or str(value).startswith(("http://", "https://")),
    "It must start with http:// or https://.",
)
_referer_policy = _rule(
    lambda value: is_referer_policy(str(value)),
    f"Use one of: {', '.join(REFERER_POLICIES)}, or an http(s) URL.",
)
_cache_url = _rule(
    lambda value: not value or str(value).startswith(("redis://", "rediss://", "unix://")),
    "It must start with redis://, rediss:// or unix://, or be empty (embedded cache).",
)


def _host_patterns(value: Any) -> str | None:
    try:
        parse_host_patterns(str(value))
    except ValueError as exc:
        return str(exc)
    return None


def _tracker_lists(value: Any) -> str | None:
    try:
        trackerlists.load(str(value))  # compiled once here; the pipeline reuses it
    except trackerlists.ListError as exc:
        return str(exc)
    return None


def _opt(default: Any, help: str, check: Check | None = None, *, secret: bool = False) -> Any:
    """One option of the table: a dataclass field that carries its help and check."""
    return dataclasses.field(
        default=default, metadata={"help": help, "check": check, "secret": secret}
    )


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = _opt("0.0.0.0", "Address the server listens on")
    port: int = _opt(8080, "Port the server listens on", _port)
    config: str = _opt("", "Path to a TOML config file")
    cache_dir: str = _opt("./data", "Directory of the embedded cache (/data in the container)")
    cache_url: str = _opt(
        "",
        "Shared Redis/Valkey cache for replicas: redis://, rediss:// (TLS) or unix://; "
        "empty: the embedded cache in FEEDSCRUB_CACHE_DIR",
        _cache_url,
        secret=True,  # may carry a password
    )
    ttl: int = _opt(
        900, "Seconds an upstream feed is fresh before it is revalidated", _greater_than_zero
    )
    stale_while_revalidate: int = _opt(
        300,
        "Seconds past the TTL during which the cached feed is served at once while one "
        "background refresh runs; later requests wait for the upstream",
        _zero_or_more,
    )
    negative_ttl: int = _opt(
        300,
        "Seconds a 404/410 from an upstream is remembered, so a dead feed is not re-asked",
        _zero_or_more,
    )
    public_url: str = _opt(
        "",
        "Base URL readers use to reach the proxy (image and self links); "
        "taken from the request when empty",
        _http_url_or_empty,
    )
    secret: str = _opt(
        "",
        "HMAC key for image URLs; generated once and kept in the cache dir when empty",
        secret=True,
    )
    previous_secrets: str = _opt(
        "",
        "Comma-separated image-signing keys rotated out by hand, still accepted for old "
        "image links until removed from this setting",
        secret=True,
    )
    allow_private: bool = _opt(
        False, "Allow upstreams on loopback/private/link-local addresses (tests, LAN feeds)"
    )
    images: str = _opt(
        "proxy", "Image mode: proxy, template, absolute or none", _one_of(*IMAGE_MODES)
    )
    image_template: str = _opt(
        "", "URL template for FEEDSCRUB_IMAGES=template, with {url} or {url_encoded}"
    )
    fetch_timeout: float = _opt(
        20.0, "Seconds allowed for one whole upstream request", _greater_than_zero
    )
    connect_timeout: float = _opt(
        10.0, "Seconds allowed to connect to an upstream", _greater_than_zero
    )
    max_body_bytes: int = _opt(
        10 * MB, "Largest upstream feed body, counted after decompression", _greater_than_zero
    )
    max_image_bytes: int = _opt(
        10 * MB, "Largest image the image proxy passes on", _greater_than_zero
    )
    max_redirects: int = _opt(5, "Redirects followed per upstream request", _zero_or_more)
    per_host_connections: int = _opt(
        4, "Concurrent connections to one upstream host", _greater_than_zero
    )
    header_timeout: float = _opt(
        30.0,
        "Seconds a reader's connection may take to send a whole request header, and stay "
        "idle between requests; then it is closed",
        _greater_than_zero,
    )
    max_connections: int = _opt(
        1000,
        "Reader connections open at once; more are answered 503 and closed",
        _greater_than_zero,
    )
    log_level: str = _opt("INFO", "DEBUG, INFO, WARNING or ERROR", _log_level)
    adhoc: bool = _opt(
        True, "Serve ad-hoc /feed?url= requests; false serves only the config file's named feeds"
    )
    fulltext_budget: float = _opt(
        10.0,
        "Seconds a full-text feed request waits for article fetches; "
        "the rest are filled in the background for the next request",
        _zero_or_more,  # 0: serve at once, fill everything in the background
    )
    fulltext_ttl: int = _opt(
        7 * 24 * 3600, "Seconds a fetched full-text article is kept", _greater_than_zero
    )
    fulltext_concurrency: int = _opt(
        8, "Full-text article fetches running at once, overall", _greater_than_zero
    )
    fulltext_per_host: int = _opt(
        2, "Full-text article fetches running at once per host", _greater_than_zero
    )
    fulltext_max_articles: int = _opt(
        100,
        "Articles fetched for one full-text feed request, the newest items first; the "
        "other items keep the feed's own content",
        _greater_than_zero,
    )
    max_builds: int = _opt(
        0,
        "Feed builds (parse, clean, render) running at once; more wait their turn; "
        "0 means 2 per CPU",
        _zero_or_more,
    )
    site_config_dir: str = _opt(
        "",
        "Folder of FiveFilters site-config <host>.txt files (ftr-site-config) used by full text",
    )
    access_key: str = _opt(
        "",
        "When set, ad-hoc /feed needs key=<this> or a signed link's sig= (feedscrub sign URL); "
        "keep it long and random",
        secret=True,
    )
    protect_named: bool = _opt(
        False, "Named feeds (/feeds/{name}) need the access key or a signed link too"
    )
    allow_hosts: str = _opt(
        "",
        "Comma-separated glob patterns (*, ?) of upstream hosts that may be fetched, for "
        "feeds, redirects and images; empty allows every host",
        _host_patterns,
    )
    deny_hosts: str = _opt(
        "",
        "Comma-separated glob patterns (*, ?) of upstream hosts never fetched; beats the "
        "allow list",
        _host_patterns,
    )
    metrics: bool = _opt(True, "Serve /metrics (Prometheus text format)")
    protect_metrics: bool = _opt(
        False, "/metrics needs the access key (key= or Authorization: Bearer)"
    )
    proxy_media: bool = _opt(
        False,
        "Also proxy audio and video enclosures (podcasts); off by default because they are big",
    )
    image_cache_bytes: int = _opt(
        1024 * MB,
        "Size of the image cache, evicted least-recently-used; separate from the feed cache",
        _greater_than_zero,
    )
    image_referer: str = _opt(
        "none",
        "Default Referer policy of the image proxy: none, origin (of the item link), image "
        "(the image's own origin) or a fixed http(s) URL; a policy learned for the host, a "
        "feed's image_referer and the built-in host table come first",
        _referer_policy,
    )
    max_media_bytes: int = _opt(
        200 * MB,
        "Largest audio or video file the proxy passes on (with FEEDSCRUB_PROXY_MEDIA=true)",
        _greater_than_zero,
    )

    tracker_lists: str = _opt(
        "",
        "Comma-separated paths of tracker/ad lists in Adblock Plus syntax (EasyPrivacy, "
        "EasyList, your own): images they block are removed, links to pages they block "
        "unwrapped; read once at startup",
        _tracker_lists,
    )

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def trackers(self) -> trackerlists.TrackerLists | None:
        """The compiled tracker lists (compiled once, when the settings were checked; again
        when a file changed, else the last good ones: trackerlists.load_kept)."""
        return trackerlists.load_kept(self.tracker_lists)

    def problems(self, sources: Mapping[str, str] | None = None) -> list[str]:
        """Every value or combination that cannot work, one sentence each, naming where the
        value came from (``sources``: option name → "FEEDSCRUB_X" or "file: server.x")."""
        where = dict(sources or {})
        found: list[str] = []
        for option in OPTIONS:
            value = getattr(self, option.name)
            reason = option.check(value) if option.check else None
            if reason:
                found.append(f"{where.get(option.name, option.env)} has value {value!r}. {reason}")
        found.extend(
            problem
            for rule in _COMBINATIONS
            if (problem := rule(self, lambda name: where.get(name, ENV_PREFIX + name.upper())))
        )
        return found

    def validate(self, sources: Mapping[str, str] | None = None) -> Settings:
        """Raise ConfigError listing every problem (``problems``); the settings otherwise."""
        found = self.problems(sources)
        if found:
            raise ConfigError("\n".join(found), problems=tuple(found))
        return self

    def warnings(self) -> list[str]:
        """Settings that work but are unwise (logged at startup)."""
        if self.access_key and len(self.access_key) < MIN_ACCESS_KEY_LENGTH:
            return [
                f"FEEDSCRUB_ACCESS_KEY is shorter than {MIN_ACCESS_KEY_LENGTH} characters; a "
                "longer random key (python -c 'import secrets; print(secrets.token_urlsafe(32))')"
                " resists guessing"
            ]
        return []

    def redacted(self) -> dict[str, Any]:
        """Every value, with secrets shown as <redacted>: for logs and check-config."""
        values = {option: getattr(self, option.name) for option in OPTIONS}
        return {o.name: "<redacted>" if o.secret and v else v for o, v in values.items()}


Combination = Callable[["Settings", Callable[[str], str]], str | None]
"""(settings, where a value came from) → why the combination cannot work, or None."""


def _template_needs_placeholder(s: Settings, where: Callable[[str], str]) -> str | None:
    template = s.image_template
    if s.images == "template" and not ("{url}" in template or "{url_encoded}" in template):
        return (
            f"{where('images')}=template requires FEEDSCRUB_IMAGE_TEMPLATE "
            f"containing {{url}} or {{url_encoded}} (it has {template!r})."
        )
    return None


def _protect_needs_key(flag: str) -> Combination:
    def rule(s: Settings, where: Callable[[str], str]) -> str | None:
        if getattr(s, flag) and not s.access_key:
            return f"{where(flag)}=true requires FEEDSCRUB_ACCESS_KEY."
        return None

    return rule


_COMBINATIONS: tuple[Combination, ...] = (
    _template_needs_placeholder,
    _protect_needs_key("protect_named"),
    _protect_needs_key("protect_metrics"),
)


@dataclass(frozen=True, slots=True)
class Option:
    """One row of the table, read from a ``Settings`` field."""

    name: str
    type: type
    default: Any
    help: str
    check: Check | None = None
    secret: bool = False

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool}

# The field's metadata is what _opt put there: help, check and secret.
OPTIONS: tuple[Option, ...] = tuple(
    Option(item.name, _TYPES[str(item.type)], item.default, **item.metadata)
    for item in dataclasses.fields(Settings)
)
OPTIONS_BY_NAME: dict[str, Option] = {option.name: option for option in OPTIONS}
