"""Removed lines made visible (issue 12): a line auto.boilerplate takes out of a block (the
text and inline elements between two <br>s, clean/boilerplate_lines.py) is named a line with
its text by `feedscrub explain` (a subprocess) and struck in place, with its rule and reason,
on the preview page (the real server, the feed from a real upstream on 127.0.0.1); the feed
served meanwhile holds neither.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from pytest_aiohttp import AiohttpClient

from proxy.clean import DEFAULT_RULESET, FeedContext, clean_items, serialise
from proxy.explain import marked_html
from proxy.server import create_app
from tests.helpers import read_feed
from tests.upstream import Upstream

SUBSCRIBE = "Subscribe by mail: write to news@example.org for the daily digest"
REASON = (
    "A block that recurs at the edges of most items of this feed is the site&#x27;s boilerplate."
)
ITEMS = 5


def _article(i: int) -> str:
    return (
        f"<p>Article number {i} begins with its own opening sentence about subject {i}.</p>"
        f"<p>It goes on with a second paragraph that only item {i} has, long enough.</p>"
    )


def _footer(i: int) -> str:
    """China Digital Times' shape: per-item lines (author, tags), then the site's line."""
    return (
        f'<hr><p><small>© Author {i} for <a href="https://site.example/">Site</a>, 2015. |'
        f' <a href="https://site.example/p/{i}">Permalink</a><br>'
        f'Post tags: <a href="https://site.example/tag/t{i}">tag{i}</a>,'
        f' <a href="https://site.example/tag/u{i}">other{i}</a><br>{SUBSCRIBE}<br></small></p>'
    )


def _feed() -> bytes:
    entries = "".join(
        f"<item><title>t{i}</title><link>https://example.org/{i}</link><guid>g{i}</guid>"
        f"<description><![CDATA[{_article(i)}{_footer(i)}]]></description></item>"
        for i in range(ITEMS)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>f</title>'
        f"<link>https://example.org/</link><description>d</description>{entries}</channel></rss>"
    ).encode()


def test_explain_names_a_removed_line_as_a_line_with_its_text(tmp_path: Path) -> None:
    source = tmp_path / "lines.xml"
    source.write_bytes(_feed())
    done = subprocess.run(
        [sys.executable, "-m", "proxy", "explain", str(source)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.count(f"- auto.boilerplate  line  {SUBSCRIBE!r}") == ITEMS
    assert "<span>" not in out  # (it was once listed as the <span> gathering the line)
    assert f"auto.boilerplate  a line in {ITEMS} items: {SUBSCRIBE!r}" in out


def test_explain_json_names_the_line_its_kind_and_reason(tmp_path: Path) -> None:
    import json

    source = tmp_path / "lines.xml"
    source.write_bytes(_feed())
    done = subprocess.run(
        [sys.executable, "-m", "proxy", "explain", str(source), "--json", "--item", "2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    [item] = report["items"]
    assert item["number"] == 2 and SUBSCRIBE not in item["served_html"]
    [line] = [r for r in item["removals"] if r["rule"] == "auto.boilerplate"]
    assert (line["kind"], line["part"], line["tag"], line["text"]) == (
        "line",
        "line",
        "",
        SUBSCRIBE,
    )
    assert line["reason"] == html.unescape(REASON)
    assert report["boilerplate"] == [
        {"rule": "auto.boilerplate", "text": SUBSCRIBE, "items": ITEMS, "kind": "line"}
    ]
    hits = {h["rule"]: h for h in report["hits"]}
    assert hits["auto.boilerplate"] == {
        "rule": "auto.boilerplate",
        "count": ITEMS,
        "reason": html.unescape(REASON),
    }


async def test_preview_strikes_the_line_with_its_rule_and_reason(
    aiohttp_client: AiohttpClient, make_settings: Any, upstream: Upstream
) -> None:
    url = upstream.route("/lines.xml", _feed())
    client = await aiohttp_client(create_app(make_settings()))
    response = await client.get("/preview", params={"url": url})
    assert response.status == 200
    page = await response.text()
    struck = re.findall(
        r'<del class="fs-removed fs-line" data-rule="auto\.boilerplate" data-removal="\d+"'
        rf' title="{re.escape(REASON)}"><span class="fs-rule">auto\.boilerplate</span>'
        rf"{re.escape(SUBSCRIBE)}</del>",
        page,
    )
    assert len(struck) == ITEMS  # in each item's before column, in place
    # ... where the line stood: after the tags line's <br>, its own <br> left outside.
    first = page.split('id="item-1"')[1].split("</article>")[0]
    assert re.search(r"other0</a><br><del class=\"fs-removed fs-line\"", first)
    # Listed under its rule as a line, with its text and reason; the stylesheet strikes it.
    assert (
        f'<li data-rule="auto.boilerplate" title="{REASON}"><span class="rule">'
        f'auto.boilerplate</span> <code>line</code> <q class="removed-text">{SUBSCRIBE}</q>'
    ) in first
    found = page.split('<ul id="boilerplate">')[1].split("</ul>")[0]
    assert (
        f'<span class="rule">auto.boilerplate</span> a line in {ITEMS} items: <q>{SUBSCRIBE}</q>'
    ) in found
    css = await (await client.get("/preview.css")).text()
    assert "del.fs-removed.fs-line" in css and "line-through" in css
    # The feed readers get holds neither the line nor anything of the marking.
    served = await client.get("/feed", params={"url": url})
    assert served.status == 200
    body = await served.text()
    assert SUBSCRIBE not in body and "fs-removed" not in body and "boilerplate" not in body
    parsed = read_feed(await served.read())
    assert len(parsed.entries) == ITEMS
    for i, entry in enumerate(parsed.entries):
        assert "Post tags:" in entry.summary and f"Article number {i} begins" in entry.summary
        assert SUBSCRIBE not in entry.summary


def _clean_marked(htmls: list[str]) -> tuple[list[Any], dict[int, str]]:
    trees: dict[int, str] = {}
    context = FeedContext(options=DEFAULT_RULESET.options)
    results = clean_items(
        htmls,
        DEFAULT_RULESET,
        feed=context,
        marked=lambda i, tree: trees.__setitem__(i, serialise(tree)),
    )
    return results, trees


AFFILIATE = "This post contains affiliate links, see our policy page."
SPONSOR = 'Sponsored by <a href="https://shop.example/">Shop Example</a> and friends, thanks.'


def test_two_lines_from_a_blocks_start_go_whole_each_a_line() -> None:
    htmls = [
        f"<p>{AFFILIATE}<br>{SPONSOR}<br>Topic {i} is what this one is about, in its own words"
        f" and more.</p><p>Article number {i} begins with its own sentence about subject {i}.</p>"
        for i in range(ITEMS)
    ]
    results, trees = _clean_marked(htmls)
    for i, cleaned in enumerate(results):
        # Both lines went whole (the second once lost its link and kept "Sponsored by "),
        # and only they: the item's own line and paragraph are there.
        assert cleaned.html.startswith(f"<p>Topic {i} is what this one is about"), cleaned.html
        assert "Sponsored" not in cleaned.html and "shop.example" not in cleaned.html
        lines = [(r.kind, r.tag, r.text) for r in cleaned.removals if r.rule == "auto.boilerplate"]
        assert lines == [
            ("line", "", AFFILIATE),
            ("line", "", "Sponsored by Shop Example and friends, thanks."),
        ]
        # Marked in place, each between its <br>s, which stay where they were.
        assert trees[i].startswith(
            f'<p><del data-feedscrub-rule="auto.boilerplate" data-feedscrub-removal="0">'
            f'{AFFILIATE}</del><br><del data-feedscrub-rule="auto.boilerplate" '
            f'data-feedscrub-removal="1">{SPONSOR}</del><br>Topic {i}'
        ), trees[i]
    # Marking changes nothing about what is served.
    context = FeedContext(options=DEFAULT_RULESET.options)
    assert results == clean_items(htmls, DEFAULT_RULESET, feed=context)


def test_marked_html_labels_a_line_and_an_element_alike_with_reasons() -> None:
    htmls = [_article(i) + _footer(i) for i in range(ITEMS)]
    trees: dict[int, Any] = {}
    context = FeedContext(options=DEFAULT_RULESET.options)
    [cleaned, *_] = clean_items(
        htmls, DEFAULT_RULESET, feed=context, marked=lambda i, tree: trees.__setitem__(i, tree)
    )
    shown = marked_html(trees[0], cleaned.removals)
    kinds = {r.rule: r.kind for r in cleaned.removals}
    assert kinds == {"auto.boilerplate": "line", "separators.edges": "element"}
    for index, removal in enumerate(cleaned.removals):
        classes = "fs-removed fs-line" if removal.kind == "line" else "fs-removed"
        assert (
            f'<del class="{classes}" data-rule="{removal.rule}" data-removal="{index}" '
            f'title="{html.escape(removal.reason)}"><span class="fs-rule">{removal.rule}</span>'
        ) in shown


def test_text_cut_out_of_a_tail_is_marked_where_it_stood() -> None:
    # feedx's loose footer: the <hr>, its tail text and the links go; the text is a cut
    # (kind "text") out of the <hr>'s tail, which the <hr>'s own marker carries.
    html_in = '<p>Some text</p><hr/>获取更多RSS：<a href="https://feedx.net">https://feedx.net</a>'
    trees: dict[int, Any] = {}
    [cleaned] = clean_items([html_in], marked=lambda i, tree: trees.__setitem__(i, tree))
    assert "获取更多RSS" not in cleaned.html
    cut = next(r for r in cleaned.removals if r.kind == "text")
    index = cleaned.removals.index(cut)
    assert (cut.rule, cut.tag, cut.text) == ("feedx.footer", "", "获取更多RSS：")
    marked = serialise(trees[0])
    assert (
        f'<del data-feedscrub-rule="feedx.footer" data-feedscrub-removal="{index}">'
        "获取更多RSS：</del>"
    ) in marked
    # Every removal of the item is marked once, and the upstream's text reads as it was.
    for i in range(len(cleaned.removals)):
        assert marked.count(f'data-feedscrub-removal="{i}"') == 1
    assert re.sub(r"<[^>]+>", "", marked) == re.sub(r"<[^>]+>", "", html_in)
    shown = marked_html(trees[0], cleaned.removals)
    assert '<span class="fs-rule">feedx.footer</span>获取更多RSS：</del>' in shown
