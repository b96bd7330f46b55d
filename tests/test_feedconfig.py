"""The feeds config: parsing, merging over [defaults], and every problem named by its path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from proxy.errors import ConfigError
from proxy.feedconfig import FeedOptions, FieldFilter, Replacement, parse_duration
from proxy.reload import load_feeds

ROOT = Path(__file__).parent.parent


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "feedscrub.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_example_config_is_valid() -> None:
    loaded = load_feeds(str(ROOT / "feedscrub.example.toml"))
    assert loaded.feeds.names == ("rfi", "wptavern", "medium-engineering")
    medium = loaded.feeds.get("medium-engineering")
    assert medium is not None and medium.options.format == "atom" and medium.options.limit == 20


def test_feed_options_merge_over_defaults(tmp_path: Path) -> None:
    loaded = load_feeds(
        write(
            tmp_path,
            """
[defaults]
ttl = 600
remove = [".ad"]
strip_params = ["utm_*"]
headers = { "Accept-Language" = "zh" }
[[feeds]]
name = "a"
url = "https://a.test/feed"
ttl = 60
remove = [".promo"]
headers = { "X-Token" = "1" }
replace = [{ pattern = "foo", with = "bar" }]
include = [{ field = "title", pattern = "news" }]
[[feeds]]
name = "b"
url = "https://b.test/feed"
rules = ["feedx", "share"]
""",
        )
    )
    a, b = loaded.feeds.feeds
    assert a.options.ttl == 60 and b.options.ttl == 600
    assert a.options.remove == (".ad", ".promo") and b.options.remove == (".ad",)
    assert a.options.strip_params == ("utm_*",)
    assert dict(a.options.headers) == {"Accept-Language": "zh", "X-Token": "1"}
    assert a.options.replace == (Replacement("foo", "bar"),)
    assert a.options.include == (FieldFilter("title", "news"),)
    assert loaded.rulesets["b"].packs == ("feedx", "share")
    assert len(loaded.rulesets["a"].custom_rules) == 3  # remove x2, strip_params
    assert loaded.rulesets["a"].fingerprint != loaded.rulesets["b"].fingerprint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[feeds]]\nname = "a"\nurl = "https://a.test/"\nremove = ["div["]',
            'feeds[0].remove[0]: invalid CSS selector "div["',
        ),
        (
            '[[feeds]]\nname = "a"\nurl = "https://a.test/"\nremove_xpath = ["//div[@"]',
            "feeds[0].remove_xpath[0]: invalid XPath",
        ),
        (
            '[[feeds]]\nname = "a"\nurl = "https://a.test/"\nremove_text = ["(unclosed"]',
            "feeds[0].remove_text[0]: invalid regex",
        ),
        (
            '[[feeds]]\nname = "a"\nurl = "https://a.test/"\nreplace = [{pattern = "[", with = ""}]',
            "feeds[0].replace[0].pattern: invalid regex",
        ),
        (
            '[[feeds]]\nname = "a"\nurl = "https://a.test/"\nreplace = [{pattern = "x"}]',
            "feeds[0].replace[0]: must be {pattern",
        ),
        (
            '[[feeds]]\nname = "a"\nurl = "https://a.test/"\nexclude = [{field = "body", pattern = "x"}]',
            "feeds[0].exclude[0].field: must be one of title, content, author, category, link",
        ),
        (
            '[[feeds]]\nname = "a"\nurl = "https://a.test/"\nrules = ["nope"]',
            "feeds[0].rules[0]: unknown rule pack 'nope'",
        ),
        (
            '[[feeds]]\nname = "a"\nurl = "https://a.test/"\nttl = "soon"',
            "feeds[0].ttl: must be a whole number greater than 0",
        ),
        (
            '[[feeds]]\nname = "a"\nurl = "https://a.test/"\nmax_age = "a month"',
            "feeds[0].max_age: 'a month' is not a duration",
        ),
        (
            '[[feeds]]\nname = "a"\nurl = "https://a.test/"\nformat = "pdf"',
            'feeds[0].format: must be "rss", "atom" or "json"',
        ),
        (
            '[[feeds]]\nname = "a"\nurl = "https://a.test/"\ncolour = "red"',
            "feeds[0].colour: unknown key",
        ),
        ('[[feeds]]\nname = "a b"\nurl = "https://a.test/"', "feeds[0].name: 'a b' is not a valid name"),
        ('[[feeds]]\nurl = "https://a.test/"', "feeds[0].name: required: letters"),
        ('[[feeds]]\nname = "a"\nurl = "ftp://a.test/"', "feeds[0].url: 'ftp://a.test/' is not an http"),
        ('[[feeds]]\nname = "a"', "feeds[0].url: required: an http"),
        (
            '[[feeds]]\nname = "a"\nurl = "https://a.test/"\n[[feeds]]\nname = "a"\nurl = "https://b.test/"',
            "feeds[1].name: 'a' is already used by feeds[0]",
        ),
        ('[defaults]\nremove = "div["', "defaults.remove[0]: invalid CSS selector"),
        ('[defaults]\nheaders = ["x"]', "defaults.headers: must be a table"),
        ("[extras]\nx = 1", "extras: unknown table"),
    ],
)
def test_problems_are_named_by_path(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_feeds(write(tmp_path, text))
    assert expected in caught.value.message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_feeds(
            write(
                tmp_path,
                """
[[feeds]]
name = "a"
url = "https://a.test/"
remove = ["div[", "p"]
remove_text = ["("]
[[feeds]]
url = "https://b.test/"
""",
            )
        )
    lines = caught.value.message.splitlines()
    assert lines[0].endswith("3 problem(s)")
    assert [line.split(":")[0] for line in lines[1:]] == [
        "feeds[0].remove[0]",
        "feeds[0].remove_text[0]",
        "feeds[1].name",
    ]


def test_check_config_command_prints_every_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[server]\nttl = "x"\n[[feeds]]\nname = "a"\nurl = "https://a.test/"\nremove = ["div["]\n',
    )
    done = subprocess.run(
        [sys.executable, "-m", "proxy", "check-config", path],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert "server.ttl" in done.stderr
    assert 'feeds[0].remove[0]: invalid CSS selector "div["' in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30d", 30 * 86400),
        ("12h", 43200),
        ("90m", 5400),
        ("2w", 14 * 86400),
        (3600, 3600),
        ("45", 45),
    ],
)
def test_durations(value: object, seconds: int) -> None:
    assert parse_duration(value) == seconds


def test_no_custom_rules_by_default() -> None:
    assert not FeedOptions().has_custom_rules()
