"""The feeds part of the config file: [defaults] and [[feeds]], validated into frozen values.

Every problem is reported with its path (``feeds[2].remove[0]: invalid CSS selector …``), all
at once, so one run of ``feedscrub check-config`` shows everything to fix. Selectors and
regexes are compiled here, at load time, so a bad one never reaches a request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from proxy.config import IMAGE_MODES, REFERER_POLICIES, is_referer_policy
from proxy.errors import ConfigError

# OpenCC's conversions offered per feed (`opencc = "s2t"`) and ad hoc (`&opencc=`).
OPENCC_CONFIGS = ("s2t", "t2s", "s2tw", "tw2s", "s2hk", "hk2s", "s2twp", "tw2sp")

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FILTER_FIELDS = ("title", "content", "author", "category", "link")
_DURATION = re.compile(r"\A(\d+)\s*([smhdw]?)\Z")  # on the stripped value: linear
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True, slots=True)
class Replacement:
    pattern: str
    replacement: str


@dataclass(frozen=True, slots=True)
class FieldFilter:
    field: str
    pattern: str


@dataclass(frozen=True, slots=True)
class FeedOptions:
    """What [defaults] and each [[feeds]] entry may set. None means "not set here"."""

    format: str | None = None
    ttl: int | None = None
    images: str | None = None
    user_agent: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    rules: tuple[str, ...] | None = None  # built-in packs; None = every generic pack
    remove: tuple[str, ...] = ()
    remove_xpath: tuple[str, ...] = ()
    remove_text: tuple[str, ...] = ()
    remove_after: tuple[str, ...] = ()
    unwrap: tuple[str, ...] = ()
    replace: tuple[Replacement, ...] = ()
    strip_params: tuple[str, ...] = ()
    include: tuple[FieldFilter, ...] = ()
    exclude: tuple[FieldFilter, ...] = ()
    max_age: int | None = None  # seconds
    limit: int | None = None
    fulltext: bool | None = None  # fetch each item's link and extract the article
    fulltext_selector: str | None = None  # CSS, or XPath when it starts with "/"
    image_referer: str | None = None  # none | origin | image | a fixed http(s) URL
    opencc: str | None = None  # Chinese script conversion: s2t, t2s, s2tw, tw2s, s2hk…
    auto_boilerplate: bool | None = None  # False: no auto.boilerplate for this feed

    def merged_over(self, defaults: FeedOptions) -> FeedOptions:
        """This feed's options on top of [defaults]: scalars replace, rule lists add up."""
        changes: dict[str, Any] = {}
        for item in fields(self):
            mine, theirs = getattr(self, item.name), getattr(defaults, item.name)
            if item.name in _ADDITIVE:
                changes[item.name] = tuple(theirs) + tuple(mine)
            elif mine is None or (item.name == "headers" and not mine):
                changes[item.name] = theirs
            elif item.name == "headers":
                changes[item.name] = tuple({**dict(theirs), **dict(mine)}.items())
        return replace(self, **changes)

    def has_custom_rules(self) -> bool:
        return any(getattr(self, name) for name in _CUSTOM_RULES)


_CUSTOM_RULES = (
    "remove",
    "remove_xpath",
    "remove_text",
    "remove_after",
    "unwrap",
    "replace",
    "strip_params",
)
_ADDITIVE = (*_CUSTOM_RULES, "include", "exclude")
OPTION_KEYS = tuple(f.name for f in fields(FeedOptions))


@dataclass(frozen=True, slots=True)
class FeedConfig:
    name: str
    url: str
    options: FeedOptions  # already merged over [defaults]
    title: str | None = None


@dataclass(frozen=True, slots=True)
class FeedsConfig:
    defaults: FeedOptions = field(default_factory=FeedOptions)
    feeds: tuple[FeedConfig, ...] = ()

    def get(self, name: str) -> FeedConfig | None:
        for feed in self.feeds:
            if feed.name == name:
                return feed
        return None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(feed.name for feed in self.feeds)


Validator = Callable[[str, str], str | None]  # (kind, value) -> error message or None


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path}: {message}")


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


# Options that take one plain value: key -> (does it accept the value, what it must be).
_SCALARS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "format": (lambda v: v in ("rss", "atom", "json"), 'must be "rss", "atom" or "json"'),
    "ttl": (_positive_int, "must be a whole number greater than 0"),
    "limit": (_positive_int, "must be a whole number greater than 0"),
    "images": (
        lambda v: v in IMAGE_MODES and v != "template",
        "must be one of proxy, absolute, none",
    ),
    "fulltext": (lambda v: isinstance(v, bool), "must be true or false"),
    "auto_boilerplate": (lambda v: isinstance(v, bool), "must be true or false"),
    "image_referer": (
        lambda v: isinstance(v, str) and is_referer_policy(v),
        f"must be one of {', '.join(REFERER_POLICIES)} or an http(s) URL",
    ),
    "user_agent": (_text, "must be a non-empty string"),
}


def _tables(
    value: Any, where: str, problems: _Problems, keys: tuple[str, str], strings: bool = False
) -> list[tuple[int, dict[str, Any]]]:
    """The items of a list of small tables with exactly ``keys`` (of strings, if asked), with
    their index; every other item, or a value that is no list, is a problem."""
    shape = "{" + ", ".join(f'{k} = "…"' for k in keys) + "}"
    if not isinstance(value, list):
        problems.add(where, f"must be a list of {shape} tables")
        return []
    found: list[tuple[int, dict[str, Any]]] = []
    for i, item in enumerate(value):
        if (
            not isinstance(item, dict)
            or set(item) != set(keys)
            or (strings and not all(isinstance(v, str) for v in item.values()))
        ):
            problems.add(f"{where}[{i}]", f"must be {shape}")
        else:
            found.append((i, item))
    return found


def parse_duration(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str):
        match = _DURATION.match(value.strip())
        if match and int(match.group(1)) > 0:
            return int(match.group(1)) * _UNITS[match.group(2)]
    raise ValueError(f'{value!r} is not a duration such as "30d", "12h" or 3600')


def _strings(value: Any, path: str, problems: _Problems) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(path, "must be a list of strings")
        return ()
    return tuple(value)


def _options(
    table: Mapping[str, Any],
    path: str,
    problems: _Problems,
    check: Validator,
    pack_names: Iterable[str],
    extra_keys: tuple[str, ...] = (),
) -> FeedOptions:
    values: dict[str, Any] = {}
    for key, value in table.items():
        where = f"{path}.{key}"
        if key in extra_keys:
            continue
        if key not in OPTION_KEYS:
            known = ", ".join((*extra_keys, *OPTION_KEYS))
            problems.add(where, f"unknown key (known: {known})")
            continue
        if key in _SCALARS:
            accepts, must = _SCALARS[key]
            if accepts(value):
                values[key] = value
            else:
                problems.add(where, f"{must}, not {value!r}")
        elif key == "opencc":
            if not isinstance(value, str) or value.strip().lower() not in OPENCC_CONFIGS:
                problems.add(where, f"must be one of {', '.join(OPENCC_CONFIGS)}; not {value!r}")
            else:
                values[key] = value.strip().lower()
        elif key == "max_age":
            try:
                values[key] = parse_duration(value)
            except ValueError as exc:
                problems.add(where, str(exc))
        elif key == "fulltext_selector":
            if not isinstance(value, str) or not value.strip():
                problems.add(where, "must be a CSS selector or an XPath starting with /")
            else:
                error = check("xpath" if value.startswith("/") else "css", value)
                if error:
                    problems.add(where, error)
                values[key] = value
        elif key == "headers":
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                problems.add(where, 'must be a table of header = "value" strings')
            else:
                values[key] = tuple(value.items())
        elif key == "rules":
            pack_list = _strings(value, where, problems)
            known_packs = tuple(pack_names)
            for i, name in enumerate(pack_list):
                if name not in known_packs:
                    problems.add(
                        f"{where}[{i}]",
                        f"unknown rule pack {name!r} (known: {', '.join(known_packs)})",
                    )
            values[key] = pack_list
        elif key == "replace":
            replacements = []
            for i, item in _tables(value, where, problems, ("pattern", "with"), strings=True):
                error = check("regex", item["pattern"])
                if error:
                    problems.add(f"{where}[{i}].pattern", error)
                replacements.append(Replacement(item["pattern"], item["with"]))
            values[key] = tuple(replacements)
        elif key in ("include", "exclude"):
            filters = []
            for i, item in _tables(value, where, problems, ("field", "pattern")):
                if item["field"] not in FILTER_FIELDS:
                    problems.add(
                        f"{where}[{i}].field",
                        f"must be one of {', '.join(FILTER_FIELDS)}; not {item['field']!r}",
                    )
                error = (
                    check("regex", item["pattern"])
                    if isinstance(item["pattern"], str)
                    else ("must be a string")
                )
                if error:
                    problems.add(f"{where}[{i}].pattern", error)
                filters.append(FieldFilter(str(item["field"]), str(item["pattern"])))
            values[key] = tuple(filters)
        else:  # the selector and regex lists
            kind = {
                "remove": "css",
                "unwrap": "css",
                "remove_xpath": "xpath",
                "remove_text": "regex",
                "remove_after": "regex",
                "strip_params": "glob",
            }[key]
            patterns = _strings(value, where, problems)
            for i, pattern in enumerate(patterns):
                error = check(kind, pattern)
                if error:
                    problems.add(f"{where}[{i}]", error)
            values[key] = patterns
    return FeedOptions(**values)


def parse_feeds(
    document: Mapping[str, Any], *, source: str, check: Validator, pack_names: Iterable[str]
) -> FeedsConfig:
    """Validate [defaults] and [[feeds]] of a parsed TOML document.

    Parameters:
        document: the whole parsed file.
        source: the file name, for messages.
        check: compiles one selector/regex/glob and returns an error message or None.
        pack_names: the built-in rule packs a feed may name.

    Raises ConfigError listing every problem, one per line.
    """
    problems = _Problems()
    pack_names = tuple(pack_names)
    defaults_table = document.get("defaults", {})
    if not isinstance(defaults_table, dict):
        problems.add("defaults", "must be a table")
        defaults_table = {}
    defaults = _options(defaults_table, "defaults", problems, check, pack_names)
    feeds_list = document.get("feeds", [])
    if not isinstance(feeds_list, list):
        problems.add("feeds", "must be an array of tables: [[feeds]]")
        feeds_list = []
    feeds: list[FeedConfig] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(feeds_list):
        path = f"feeds[{index}]"
        if not isinstance(table, dict):
            problems.add(path, "must be a table")
            continue
        name = table.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            rule = "letters, digits, - and _ only, up to 64 (it becomes /feeds/<name>)"
            if name is None:
                problems.add(f"{path}.name", f"required: {rule}")
            else:
                problems.add(f"{path}.name", f"{name!r} is not a valid name: {rule}")
            name = None
        elif name in seen:
            problems.add(f"{path}.name", f"{name!r} is already used by feeds[{seen[name]}]")
        else:
            seen[name] = index
        url = table.get("url")
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            if url is None:
                problems.add(f"{path}.url", "required: an http:// or https:// feed URL")
            else:
                problems.add(f"{path}.url", f"{url!r} is not an http:// or https:// feed URL")
            url = None
        title = table.get("title")
        if title is not None and not isinstance(title, str):
            problems.add(f"{path}.title", "must be a string")
            title = None
        options = _options(
            table, path, problems, check, pack_names, extra_keys=("name", "url", "title")
        )
        if name and url:
            feeds.append(FeedConfig(name, url, options.merged_over(defaults), title))
    for key in document:
        if key not in ("server", "defaults", "feeds") and isinstance(document[key], dict | list):
            problems.add(key, "unknown table (known: [server], [defaults], [[feeds]])")
    if problems.items:
        raise ConfigError(
            f"{source}: {len(problems.items)} problem(s)\n" + "\n".join(problems.items),
            problems=tuple(f"{source}: {item}" for item in problems.items),
        )
    return FeedsConfig(defaults=defaults, feeds=tuple(feeds))
