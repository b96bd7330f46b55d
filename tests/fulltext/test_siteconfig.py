"""Site-config files (FiveFilters / ftr-site-config format): parsing, lookup, applying rules."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import lxml.html
import pytest

from proxy.fulltext.siteconfig import (
    SiteConfig,
    SiteConfigs,
    apply_strip,
    lookup_names,
    parse_site_config,
    select_body,
)
from tests.helpers import DATA

SITE_DIR = DATA / "siteconfig"


# --- parsing -----------------------------------------------------------------------------------


PARSE_CASES: list[tuple[str, str, SiteConfig]] = [
    ("empty", "", SiteConfig()),
    ("comments and blank lines", "# body: //nope\n\n   \n  # strip: //x\n", SiteConfig()),
    ("one body", "body: //article", SiteConfig(body=("//article",))),
    (
        "repeated keys keep order",
        "strip: //a\nstrip: //b\nstrip: //c",
        SiteConfig(strip=("//a", "//b", "//c")),
    ),
    (
        "spaces around name and value",
        "   strip_id_or_class   :    share-box   ",
        SiteConfig(strip_id_or_class=("share-box",)),
    ),
    (
        "value holding colons (XPath axes)",
        "strip: //h2[contains(., 'Related')]/following-sibling::*",
        SiteConfig(strip=("//h2[contains(., 'Related')]/following-sibling::*",)),
    ),
    (
        "quotes removed from strip_id_or_class and strip_image_src",
        "strip_id_or_class: 'promo'\nstrip_image_src: \"/ads/\"",
        SiteConfig(strip_id_or_class=("promo",), strip_image_src=("/ads/",)),
    ),
    ("empty value skipped", "body:\nstrip:   \n", SiteConfig()),
    ("no colon skipped", "this line has no colon\nbody: //main", SiteConfig(body=("//main",))),
    (
        "unknown directives skipped",
        "frobnicate: yes\nbody: //main\nnext_page_link: //a[@rel='next']",
        SiteConfig(body=("//main",)),
    ),
    (
        "directive names are case-insensitive",
        "BODY: //main\nStrip: //aside",
        SiteConfig(body=("//main",), strip=("//aside",)),
    ),
    (
        "invalid XPath skipped",
        "body: //div[@id='x'\nbody: //main",
        SiteConfig(body=("//main",)),
    ),
    (
        "http headers: user-agent, referer, cookie; canonical names",
        "http_header(user-agent): UA/1\nhttp_header(Referer): https://r.test/\n"
        "http_header(COOKIE): consent=yes",
        SiteConfig(
            http_headers=(
                ("User-Agent", "UA/1"),
                ("Referer", "https://r.test/"),
                ("Cookie", "consent=yes"),
            )
        ),
    ),
    (
        "the last http_header of a name wins",
        "http_header(user-agent): first\nhttp_header(user-agent): second",
        SiteConfig(http_headers=(("User-Agent", "second"),)),
    ),
    (
        "other headers are not sent",
        "http_header(authorization): Bearer x\nhttp_header(host): evil.test",
        SiteConfig(),
    ),
    (
        "replace_string(with: colon) is skipped, not misread",
        'replace_string(<a href="http://x">): <a>\nbody: //main',
        SiteConfig(body=("//main",)),
    ),
    (
        "CRLF line endings",
        "body: //main\r\nstrip: //aside\r\n",
        SiteConfig(body=("//main",), strip=("//aside",)),
    ),
    ("byte-order mark", "\ufeffbody: //main", SiteConfig(body=("//main",))),
    (
        "booleans and strings of the format are ignored",
        "prune: no\ntidy: no\nautodetect_on_failure: no\ntest_url: http://x.test/a\ntitle: //h1",
        SiteConfig(),
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for _, t, e in PARSE_CASES], ids=[i for i, _, _ in PARSE_CASES]
)
def test_parse_site_config(text: str, expected: SiteConfig) -> None:
    assert parse_site_config(text) == expected


def test_unknown_directive_is_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="proxy.fulltext.siteconfig"):
        parse_site_config("frobnicate: yes\nprune: no", source="x.test.txt")
    messages = [r.getMessage() for r in caplog.records]
    assert any("frobnicate" in m and "x.test.txt" in m for m in messages)
    assert not any("prune" in m for m in messages)  # part of the format: skipped quietly
    assert all(r.levelno == logging.DEBUG for r in caplog.records)


def test_the_shipped_test_file_parses() -> None:
    config = parse_site_config((SITE_DIR / "example.test.txt").read_text(encoding="utf-8"))
    assert config.body == ("//div[@id='story']",)
    assert config.strip == ("//p[@class='kicker']",)
    assert config.strip_id_or_class == ("more-stories",)
    assert config.strip_image_src == ("/ads/",)
    assert dict(config.http_headers) == {
        "User-Agent": "FeedscrubSiteRule/1.0 (+test)",
        "Referer": "https://referer.example.test/",
    }


# --- lookup ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "names"),
    [
        ("example.test", ["example.test.txt"]),
        ("www.example.test", ["example.test.txt"]),
        ("WWW.Example.TEST.", ["example.test.txt"]),
        ("news.example.test", ["news.example.test.txt", ".example.test.txt"]),
        ("a.b.example.test", ["a.b.example.test.txt", ".b.example.test.txt", ".example.test.txt"]),
        ("localhost", ["localhost.txt"]),
        ("127.0.0.1", ["127.0.0.1.txt", ".0.0.1.txt", ".0.1.txt"]),
        ("", []),
        ("../etc/passwd", []),
        ("a/b.test", []),
        ("x" * 201 + ".test", []),
    ],
)
def test_lookup_names(host: str, names: list[str]) -> None:
    assert lookup_names(host) == names


def test_for_url_exact_file_and_www_stripped() -> None:
    configs = SiteConfigs(str(SITE_DIR))
    exact = configs.for_url("https://www.example.test/story.html")
    assert exact is not None and exact.strip_image_src == ("/ads/",)
    assert configs.for_url("http://example.test:8080/x") == exact


def test_for_url_wildcard_matches_subdomains_only() -> None:
    configs = SiteConfigs(str(SITE_DIR))
    wildcard = configs.for_url("https://news.example.test/story.html")
    assert wildcard is not None and wildcard.strip_id_or_class == ("wildcard-junk",)
    deep = configs.for_url("https://a.b.example.test/story.html")
    assert deep == wildcard
    assert configs.for_url("https://other.test/") is None


def test_for_url_without_directory_or_bad_url() -> None:
    assert SiteConfigs("").for_url("https://example.test/") is None
    assert SiteConfigs("/nonexistent/feedscrub").for_url("https://example.test/") is None
    assert SiteConfigs(str(SITE_DIR)).for_url("not a url") is None
    assert SiteConfigs(str(SITE_DIR)).for_url("http://[::1/") is None


def test_exact_file_beats_wildcard(tmp_path: Path) -> None:
    (tmp_path / ".example.test.txt").write_text("strip: //wild\n")
    (tmp_path / "news.example.test.txt").write_text("strip: //exact\n")
    configs = SiteConfigs(str(tmp_path))
    assert configs.for_url("https://news.example.test/") == SiteConfig(strip=("//exact",))
    assert configs.for_url("https://sport.example.test/") == SiteConfig(strip=("//wild",))


def test_edits_are_picked_up_without_restart(tmp_path: Path) -> None:
    rules = tmp_path / "example.test.txt"
    rules.write_text("strip: //one\n")
    configs = SiteConfigs(str(tmp_path))
    assert configs.for_url("https://example.test/") == SiteConfig(strip=("//one",))
    rules.write_text("strip: //two\nstrip: //three\n")
    stat = rules.stat()
    os.utime(rules, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert configs.for_url("https://example.test/") == SiteConfig(strip=("//two", "//three"))


def test_empty_or_oversized_file_gives_no_rules(tmp_path: Path) -> None:
    (tmp_path / "empty.test.txt").write_text("# nothing here\n")
    (tmp_path / "huge.test.txt").write_text("strip: //x\n" * 30000)
    configs = SiteConfigs(str(tmp_path))
    assert configs.for_url("https://empty.test/") is None
    assert configs.for_url("https://huge.test/") is None


# --- applying ----------------------------------------------------------------------------------


def page(body: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(f"<html><body>{body}</body></html>")


def html_of(root: lxml.html.HtmlElement) -> str:
    return str(lxml.html.tostring(root, encoding="unicode"))


def test_strip_xpath_removes_elements_and_attributes() -> None:
    root = page('<div class="x">gone</div><p>kept <img src="a.jpg" srcset="b.jpg 2x"></p>')
    removed = apply_strip(root, SiteConfig(strip=("//div[@class='x']", "//img/@srcset")))
    out = html_of(root)
    assert removed == 2
    assert "gone" not in out and "srcset" not in out and 'src="a.jpg"' in out


def test_strip_id_or_class_is_a_substring_match() -> None:
    root = page(
        '<div class="post-share-bar">a</div><div id="share">b</div><div class="content">kept</div>'
    )
    apply_strip(root, SiteConfig(strip_id_or_class=("share",)))
    out = html_of(root)
    assert "kept" in out and ">a<" not in out and ">b<" not in out


def test_strip_id_or_class_value_cannot_break_out_of_the_xpath() -> None:
    root = page('<div class="a">kept</div>')
    apply_strip(root, SiteConfig(strip_id_or_class=("a') or true() or contains(@x, 'b",)))
    assert "kept" in html_of(root)


def test_strip_never_removes_the_page_itself() -> None:
    root = lxml.html.document_fromstring('<html><body class="page-share"><p>kept</p></body></html>')
    apply_strip(root, SiteConfig(strip=("/html", "//body"), strip_id_or_class=("share",)))
    assert "kept" in html_of(root)


def test_strip_image_src_checks_lazy_attributes_too() -> None:
    root = page(
        '<img src="/ads/1.gif"><img src="blank.gif" data-src="/ads/2.gif">'
        '<img src="/media/photo.jpg">'
    )
    apply_strip(root, SiteConfig(strip_image_src=("/ads/",)))
    assert [img.get("src") for img in root.iter("img")] == ["/media/photo.jpg"]


def test_bad_strip_expression_is_skipped() -> None:
    root = page("<p>kept</p><aside>gone</aside>")
    apply_strip(root, SiteConfig(strip=("count(//p)", "//aside")))
    assert "gone" not in html_of(root) and "kept" in html_of(root)


def test_select_body_first_matching_expression_wins() -> None:
    root = page('<main id="m"><p>main</p></main><div class="c">c1</div><div class="c">c2</div>')
    site = SiteConfig(body=("//article", "//div[@class='c']", "//main"))
    assert [el.text_content() for el in select_body(root, site)] == ["c1", "c2"]
    assert select_body(root, SiteConfig(body=("//article",))) == []
