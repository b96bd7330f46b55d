"""One table of settings. Environment beats config file beats default; loaded once, frozen.

``load()`` is called once at the edge (``cli.py``); everything below receives a ``Settings``.
Nothing here reads ``os.environ`` at import time, so tests pass ``environ={...}`` instead of
patching the process.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proxy.errors import ConfigError

ENV_PREFIX = "FEEDSCRUB_"
IMAGE_MODES = ("proxy", "template", "absolute", "none")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(value)


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    default: Any
    cast: Callable[[str], Any]
    help: str
    secret: bool = False

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


MB = 1024 * 1024

OPTIONS: tuple[Option, ...] = (
    Option("host", "0.0.0.0", str, "Address the server listens on"),
    Option("port", 8080, int, "Port the server listens on"),
    Option("config", "", str, "Path to a TOML config file"),
    Option("cache_dir", "./data", str, "Directory of the embedded cache (/data in the container)"),
    Option(
        "cache_url",
        "",
        str,
        "Shared Redis/Valkey cache for replicas: redis://, rediss:// (TLS) or unix://; "
        "empty: the embedded cache in FEEDSCRUB_CACHE_DIR",
        secret=True,  # may carry a password
    ),
    Option("ttl", 900, int, "Seconds an upstream feed is fresh before it is revalidated"),
    Option(
        "stale_while_revalidate",
        300,
        int,
        "Seconds past the TTL during which the cached feed is served at once while one "
        "background refresh runs; later requests wait for the upstream",
    ),
    Option(
        "negative_ttl",
        300,
        int,
        "Seconds a 404/410 from an upstream is remembered, so a dead feed is not re-asked",
    ),
    Option(
        "public_url",
        "",
        str,
        "Base URL readers use to reach the proxy (image and self links); "
        "taken from the request when empty",
    ),
    Option(
        "secret",
        "",
        str,
        "HMAC key for image URLs; generated once and kept in the cache dir when empty",
        secret=True,
    ),
    Option(
        "previous_secrets",
        "",
        str,
        "Comma-separated image-signing keys rotated out by hand, still accepted for old "
        "image links until removed from this setting",
        secret=True,
    ),
    Option(
        "allow_private",
        False,
        _bool,
        "Allow upstreams on loopback/private/link-local addresses (tests, LAN feeds)",
    ),
    Option("images", "proxy", str, "Image mode: proxy, template, absolute or none"),
    Option(
        "image_template",
        "",
        str,
        "URL template for FEEDSCRUB_IMAGES=template, with {url} or {url_encoded}",
    ),
    Option("fetch_timeout", 20.0, float, "Seconds allowed for one whole upstream request"),
    Option("connect_timeout", 10.0, float, "Seconds allowed to connect to an upstream"),
    Option(
        "max_body_bytes",
        10 * MB,
        int,
        "Largest upstream feed body, counted after decompression",
    ),
    Option("max_image_bytes", 10 * MB, int, "Largest image the image proxy passes on"),
    Option("max_redirects", 5, int, "Redirects followed per upstream request"),
    Option("per_host_connections", 4, int, "Concurrent connections to one upstream host"),
    Option(
        "header_timeout",
        30.0,
        float,
        "Seconds a reader's connection may take to send a whole request header, and stay "
        "idle between requests; then it is closed",
    ),
    Option(
        "max_connections",
        1000,
        int,
        "Reader connections open at once; more are answered 503 and closed",
    ),
    Option("log_level", "INFO", str, "DEBUG, INFO, WARNING or ERROR"),
    Option(
        "adhoc",
        True,
        _bool,
        "Serve ad-hoc /feed?url= requests; false serves only the config file's named feeds",
    ),
    Option(
        "fulltext_budget",
        10.0,
        float,
        "Seconds a full-text feed request waits for article fetches; "
        "the rest are filled in the background for the next request",
    ),
    Option("fulltext_ttl", 7 * 24 * 3600, int, "Seconds a fetched full-text article is kept"),
    Option("fulltext_concurrency", 8, int, "Full-text article fetches running at once, overall"),
    Option("fulltext_per_host", 2, int, "Full-text article fetches running at once per host"),
    Option(
        "site_config_dir",
        "",
        str,
        "Folder of FiveFilters site-config <host>.txt files (ftr-site-config) used by full text",
    ),
    # Access control and observability (proxy/access.py, proxy/metrics.py).
    Option(
        "access_key",
        "",
        str,
        "When set, ad-hoc /feed needs key=<this> or a signed link's sig= (feedscrub sign URL); "
        "keep it long and random",
        secret=True,
    ),
    Option(
        "protect_named",
        False,
        _bool,
        "Named feeds (/feeds/{name}) need the access key or a signed link too",
    ),
    Option(
        "allow_hosts",
        "",
        str,
        "Comma-separated glob patterns (*, ?) of upstream hosts that may be fetched, for "
        "feeds, redirects and images; empty allows every host",
    ),
    Option(
        "deny_hosts",
        "",
        str,
        "Comma-separated glob patterns (*, ?) of upstream hosts never fetched; beats the "
        "allow list",
    ),
    Option("metrics", True, _bool, "Serve /metrics (Prometheus text format)"),
    Option(
        "protect_metrics",
        False,
        _bool,
        "/metrics needs the access key (key= or Authorization: Bearer)",
    ),
    # The image proxy (proxy/imageproxy.py, proxy/referer.py).
    Option(
        "proxy_media",
        False,
        _bool,
        "Also proxy audio and video enclosures (podcasts); off by default because they are big",
    ),
    Option(
        "image_cache_bytes",
        1024 * MB,
        int,
        "Size of the image cache, evicted least-recently-used; separate from the feed cache",
    ),
    Option(
        "image_referer",
        "none",
        str,
        "Default Referer policy of the image proxy: none, origin (of the item link), image "
        "(the image's own origin) or a fixed http(s) URL; a policy learned for the host, a "
        "feed's image_referer and the built-in host table come first",
    ),
    Option(
        "max_media_bytes",
        200 * MB,
        int,
        "Largest audio or video file the proxy passes on (with FEEDSCRUB_PROXY_MEDIA=true)",
    ),
)

OPTIONS_BY_NAME: dict[str, Option] = {option.name: option for option in OPTIONS}


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "0.0.0.0"
    port: int = 8080
    config: str = ""
    cache_dir: str = "./data"
    cache_url: str = ""
    ttl: int = 900
    stale_while_revalidate: int = 300
    negative_ttl: int = 300
    public_url: str = ""
    secret: str = ""
    previous_secrets: str = ""
    allow_private: bool = False
    images: str = "proxy"
    image_template: str = ""
    fetch_timeout: float = 20.0
    connect_timeout: float = 10.0
    max_body_bytes: int = 10 * MB
    max_image_bytes: int = 10 * MB
    max_redirects: int = 5
    per_host_connections: int = 4
    header_timeout: float = 30.0
    max_connections: int = 1000
    log_level: str = "INFO"
    adhoc: bool = True
    fulltext_budget: float = 10.0
    fulltext_ttl: int = 7 * 24 * 3600
    fulltext_concurrency: int = 8
    fulltext_per_host: int = 2
    site_config_dir: str = ""
    access_key: str = ""
    protect_named: bool = False
    allow_hosts: str = ""
    deny_hosts: str = ""
    metrics: bool = True
    protect_metrics: bool = False
    proxy_media: bool = False
    image_cache_bytes: int = 1024 * MB
    image_referer: str = "none"
    max_media_bytes: int = 200 * MB

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def validate(self) -> Settings:
        """Reject values and combinations that cannot work, naming the variable."""
        problems: list[str] = []
        if self.images not in IMAGE_MODES:
            problems.append(
                f"FEEDSCRUB_IMAGES has value {self.images!r}. Use one of: {', '.join(IMAGE_MODES)}."
            )
        if self.images == "template" and not (
            "{url}" in self.image_template or "{url_encoded}" in self.image_template
        ):
            problems.append(
                "FEEDSCRUB_IMAGES=template requires FEEDSCRUB_IMAGE_TEMPLATE "
                "containing {url} or {url_encoded}."
            )
        if self.log_level.upper() not in LOG_LEVELS:
            problems.append(
                f"FEEDSCRUB_LOG_LEVEL has value {self.log_level!r}. "
                f"Use one of: {', '.join(LOG_LEVELS)}."
            )
        for name in ("stale_while_revalidate", "negative_ttl"):
            if getattr(self, name) < 0:
                problems.append(f"{ENV_PREFIX}{name.upper()} must be 0 or more.")
        for name in (
            "ttl",
            "max_body_bytes",
            "max_image_bytes",
            "per_host_connections",
            "max_connections",
        ):
            if getattr(self, name) <= 0:
                problems.append(f"{ENV_PREFIX}{name.upper()} must be greater than 0.")
        for name in ("fetch_timeout", "connect_timeout", "header_timeout"):
            if getattr(self, name) <= 0:
                problems.append(f"{ENV_PREFIX}{name.upper()} must be greater than 0.")
        if self.cache_url and not self.cache_url.startswith(("redis://", "rediss://", "unix://")):
            problems.append(
                "FEEDSCRUB_CACHE_URL must start with redis://, rediss:// or unix:// "
                "(or be empty for the embedded cache)."
            )
        if self.max_redirects < 0:
            problems.append("FEEDSCRUB_MAX_REDIRECTS must be 0 or more.")
        if not 0 <= self.port <= 65535:
            problems.append(f"FEEDSCRUB_PORT has value {self.port}. Not a valid port.")
        if self.public_url and not self.public_url.startswith(("http://", "https://")):
            problems.append(
                f"FEEDSCRUB_PUBLIC_URL has value {self.public_url!r}. "
                "It must start with http:// or https://."
            )
        # Full text: a zero budget is allowed (serve at once, fill everything in the background).
        if self.fulltext_budget < 0:
            problems.append("FEEDSCRUB_FULLTEXT_BUDGET must be 0 or more.")
        for name in ("fulltext_ttl", "fulltext_concurrency", "fulltext_per_host"):
            if getattr(self, name) <= 0:
                problems.append(f"{ENV_PREFIX}{name.upper()} must be greater than 0.")
        if problems:
            raise ConfigError(" ".join(problems))
        return self

    def redacted(self) -> dict[str, Any]:
        """Every value, with secrets shown as <redacted>: for logs and check-config."""
        shown: dict[str, Any] = {}
        for option in OPTIONS:
            value = getattr(self, option.name)
            shown[option.name] = "<redacted>" if option.secret and value else value
        return shown


def _cast(option: Option, raw: Any, source: str) -> Any:
    if isinstance(raw, str) or option.cast is str:
        text = str(raw)
        try:
            return option.cast(text)
        except ValueError:
            kind = {_bool: "boolean", int: "integer", float: "number"}.get(option.cast, "value")
            raise ConfigError(f"{source} has value {text!r}. Not a valid {kind}.") from None
    # Native TOML values: accept the matching type (ints where floats are wanted too).
    if option.cast is _bool and isinstance(raw, bool):
        return raw
    if option.cast is int and isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if option.cast is float and isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    raise ConfigError(f"{source} has value {raw!r}. Not a valid {option.cast.__name__}.")


def read_config_file(path: str) -> dict[str, Any]:
    """Parse a TOML file; its settings live at top level or in a [server] table."""
    try:
        with Path(path).open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None


def load(
    path: str | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the Settings once.

    Parameters:
        path: a TOML config file; when None, FEEDSCRUB_CONFIG names it (or there is none).
        environ: the environment to read FEEDSCRUB_* variables from (os.environ at the edge).
        overrides: command-line values, which beat everything else.
    """
    environ = environ if environ is not None else {}
    values: dict[str, Any] = {}
    config_path = path or environ.get(OPTIONS_BY_NAME["config"].env, "")
    if config_path:
        document = read_config_file(config_path)
        table = document.get("server", {})
        if not isinstance(table, dict):
            raise ConfigError(f"{config_path}: [server] must be a table")
        # Settings may sit at top level too; tables other than [server] belong to later stages.
        merged = {k: v for k, v in document.items() if not isinstance(v, dict | list)}
        merged.update(table)
        for key, raw in merged.items():
            option = OPTIONS_BY_NAME.get(key)
            if option is None:
                known = ", ".join(o.name for o in OPTIONS if o.name != "config")
                raise ConfigError(f"{config_path}: server.{key}: unknown setting (known: {known})")
            values[key] = _cast(option, raw, f"{config_path}: server.{key}")
        values["config"] = config_path
    for option in OPTIONS:
        if option.env in environ:
            values[option.name] = _cast(option, environ[option.env], option.env)
    for key, raw in (overrides or {}).items():
        if raw is not None:
            values[key] = raw
    if "log_level" in values:
        values["log_level"] = str(values["log_level"]).upper()
    return Settings(**values).validate()
