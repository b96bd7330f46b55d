"""The preview page in a real browser: Debian's chromium and chromium-driver, driven by
Selenium, headless. No browser is downloaded at run time: the paths below or a skip.

The app runs in this test's event loop and Selenium blocks (the driver waits for page
loads), so each test drives the browser from one worker thread while the loop serves.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from proxy.server import create_app
from tests.helpers import seed_feed
from tests.upstream import Upstream

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402


def _left_the_document(old: Any) -> Callable[[Any], bool]:
    """Like expected_conditions.staleness_of, but mid-navigation chromedriver may answer
    "Node with given id does not belong to the document" (a plain WebDriverException, not
    a StaleElementReferenceException): that too means the old page is gone."""

    def check(_driver: Any) -> bool:
        try:
            old.is_enabled()
        except WebDriverException:  # StaleElementReferenceException is one too
            return True
        return False

    return check

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        "Debian's chromium and chromium-driver are not installed (.ci/run installs them)",
        allow_module_level=True,
    )

# An item whose title and HTML try every way of running a script; each one would set the flag.
XSS_FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>xss &lt;script&gt;window.__xss=1&lt;/script&gt;</title>
<link>https://example.org/</link><description>d</description>
<item><title>&lt;img src=x onerror="window.__xss=1"&gt;&lt;script&gt;window.__xss=2&lt;/script&gt;</title>
<link>javascript:window.__xss=3</link><guid>x1</guid>
<description><![CDATA[<p>text</p><script>window.__xss=4</script><img src="x" onerror="window.__xss=5">
<svg onload="window.__xss=6"></svg><iframe srcdoc="<script>parent.__xss=7</script>"></iframe>
<a href="javascript:window.__xss=8" id="jslink">click</a><style>body{background:red}</style>
<div data-selfpromo-app onclick="window.__xss=9">x</div>
<math><mi xlink:href="javascript:window.__xss=10">m</mi></math>
<noscript><p title="</noscript><img src=x onerror=window.__xss=11>"></noscript>]]></description>
</item></channel></rss>
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    service = webdriver.ChromeService(executable_path=str(CHROMEDRIVER))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def serve(
    aiohttp_client: AiohttpClient, make_settings: Any
) -> Callable[..., Awaitable[TestClient[Any, Any]]]:
    async def start(**changes: Any) -> TestClient[Any, Any]:
        # No public URL: image and self links come from the Host the browser sends.
        return await aiohttp_client(create_app(make_settings(public_url="", **changes)))

    return start


def _submit(driver: Any) -> None:
    """Press the form's "Try" button and wait for the new page (a plain GET form)."""
    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, "#try button[type=submit]").click()
    WebDriverWait(driver, 20).until(_left_the_document(old))


def _screenshot(driver: Any, path: Path) -> None:
    """The whole page, not only the first screen: the window is made as tall as the page."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(int(height) + 120, 6000))
    driver.save_screenshot(str(path))
    driver.set_window_size(1400, 1000)


def _texts(driver: Any, selector: str) -> list[str]:
    return [element.text for element in driver.find_elements(By.CSS_SELECTOR, selector)]


async def test_seed_preview_shows_columns_rules_and_counts(
    browser: Any, serve: Any, upstream: Upstream, tmp_path: Path
) -> None:
    upstream.serve_file("/seed.jpg", "images/red.png", content_type="image/png")
    url = upstream.route("/rfi.xml", seed_feed(image_base=upstream.base_url))
    client = await serve()
    page = str(client.make_url("/preview").with_query(url=url))
    page = page

    def drive() -> None:
        browser.get(page)

        items = browser.find_elements(By.CSS_SELECTOR, "article.item")
        assert len(items) == 2
        first = items[0]
        assert first.find_element(By.CSS_SELECTOR, "section.before h3").text.startswith("Before")
        assert first.find_element(By.CSS_SELECTOR, "section.after h3").text.startswith("After")
        # Removed parts are shown in place in the before column, labelled with their rule...
        labels = [e.text for e in first.find_elements(By.CSS_SELECTOR, "section.before .fs-rule")]
        for rule in ("feedx.footer", "share.endpoint_links", "share.widgets"):
            assert rule in labels, (rule, labels)
        before = first.find_element(By.CSS_SELECTOR, "section.before").text
        after = first.find_element(By.CSS_SELECTOR, "section.after").text
        assert "获取更多RSS" in before and "分享" in before
        assert "获取更多RSS" not in after and "分享" not in after
        assert "布林肯原本计划二月份访华" in before and "布林肯原本计划二月份访华" in after
        # ... the two selfpromo divs each in its own marker (the sanitiser drops their data-*
        # attributes; the removal list below names them),
        assert labels.count("share.widgets") == 2
        removals = first.find_elements(By.CSS_SELECTOR, "ul.removals > li")
        listed = {
            (li.get_attribute("data-rule"), li.find_element(By.CSS_SELECTOR, ".rule").text)
            for li in removals
        }
        assert all(rule == text for rule, text in listed)
        text = "\n".join(li.text for li in removals)
        assert "<div data-selfpromo-newsletter>" in text and "<div data-selfpromo-app>" in text
        for endpoint in (
            "facebook.com/dialog/share",
            "whatsapp://send",
            "web.whatsapp.com/send",
            "twitter.com/intent/tweet",
        ):
            assert endpoint in text, endpoint
        assert any(
            li.get_attribute("data-rule") == "spans.bare" and "unwrapped" in li.text
            for li in removals
        )
        # ... and counted per rule for the whole feed.
        hits = {
            row.get_attribute("data-rule"): int(row.find_element(By.CSS_SELECTOR, ".count").text)
            for row in browser.find_elements(By.CSS_SELECTOR, "#hits tbody tr[data-rule]")
        }
        assert hits["feedx.footer"] == 6 and hits["share.widgets"] == 2
        assert hits["share.endpoint_links"] >= 4 and hits["spans.bare"] > 0
        # The stylesheet applied (no inline CSS): markers are styled blocks, the columns side by side.
        marker = first.find_element(By.CSS_SELECTOR, "section.before del.fs-removed")
        assert marker.value_of_css_property("display") == "block"
        left = first.find_element(By.CSS_SELECTOR, "section.before").location["x"]
        right = first.find_element(By.CSS_SELECTOR, "section.after").location["x"]
        assert right > left
        # Images load, through the proxy.
        img = first.find_element(By.CSS_SELECTOR, "section.after img")
        assert "/img/" in img.get_attribute("src")
        _screenshot(browser, tmp_path / "preview-seed.png")
        assert (tmp_path / "preview-seed.png").stat().st_size > 10_000

    await asyncio.to_thread(drive)


async def test_trying_remove_text_changes_the_item_and_shows_toml(
    browser: Any, serve: Any, upstream: Upstream, tmp_path: Path
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await serve()
    page = str(client.make_url("/preview").with_query(url=url))

    def drive() -> None:
        browser.get(page)
        assert browser.find_elements(By.ID, "toml") == []
        after = browser.find_element(By.CSS_SELECTOR, "#item-1 section.after").text
        assert "布林肯原本计划二月份访华" in after

        field = browser.find_element(By.ID, "f-remove_text")
        field.send_keys("布林肯原本计划")
        _submit(browser)

        after = browser.find_element(By.CSS_SELECTOR, "#item-1 section.after").text
        assert "布林肯原本计划二月份访华" not in after
        assert "布林肯此行北京" in after  # only the matching paragraph went
        labels = _texts(browser, "#item-1 section.before .fs-rule")
        assert "custom.remove_text" in labels
        toml = browser.find_element(By.ID, "toml").text
        assert toml.startswith("[[feeds]]") and 'remove_text = ["布林肯原本计划"]' in toml
        assert f'url = "{url}"' in toml
        assert (
            browser.find_element(By.ID, "f-remove_text").get_attribute("value") == "布林肯原本计划"
        )
        assert upstream.hits["/rfi.xml"] == 1  # tried on the cached body
        _screenshot(browser, tmp_path / "preview-tried.png")

        bad = browser.find_element(By.ID, "f-remove_text")
        bad.clear()
        bad.send_keys("([")
        _submit(browser)
        assert "invalid regex" in browser.find_element(By.ID, "error-remove_text").text

    await asyncio.to_thread(drive)


async def test_xss_item_runs_no_script(
    browser: Any, serve: Any, upstream: Upstream, tmp_path: Path
) -> None:
    url = upstream.route("/xss.xml", XSS_FEED)
    client = await serve()
    page = str(client.make_url("/preview").with_query(url=url))

    def drive() -> None:
        browser.get(page)
        time.sleep(0.5)  # onerror/onload handlers would have run by now
        assert browser.execute_script(
            "return window.__xss === undefined && parent.__xss === undefined"
        )
        title = browser.find_element(By.CSS_SELECTOR, "#item-1 h2").text
        assert "<script>window.__xss=2</script>" in title  # shown as text
        assert (
            browser.find_elements(By.CSS_SELECTOR, "#items script, #items iframe, #items svg") == []
        )
        for link in browser.find_elements(By.CSS_SELECTOR, "#items a[href]"):
            assert not link.get_attribute("href").lower().startswith("javascript:")
        _screenshot(browser, tmp_path / "preview-xss.png")
        assert (tmp_path / "preview-xss.png").stat().st_size > 0

    await asyncio.to_thread(drive)


async def test_index_form_shows_the_link_to_copy_then_the_preview(
    browser: Any, serve: Any, upstream: Upstream, tmp_path: Path
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await serve()
    page = str(client.make_url("/"))

    def drive() -> None:
        browser.get(page)
        browser.find_element(By.NAME, "url").send_keys(url)
        old = browser.find_element(By.TAG_NAME, "html")
        browser.find_element(By.CSS_SELECTOR, "button[formaction='/']").click()
        WebDriverWait(browser, 20).until(_left_the_document(old))
        link = browser.find_element(By.ID, "feed-link").text
        assert link.endswith("/feed?url=" + url.replace(":", "%3A").replace("/", "%2F"))
        assert "format=" not in link
        _screenshot(browser, tmp_path / "index.png")
        old = browser.find_element(By.TAG_NAME, "html")
        browser.find_element(By.ID, "preview-link").click()
        WebDriverWait(browser, 20).until(_left_the_document(old))
        assert len(browser.find_elements(By.CSS_SELECTOR, "article.item")) == 2

    await asyncio.to_thread(drive)


async def test_a_removed_line_is_struck_inline_and_labelled_like_an_element(
    browser: Any, serve: Any, upstream: Upstream
) -> None:
    from tests.test_preview_lines import SUBSCRIBE, _feed

    url = upstream.route("/lines.xml", _feed())
    client = await serve()
    page = str(client.make_url("/preview").with_query(url=url))

    def drive() -> None:
        browser.get(page)
        line = browser.find_element(By.CSS_SELECTOR, "#item-1 section.before del.fs-line")
        assert line.text.endswith(SUBSCRIBE)
        assert line.value_of_css_property("display") == "inline"  # in its block, as a line
        assert "line-through" in line.value_of_css_property("text-decoration-line")
        assert line.get_attribute("title").startswith("A block that recurs")  # its reason
        label = line.find_element(By.CSS_SELECTOR, ".fs-rule")
        assert label.text == "auto.boilerplate"
        element = browser.find_element(
            By.CSS_SELECTOR, "#item-1 section.before del.fs-removed:not(.fs-line)"
        )
        # The same look as a removed element's marker: colours and outline alike.
        for name in ("background-color", "outline-style", "outline-color"):
            assert line.value_of_css_property(name) == element.value_of_css_property(name)
        after = browser.find_element(By.CSS_SELECTOR, "#item-1 section.after").text
        assert SUBSCRIBE not in after and "Post tags:" in after

    await asyncio.to_thread(drive)
