"""The README cannot fall behind the code: every setting, pack, config key, filter field and
route is documented there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from proxy.clean import PACKS
from proxy.config import OPTIONS
from proxy.feedconfig import FILTER_FIELDS, OPTION_KEYS
from proxy.server.routes import ROUTES

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    match = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^## )", README, re.S | re.M)
    assert match, f"README has no section {title!r}"
    return match.group(1)


@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: o.env)
def test_every_setting_is_in_the_settings_table(option: object) -> None:
    env = option.env  # type: ignore[attr-defined]
    assert re.search(rf"^\| `{env}` \|", README, re.M), f"{env} missing from README's table"


@pytest.mark.parametrize("pack", sorted(PACKS))
def test_every_rule_pack_is_documented(pack: str) -> None:
    assert re.search(rf"^\| `{pack}` \|", _section("Rule packs"), re.M), pack


@pytest.mark.parametrize("key", ["name", "url", "title", *OPTION_KEYS])
def test_every_feed_config_key_is_documented(key: str) -> None:
    assert re.search(rf"^\| `{key}` \|", _section("Config file"), re.M), key


@pytest.mark.parametrize("field", FILTER_FIELDS)
def test_every_filter_field_is_documented(field: str) -> None:
    assert f"`{field}`" in _section("Item filters"), field


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.path)  # type: ignore[attr-defined]
def test_every_route_is_documented(route: object) -> None:
    path = re.sub(r"\{(\w+)\}", r"<\1>", route.path)  # type: ignore[attr-defined]
    assert f"`GET {path}" in _section("Endpoints"), path


def test_quick_start_test_command_is_what_ci_runs() -> None:
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    command = ci.strip().splitlines()[-1]
    assert f"\n{command}\n" in README


def _layout() -> str:
    match = re.search(r"^## Layout\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert match, "README has no Layout section"
    return match.group(1)


def test_layout_table_names_only_what_exists() -> None:
    root = Path(__file__).parent.parent
    named = set(re.findall(r"`(proxy/[^`]+)`", _layout()))
    assert named
    for path in named:
        assert (root / path).exists(), f"README's layout names {path}, which is not there"


def test_layout_table_names_every_module() -> None:
    """Every module of proxy/ is in the table: top-level ones by path, the modules of a
    package by file name in the package's row."""
    proxy = Path(__file__).parent.parent / "proxy"
    rows = {
        match[0]: match[1]
        for match in re.findall(r"^\| `(proxy/[^`|]+)`[^|]*\| (.*) \|$", _layout(), re.M)
    }
    text = _layout()
    for entry in sorted(proxy.iterdir()):
        if entry.name in ("__init__.py", "__main__.py", "__pycache__"):
            continue
        if entry.is_file() and entry.suffix == ".py":
            assert f"`proxy/{entry.name}`" in text, f"README's layout misses proxy/{entry.name}"
        elif entry.is_dir():
            row = rows.get(f"proxy/{entry.name}/")
            assert row is not None, f"README's layout has no row for proxy/{entry.name}/"
            for module in sorted(entry.glob("*.py")):
                if module.name != "__init__.py":
                    assert f"`{module.name}`" in row, (
                        f"README's layout row for proxy/{entry.name}/ misses {module.name}"
                    )
