"""MathML kept by the sanitiser (issue 12): presentation formulas, rebuilt from an allow-list
and proved to parse back the same; everything namespace confusion needs goes, and a
formula's text is never lost."""

from __future__ import annotations

import html
from typing import Any

import feedparser
import lxml.html
import pytest
from aiohttp.test_utils import TestClient
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pytest_aiohttp import AiohttpClient

from proxy import mathml
from proxy.clean import clean
from proxy.fulltext.extract import extract
from proxy.sanitize import sanitize_html
from proxy.server import create_app
from tests.html5view import formulas, html5_problems
from tests.test_sanitize import assert_safe
from tests.test_sanitizer_proof import load_vectors, problems
from tests.upstream import Upstream

EULER = (
    '<math display="block"><semantics><mrow><msup><mi>e</mi><mrow><mi>i</mi><mi>π</mi></mrow>'
    "</msup><mo>+</mo><mn>1</mn><mo>=</mo><mn>0</mn></mrow>"
    '<annotation encoding="application/x-tex">e^{i\\pi}+1=0</annotation></semantics></math>'
)


def text(fragment: str) -> str:
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    return str(root.text_content())


@pytest.mark.parametrize(
    "markup",
    [
        pytest.param(f"<p>Euler: {EULER}</p>", id="semantics-with-tex"),
        pytest.param(
            "<p>Let <math><mi>x</mi><mo>=</mo><mfrac><mn>1</mn><mn>2</mn></mfrac></math>.</p>",
            id="inline-fraction",
        ),
        pytest.param(
            "<math><msqrt><mi>a</mi></msqrt><mroot><mi>b</mi><mn>3</mn></mroot>"
            "<msubsup><mi>x</mi><mn>0</mn><mn>2</mn></msubsup>"
            '<munderover><mo largeop="true">∑</mo><mi>i</mi><mi>n</mi></munderover></math>',
            id="roots-scripts-limits",
        ),
        pytest.param(
            '<math><mtable><mtr><mtd columnspan="2"><mi>a</mi></mtd></mtr>'
            "<mtr><mtd><mi>b</mi></mtd><mtd><mi>c</mi></mtd></mtr></mtable></math>",
            id="matrix",
        ),
        pytest.param(
            '<math><mstyle mathcolor="#c00" mathvariant="bold"><mi>v</mi></mstyle>'
            '<menclose notation="box"><mn>4</mn></menclose><mspace width="1em"></mspace>'
            '<mpadded lspace="0.2em"><mi>y</mi></mpadded><mphantom><mi>z</mi></mphantom>'
            "<ms>str</ms><mtext>if and only if</mtext></math>",
            id="style-enclose-space-text",
        ),
        pytest.param(
            "<table><tbody><tr><td><math><mi>t</mi></math></td></tr></tbody></table>"
            '<ul><li><a href="https://ok.example/" rel="noopener noreferrer"><math><mi>l</mi>'
            "</math></a></li></ul>"
            "<h2><math><mi>h</mi></math></h2>",
            id="in-table-list-link-heading",
        ),
    ],
)
def test_formulas_are_kept_as_they_came(markup: str) -> None:
    assert sanitize_html(markup) == markup
    assert html5_problems(markup) == []
    assert len(formulas(markup)) == markup.count("<math")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            '<math display="block" style="position:fixed" class="c" id="location" '
            'href="javascript:alert(1)" onclick="alert(2)"><mi>x</mi></math>',
            '<math display="block"><mi>x</mi></math>',
            id="attributes-outside-the-list-dropped",
        ),
        pytest.param(
            '<math><mi mathbackground="url(https://evil.example/)" mathcolor="red">x</mi></math>',
            '<math><mi mathcolor="red">x</mi></math>',
            id="attribute-values-plain-only",
        ),
        pytest.param(
            "<math><mtext><b>bold</b> and <em>more</em></mtext></math>",
            "<math><mtext>bold and more</mtext></math>",
            id="html-inside-mtext-unwrapped",
        ),
        pytest.param(
            "<math><mi>a<b>b</b></mi><mo><i>+</i></mo></math>",
            "<math><mi>ab</mi><mo>+</mo></math>",
            id="element-inside-token-unwrapped",
        ),
        # Inside <mi> a parser reads <mrow> as an HTML element named mrow, which nh3
        # (ammonia) drops with its content: proxy.mathprep unwraps it first (issue 12).
        pytest.param(
            "<math><mi><mrow>n</mrow></mi></math>",
            "<math><mi>n</mi></math>",
            id="mathml-name-in-html-namespace-unwrapped-before-nh3",
        ),
        pytest.param(
            '<math><mi>a<mglyph src="https://evil.example/g.png"></mglyph></mi></math>',
            "<math><mi>a</mi></math>",
            id="mglyph-dropped",
        ),
        pytest.param(
            '<math><semantics><mi>x</mi><annotation-xml encoding="text/html"><p>html</p>'
            "</annotation-xml></semantics></math>",
            "<math><semantics><mi>x</mi></semantics></math>",
            id="annotation-xml-dropped",
        ),
        pytest.param(
            '<math><maction actiontype="toggle"><mi>a</mi><mi>b</mi></maction>'
            '<mfenced open="["><mi>c</mi></mfenced></math>',
            '<math><mi>a</mi><mi>b</mi><mrow><mo fence="true">[</mo><mi>c</mi>'
            '<mo fence="true">)</mo></mrow></math>',
            id="maction-unwrapped-mfenced-as-mrow",
        ),
        pytest.param(
            "<math><mrow><math><mi>n</mi></math></mrow></math>",
            "<math><mrow><mi>n</mi></mrow></math>",
            id="math-in-math-unwrapped",
        ),
        pytest.param(
            "<math><apply><plus></plus><ci>a</ci><cn>2</cn></apply></math>",
            "<math>a2</math>",
            id="content-mathml-becomes-text",
        ),
        pytest.param("<math-field>x+1</math-field>", "x+1", id="custom-element-lookalike"),
        pytest.param("<p>the <b>math</b> class</p>", "<p>the <b>math</b> class</p>", id="word"),
        pytest.param("<div><math></math></div>", "<div><math></math></div>", id="empty"),
        pytest.param(
            "<math><mi>x</mi><script>alert(1)</script><style>*{}</style></math>",
            "<math><mi>x</mi></math>",
            id="script-style-dropped",
        ),
    ],
)
def test_formulas_are_rebuilt_from_the_allow_list(before: str, after: str) -> None:
    assert sanitize_html(before) == after
    assert sanitize_html(after) == after


FENCE = '<mo fence="true">{}</mo>'
SEP = '<mo separator="true">{}</mo>'


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "<math><mfenced><mi>a</mi><mi>b</mi></mfenced></math>",
            "<math><mrow>"
            + FENCE.format("(")
            + "<mrow><mi>a</mi>"
            + SEP.format(",")
            + "<mi>b</mi></mrow>"
            + FENCE.format(")")
            + "</mrow></math>",
            id="defaults",
        ),
        pytest.param(
            '<math><mfenced open="[" close="]" separators=";"><mi>a</mi><mi>b</mi><mi>c</mi>'
            "</mfenced></math>",
            "<math><mrow>"
            + FENCE.format("[")
            + "<mrow><mi>a</mi>"
            + SEP.format(";")
            + "<mi>b</mi>"
            + SEP.format(";")
            + "<mi>c</mi></mrow>"
            + FENCE.format("]")
            + "</mrow></math>",
            id="open-close-separators",
        ),
        pytest.param(
            '<math><mfenced separators=" , ; "><mi>a</mi><mi>b</mi><mi>c</mi><mi>d</mi>'
            "</mfenced></math>",
            "<math><mrow>"
            + FENCE.format("(")
            + "<mrow><mi>a</mi>"
            + SEP.format(",")
            + "<mi>b</mi>"
            + SEP.format(";")
            + "<mi>c</mi>"
            + SEP.format(";")
            + "<mi>d</mi>"
            + "</mrow>"
            + FENCE.format(")")
            + "</mrow></math>",
            id="too-few-separators-last-repeats-whitespace-ignored",
        ),
        pytest.param(
            '<math><mfenced open="{" close="" separators=""><mi>x</mi><mi>y</mi></mfenced></math>',
            "<math><mrow>" + FENCE.format("{") + "<mrow><mi>x</mi><mi>y</mi></mrow></mrow></math>",
            id="empty-close-and-no-separators",
        ),
        pytest.param(
            '<math><mfenced open="|" close="|"><mi>x</mi></mfenced></math>',
            "<math><mrow>"
            + FENCE.format("|")
            + "<mi>x</mi>"
            + FENCE.format("|")
            + "</mrow></math>",
            id="one-argument-no-inner-row",
        ),
        pytest.param(
            '<math><mfenced open="&lt;" close="&gt;"></mfenced></math>',
            "<math><mrow>" + FENCE.format("&lt;") + FENCE.format("&gt;") + "</mrow></math>",
            id="no-argument-brackets-escaped",
        ),
        pytest.param(
            '<math><mfenced mathcolor="red" onclick="x()"><mfenced open="["><mi>n</mi>'
            "</mfenced><mn>2</mn></mfenced></math>",
            '<math><mrow mathcolor="red">'
            + FENCE.format("(")
            + "<mrow><mrow>"
            + FENCE.format("[")
            + "<mi>n</mi>"
            + FENCE.format(")")
            + "</mrow>"
            + SEP.format(",")
            + "<mn>2</mn></mrow>"
            + FENCE.format(")")
            + "</mrow></math>",
            id="nested-attributes-filtered",
        ),
        pytest.param(
            "<math><mi><mrow>n</mrow></mi><mo><mi>+</mi></mo>"
            "<mtext><mfrac><mi>a</mi><mi>b</mi></mfrac></mtext></math>",
            "<math><mi>n</mi><mo>+</mo><mtext>ab</mtext></math>",
            id="mathml-inside-tokens-unwrapped",
        ),
        pytest.param(
            "<math><mi><mfenced><mi>x</mi></mfenced></mi></math>",
            "<math><mi>x</mi></math>",
            id="mfenced-inside-a-token-is-html-there-text-kept",
        ),
        pytest.param(
            "<p>Let <mi>x</mi> <mo>=</mo> <mrow><mn>2</mn></mrow>.</p>",
            "<p>Let x = 2.</p>",
            id="formula-without-its-math-keeps-its-text",
        ),
        pytest.param(
            "<p>an <mfenced>aside</mfenced> word</p>",
            "<p>an aside word</p>",
            id="mfenced-outside-math-unwrapped",
        ),
    ],
)
def test_what_nh3_would_lose_is_repaired_first(before: str, after: str) -> None:
    """Issue 12: <mfenced>'s brackets live in attributes (nh3 unwrapped it: "(a, b)" read
    "ab"), and nh3 drops a MathML-named element where an HTML parser reads it as HTML
    (inside a token element, or outside <math>) with its text: proxy.mathprep repairs both
    before nh3, and proxy.mathml still rebuilds and proves the result."""
    assert sanitize_html(before) == after
    assert sanitize_html(after) == after
    assert_safe(after)
    assert problems(after) == []


@pytest.mark.parametrize(
    "markup",
    [
        pytest.param(
            "<p>the <mark>mfenced</mark> element and <code>&lt;mi&gt;</code></p>",
            id="words-and-mark",
        ),
        pytest.param(
            '<math><mrow><mo fence="true">(</mo><mi>x</mi><mo fence="true">)</mo></mrow></math>',
            id="already-an-mrow",
        ),
        pytest.param("<math><mi>x</mi><mo>+</mo><mn>1</mn></math>", id="plain-formula"),
    ],
)
def test_repair_look_alikes_stay_as_they_were(markup: str) -> None:
    assert sanitize_html(markup) == markup


@pytest.mark.parametrize(
    "vector",
    [
        '<math><mfenced open="<img src=x onerror=alert(1)>"><mi>a</mi></mfenced></math>',
        '<math><mfenced close="</mo></math><img src=x onerror=alert(1)>"><mi>a</mi></mfenced>',
        "<math><mi><mrow><mglyph><style><img src=x onerror=alert(1)></style></mglyph></mrow>"
        "</mi></math>",
        "<math><mfenced><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "<math><mtext><mi><table><mglyph><style><img src=x onerror=alert(1)>",
        '<mi><svg><style><img src=x onerror=alert(1)></style></svg></mi><a href="javascript:x">l</a>',
        "<math><mfenced><annotation-xml encoding=text/html><img src=x onerror=alert(1)>",
    ],
)
def test_repair_opens_no_mxss(vector: str) -> None:
    for output in (sanitize_html(vector), clean(vector).html):
        assert_safe(output)
        assert problems(output) == []
        assert "onerror" not in output.replace("&lt;img src=x onerror=alert(1)&gt;", "")
        assert sanitize_html(output) == output


_inside = st.sampled_from(["mrow", "mi", "mfrac", "msqrt", "mfenced", "mtext", "mn"])
_nested: st.SearchStrategy[str] = st.recursive(
    st.text(alphabet="ab1+<&=∑π ", min_size=1, max_size=4).map(
        lambda s: html.escape(s, quote=False)
    ),
    lambda inner: st.builds(
        lambda t, kids: f"<{t}>{''.join(kids)}</{t}>",
        _inside,
        st.lists(inner, min_size=1, max_size=3),
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_nested, min_size=1, max_size=3), st.booleans())
def test_nested_tokens_and_fences_never_lose_text(nodes: list[str], wrapped: bool) -> None:
    inner = "".join(nodes)
    markup = f"<p>see <math>{inner}</math> here</p>" if wrapped else f"<p>see {inner} here</p>"
    output = sanitize_html(markup)
    # Every character of the source text is there, in order (fences add brackets around).
    kept = iter(text(output))
    assert all(char in kept for char in text(markup)), (markup, output)
    assert html5_problems(output) == []
    assert sanitize_html(output) == output


MATH_VECTORS = [
    pytest.param(text, id=vid)
    for vid, text in load_vectors()
    if "<math" in text.lower() or vid.startswith("mxss")
]


@pytest.mark.parametrize("vector", MATH_VECTORS)
def test_math_mxss_vectors_die(vector: str) -> None:
    # Raw, and through the clean stage first (as served: lxml parses and serialises it).
    for output in (sanitize_html(vector), clean(vector).html):
        assert_safe(output)
        assert problems(output) == []
        assert "onerror" not in output and "evil.example" not in output
        assert sanitize_html(output) == output


def test_a_formula_that_does_not_parse_back_becomes_its_text(monkeypatch: Any) -> None:
    monkeypatch.setattr(mathml, "_parses_back", lambda _found, _expected: False)
    output = sanitize_html(f"<p>Euler: {EULER} done</p><p>x &lt; y</p>")
    assert "<math" not in output
    assert text(output) == "Euler: eiπ+1=0 done" + "x < y"
    assert_safe(output)


def test_items_too_big_to_check_keep_formulas_as_text() -> None:
    filler = "<p>" + "words " * (mathml.MAX_CHECKED_CHARS // 6) + "</p>"
    output = sanitize_html(filler + "<math><mi>a</mi><mo>&lt;</mo><mi>b</mi></math>")
    assert "<math" not in output
    assert output.endswith("a&lt;b")


# --- properties --------------------------------------------------------------------------------

_SOUP_TAGS = [
    "math",
    "mi",
    "mo",
    "mtext",
    "mrow",
    "mglyph",
    "malignmark",
    "annotation-xml encoding=text/html",
    "annotation",
    "semantics",
    "svg",
    "foreignobject",
    "desc",
    "title",
    "style",
    "textarea",
    "xmp",
    "noscript",
    "iframe",
    "table",
    "td",
    "p",
    "b",
    "a",
    "form",
    "select",
    "option",
    "img src=x onerror=alert(1)",
    "template",
    "path",
]
_soup = st.lists(
    st.one_of(
        st.builds(lambda t: f"<{t}>", st.sampled_from(_SOUP_TAGS)),
        st.builds(lambda t: f"</{t.split()[0]}>", st.sampled_from(_SOUP_TAGS)),
        st.sampled_from(
            ["x", "<!--", "-->", '<a title="', '">', "</style>", "&lt;img onerror=1&gt;", " "]
        ),
    ),
    max_size=25,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(_soup)
@example("<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>")
@example("<math><annotation-xml encoding=text/html><style><img src=x onerror=alert(1)>")
@example('<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">')
def test_namespace_soup_comes_out_safe_and_stable(markup: str) -> None:
    once = sanitize_html(markup)
    assert sanitize_html(once) == once
    assert_safe(once)
    assert problems(once) == []


_LAYOUT = ["mrow", "mfrac", "msqrt", "msub", "msup", "mstyle", "mphantom", "menclose", "mtd"]
_TOKENS = ["mi", "mn", "mo", "mtext", "ms"]
_token_text = st.text(alphabet="ab1+<&=∑π \u00a0", min_size=1, max_size=4)
_node: st.SearchStrategy[str] = st.recursive(
    st.builds(
        lambda t, s: f"<{t}>{html.escape(s, quote=False)}</{t}>",
        st.sampled_from(_TOKENS),
        _token_text,
    ),
    lambda inner: st.builds(
        lambda t, kids: f"<{t}>{''.join(kids)}</{t}>",
        st.sampled_from(_LAYOUT),
        st.lists(inner, min_size=1, max_size=3),
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_node, min_size=1, max_size=3))
def test_a_formula_never_loses_its_text(nodes: list[str]) -> None:
    markup = f"<p>see <math>{''.join(nodes)}</math> here</p>"
    output = sanitize_html(markup)
    assert text(output) == text(markup)
    assert len(formulas(output)) == 1
    assert html5_problems(output) == []
    assert sanitize_html(output) == output


# --- the reader's view ------------------------------------------------------------------------


@pytest.fixture
async def served(upstream: Upstream, aiohttp_client: AiohttpClient, make_settings: Any) -> bytes:
    item = (
        f"<p>Euler: {EULER}</p><p>and <math><mi>x</mi><mo>≤</mo><mn>2</mn></math>.</p>"
        '<p>as a pair <math><mfenced open="["><mi><mrow>n</mrow></mi><mn>1</mn></mfenced>'
        "</math>.</p>"
    )
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>m</title>'
        "<link>https://ok.example/</link><description>d</description><item><title>f</title>"
        "<link>https://ok.example/f</link><guid>f</guid>"
        f"<content:encoded><![CDATA[{item}]]></content:encoded></item></channel></rss>"
    ).encode()
    url = upstream.route("/math.rss", feed, content_type="application/rss+xml")
    client: TestClient[Any, Any] = await aiohttp_client(create_app(make_settings()))
    response = await client.get("/feed", params={"url": url})
    assert response.status == 200
    return await response.read()


@pytest.mark.parametrize("reader_sanitises", [False, True])
async def test_feedparser_reads_the_formulas(served: bytes, reader_sanitises: bool) -> None:
    parsed = feedparser.parse(served, sanitize_html=reader_sanitises)
    assert not parsed.bozo
    content = parsed.entries[0].content[0].value
    kept = formulas(content)
    assert len(kept) == 3
    assert "".join(kept[0].itertext()).startswith("eiπ+1=0")
    assert "".join(kept[1].itertext()) == "x≤2"
    assert "".join(kept[2].itertext()) == "[n,1)"  # mfenced's brackets, the mi's n (issue 12)
    assert problems(content) == []


def test_full_text_keeps_formulas() -> None:
    # Issue 12: the extracted article keeps its MathML through readability, clean and
    # the sanitiser (it used to lose formulas with their content).
    para = "<p>" + "Real article text, with commas, and enough words to count. " * 8 + "</p>"
    page = (
        f"<html><body><nav><a href='/'>home</a></nav><article>{para}<p>The identity "
        f"{EULER} holds for every reader who cares to check it by hand.</p>{para}"
        "</article></body></html>"
    )
    article = extract(page, "https://ok.example/a", site=None, selector=None)
    assert article is not None
    served = clean(article).html
    kept = formulas(served)
    assert len(kept) == 1 and "".join(kept[0].itertext()).startswith("eiπ+1=0")
    assert problems(served) == []
