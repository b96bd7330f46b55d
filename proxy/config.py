"""One table of settings. Environment beats config file beats default; loaded once, frozen.

The table is the ``Settings`` declaration itself: each field is one option, with its name,
type, default, help and check written once (``_opt``); ``OPTIONS`` is read from it. Every
check lives here, value checks and combinations alike, so ``serve`` and ``check-config``
refuse exactly the same things.

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

from yarl import URL

from proxy.errors import ConfigError

ENV_PREFIX = "FEEDSCRUB_"
IMAGE_MODES = ("proxy", "template", "absolute", "none")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
REFERER_POLICIES = ("none", "origin", "image")  # besides a fixed http(s) URL
MIN_ACCESS_KEY_LENGTH = 16  # shorter keys are accepted, with a warning: they can be guessed
MB = 1024 * 1024

Check = Callable[[Any], str | None]
"""A value → why it cannot work (one sentence), or None when it is fine."""


# --- the checks a value can carry -------------------------------------------------------------


def _greater_than_zero(value: Any) -> str | None:
    return None if value > 0 else "It must be greater than 0."


def _zero_or_more(value: Any) -> str | None:
    return None if value >= 0 else "It must be 0 or more."


def _one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else f"Use one of: {', '.join(choices)}."

    return check


def _log_level(value: Any) -> str | None:
    return _one_of(*LOG_LEVELS)(str(value).upper())


def _port(value: Any) -> str | None:
    return None if 0 <= value <= 65535 else "Not a valid port."


def _http_url_or_empty(value: Any) -> str | None:
    if not value or str(value).startswith(("http://", "https://")):
        return None
    return "It must start with http:// or https://."


def is_referer_policy(value: str) -> bool:
    """none, origin, image, or a fixed http(s) URL (also what a feed's image_referer takes)."""
    return value in REFERER_POLICIES or value.startswith(("http://", "https://"))


def _cache_url(value: Any) -> str | None:
    if value and not str(value).startswith(("redis://", "rediss://", "unix://")):
        return "It must start with redis://, rediss:// or unix://, or be empty (embedded cache)."
    return None


def _referer_policy(value: Any) -> str | None:
    if is_referer_policy(str(value)):
        return None
    return f"Use one of: {', '.join(REFERER_POLICIES)}, or an http(s) URL."


def _host_patterns(value: Any) -> str | None:
    try:
        parse_host_patterns(str(value))
    except ValueError as exc:
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

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

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
        shown: dict[str, Any] = {}
        for option in OPTIONS:
            value = getattr(self, option.name)
            shown[option.name] = "<redacted>" if option.secret and value else value
        return shown


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

OPTIONS: tuple[Option, ...] = tuple(
    Option(
        name=item.name,
        type=_TYPES[str(item.type)],
        default=item.default,
        help=item.metadata["help"],
        check=item.metadata["check"],
        secret=item.metadata["secret"],
    )
    for item in dataclasses.fields(Settings)
)
OPTIONS_BY_NAME: dict[str, Option] = {option.name: option for option in OPTIONS}


# --- host patterns (FEEDSCRUB_ALLOW_HOSTS / FEEDSCRUB_DENY_HOSTS) ------------------------------

_PATTERN_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_*?:")
# UTS #46 maps these to "." before IDNA; split on them as on ".".
_IDEOGRAPHIC_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def _normalise_pattern(raw: str) -> str:
    shown = raw.strip()
    text = shown.translate(_IDEOGRAPHIC_DOTS).rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]  # an IPv6 literal as written in a URL
    labels: list[str] = []
    for label in text.split("."):
        if label.isascii():
            labels.append(label.lower())
            continue
        if "*" in label or "?" in label:
            raise ValueError(
                f"Pattern {shown!r}: a wildcard cannot sit in a non-ASCII label; write that "
                "label in full or in its xn-- form."
            )
        try:
            encoded = URL.build(scheme="http", host=label).raw_host
        except ValueError:
            encoded = None
        if not encoded:
            raise ValueError(f"Pattern {shown!r} is not a valid host name.")
        labels.append(encoded)
    pattern = ".".join(labels)
    if not pattern or not set(pattern) <= _PATTERN_CHARACTERS:
        raise ValueError(
            f"Pattern {shown!r}: use host names with * and ? wildcards, comma-separated, "
            "without scheme, port or path (e.g. example.org,*.example.org)."
        )
    return pattern


def parse_host_patterns(text: str) -> tuple[str, ...]:
    """Comma-separated globs → normalised patterns (lower case, IDN labels in xn-- form).

    Raises ValueError saying which pattern is wrong (``Settings.problems`` names the setting).
    """
    return tuple(_normalise_pattern(part) for part in text.split(",") if part.strip())


# --- loading ----------------------------------------------------------------------------------


def _cast(option: Option, raw: Any) -> Any:
    """The value for ``option`` from a string (environment) or a TOML value; ValueError saying
    why not."""
    kind = {bool: "boolean", int: "integer", float: "number"}.get(option.type, "string")
    if isinstance(raw, str):
        if option.type is str:
            return raw
        if option.type is bool:
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(f"Not a valid {kind}.")
        try:
            return option.type(raw)
        except ValueError:
            raise ValueError(f"Not a valid {kind}.") from None
    # Native TOML values: the matching type (ints where floats are wanted too).
    if isinstance(raw, bool):
        if option.type is bool:
            return raw
    elif option.type is int and isinstance(raw, int):
        return raw
    elif option.type is float and isinstance(raw, int | float):
        return float(raw)
    raise ValueError(f"Not a valid {kind}.")


def read_config_file(path: str) -> dict[str, Any]:
    """Parse a TOML file; its settings live at top level or in a [server] table."""
    try:
        with Path(path).open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None


def from_document(
    document: Mapping[str, Any] | None,
    path: str,
    environ: Mapping[str, str],
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """The Settings of a parsed config file (or none), the environment and overrides.

    Raises ConfigError whose ``problems`` lists every problem once, each with where the value
    came from and the value itself.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    problems: list[str] = []

    def take(option: Option, raw: Any, source: str) -> None:
        try:
            values[option.name] = _cast(option, raw)
            sources[option.name] = source
        except ValueError as exc:
            problems.append(f"{source} has value {raw!r}. {exc}")

    if document is not None:
        table = document.get("server", {})
        if not isinstance(table, dict):
            problems.append(f"{path}: server must be a table ([server])")
            table = {}
        # Settings may sit at top level too; other tables belong to later stages.
        entries = [(k, v, k) for k, v in document.items() if not isinstance(v, dict | list)]
        entries += [(k, v, f"server.{k}") for k, v in table.items()]
        known = ", ".join(o.name for o in OPTIONS if o.name != "config")
        for key, raw, shown in entries:
            option = OPTIONS_BY_NAME.get(key)
            if option is None or key == "config":
                problems.append(f"{path}: {shown}: unknown setting (known: {known})")
            else:
                take(option, raw, f"{path}: {shown}")
        values["config"] = path
    for option in OPTIONS:
        if option.env in environ:
            take(option, environ[option.env], option.env)
    for key, raw in (overrides or {}).items():
        if raw is not None:
            values[key] = raw
            sources[key] = f"--{key}"
    if "log_level" in values:
        values["log_level"] = str(values["log_level"]).upper()
    settings = Settings(**values)
    problems.extend(settings.problems(sources))
    if problems:
        raise ConfigError("\n".join(problems), problems=tuple(problems))
    return settings


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
    config_path = path or environ.get(OPTIONS_BY_NAME["config"].env, "")
    document = read_config_file(config_path) if config_path else None
    return from_document(document, config_path, environ, overrides)
