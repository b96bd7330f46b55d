"""Code and content are sacred (issue 12): what every pack and the sanitiser must leave alone."""

from __future__ import annotations

import lxml.html
import pytest

from proxy.anchors import item_key
from proxy.clean import clean
from proxy.sanitize import safe_image_style, sanitize_html

HIGHLIGHTED = (
    '<pre class="highlight"><code class="language-python">'
    '<span class="k">def</span><span class="w">\n\t</span><span class="nf">f</span>'
    '<span class="p">():</span><span class="w">\n    </span><span class="k">return</span>'
    '<span class="w"> </span><span class="mi">1</span>\n</code></pre>'
)


def code_text(html: str) -> list[str]:
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    return [str(code.text_content()) for code in root.iter("pre", "code")]


@pytest.mark.parametrize(
    "html",
    [
        pytest.param(HIGHLIGHTED, id="highlighted-pre-with-whitespace-spans"),
        pytest.param(
            "<p>Run <code><span class='n'>x</span><span> </span>=<span>\t</span>1</code> now.</p>",
            id="inline-code-with-empty-spans",
        ),
        pytest.param("<pre>  indented\n\n\ttabbed   \n</pre>", id="plain-pre"),
    ],
)
def test_code_text_is_unchanged_byte_for_byte(html: str) -> None:
    cleaned = clean("<p>Intro.</p>" + html).html
    assert code_text(cleaned) == code_text(html)


def test_highlighting_classes_are_kept_as_plain_tokens() -> None:
    cleaned = clean(HIGHLIGHTED).html
    assert '<code class="language-python">' in cleaned
    assert '<span class="k">def</span><span class="w">\n\t</span>' in cleaned
    assert 'class="x" onclick' not in sanitize_html('<code class="x" onclick="a()">y</code>')
    assert sanitize_html('<code class="a &quot;b">y</code>') == '<code class="a">y</code>'


def test_spans_outside_code_still_go() -> None:
    assert clean('<p>a <span class="x">b</span> c</p>').html == "<p>a b c</p>"


@pytest.mark.parametrize(
    ("style", "kept"),
    [
        ("height: 1em; max-height: 1em;", "height: 1em"),  # WordPress emoji
        ("width:100px;height:50px", "width: 100px; height: 50px"),
        ("vertical-align: middle; max-width: 100%", "vertical-align: middle; max-width: 100%"),
        ("height: 1em !important", "height: 1em"),
        ("background: url(javascript:alert(1)); width: 10px", "width: 10px"),
        ("width: expression(alert(1))", None),
        ("position: fixed; top: 0", None),
        ("width: calc(100% - 1px)", None),
    ],
)
def test_image_style_keeps_only_safe_presentational_properties(
    style: str, kept: str | None
) -> None:
    assert safe_image_style(style) == kept


def test_emoji_keep_their_height_and_other_elements_lose_style() -> None:
    html = (
        '<p style="color:red">Hi <img class="wp-smiley" alt="🙂" src="https://s.w.org/e.png"'
        ' style="height: 1em; max-height: 1em;"></p>'
    )
    assert clean(html).html == (
        '<p>Hi <img alt="🙂" src="https://s.w.org/e.png" style="height: 1em"></p>'
    )


@pytest.mark.parametrize(
    "html",
    [
        pytest.param(
            "<table><tr><td>a</td><td></td></tr><tr><td></td><td>b</td></tr></table>",
            id="table-with-empty-cells",
        ),
        pytest.param("<p>Roses are red,<br>violets are blue,<br><br>sugar is sweet</p>", id="poem"),
        pytest.param(
            '<figure><img src="https://a.example/c.png" alt="c"><figcaption>A comic</figcaption>'
            "</figure>",
            id="figure-with-caption",
        ),
        pytest.param('<p><img src="https://a.example/comic.png" alt="strip"></p>', id="image-only"),
        pytest.param(
            '<p>Text<sup><a href="#fn1" id="ref1">1</a></sup>.</p><ol><li id="fn1">Note. '
            '<a href="#ref1">↩</a></li></ol>',
            id="footnotes",
        ),
        pytest.param(
            "<p>This article is about advertising: sponsored posts and ads are everywhere.</p>",
            id="sentence-about-ads",
        ),
    ],
)
def test_look_alikes_stay(html: str) -> None:
    cleaned = clean(html).html
    assert cleaned == sanitize_html(html, item_key=item_key(html))  # footnote ids: prefixed
    assert clean(html).removals == ()


def test_text_that_the_parser_put_inside_a_wbr_is_kept() -> None:
    """libxml2 nests the text after an unclosed <wbr> in it (a real netease.com item)."""
    cleaned = clean("<p><wbr>李白曾说自己是李暠九世孙。</p><p>b</p>")
    assert "李白曾说自己是李暠九世孙。" in cleaned.html
    assert all(r.rule != "empty.elements" for r in cleaned.removals)


# --- generic evidence: redirect wrappers unwrapped to their target ------------------------


@pytest.mark.parametrize(
    ("href", "target"),
    [
        ("https://t.umblr.com/redirect?z=https%3A%2F%2Fa.example%2Fx&t=abc", "https://a.example/x"),
        ("https://href.li/?https://b.example/p", "https://b.example/p"),
        ("https://www.google.com/url?q=https://c.example/&amp;sa=D", "https://c.example/"),
        ("https://l.facebook.com/l.php?u=https%3A%2F%2Fd.example%2F&h=AT0", "https://d.example/"),
        ("https://link.zhihu.com/?target=https%3A//github.com/a", "https://github.com/a"),
        # The target passes the same checks as any link: else the wrapper stays.
        ("https://l.facebook.com/l.php?u=javascript%3Aalert(1)", None),
        ("https://l.facebook.com/l.php?u=%C2%A0javascript%3Aalert(1)", None),
        ("https://link.zhihu.com/?target=http%3A//127.0.0.1/admin", None),
        ("https://link.zhihu.com/?target=http%3A//%5B::1%5D/", None),
        ("https://t.umblr.com/redirect?z=", None),
        # Look-alikes: the wrapper hosts' other pages, and links that merely carry a URL.
        ("https://www.google.com/search?q=https://e.example/", None),
        ("https://www.tumblr.com/redirect?z=https://f.example/", None),
        ("https://g.example/share?url=https://h.example/", None),
    ],
)
def test_redirect_wrappers_are_unwrapped_to_a_safe_target(href: str, target: str | None) -> None:
    cleaned = clean(f'<p><a href="{href}">link</a></p>')
    [link] = lxml.html.fragment_fromstring(cleaned.html, create_parent="div").iter("a")
    if target is None:
        assert link.get("href") == lxml.html.fromstring(f'<a href="{href}">x</a>').get("href")
        assert not [c for c in cleaned.links if c.rule == "tracking.redirect_wrappers"]
    else:
        assert link.get("href") == target
        [change] = [c for c in cleaned.links if c.rule == "tracking.redirect_wrappers"]
        assert change.new == target
