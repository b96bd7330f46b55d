"""Loading: environment beats config file beats default; loaded once, frozen.

``load()`` is called once at the edge (``cli``); everything below receives a ``Settings``.
Nothing here reads ``os.environ`` at import time, so tests pass ``environ={...}`` instead of
patching the process. Every problem is reported once, with where the value came from.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from proxy.config.options import OPTIONS, OPTIONS_BY_NAME, Option, Settings
from proxy.errors import ConfigError


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
