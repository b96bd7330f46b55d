"""The `formulas` pack: a formula's hidden visual duplicate goes, the MathML and all content stay."""

from __future__ import annotations

import pytest

from proxy.clean import clean

KATEX = (
    '<p>Energy <span class="katex"><span class="katex-mathml"><math><semantics><mrow>'
    "<mi>E</mi><mo>=</mo><mi>m</mi><msup><mi>c</mi><mn>2</mn></msup></mrow>"
    '<annotation encoding="application/x-tex">E=mc^2</annotation></semantics></math></span>'
    '<span class="katex-html" aria-hidden="true"><span class="base"><span class="mord">E</span>'
    '<span class="mrel">=</span><span class="mord">m</span><span class="mord">c'
    '<span class="msupsub">2</span></span></span></span></span> is famous.</p>'
)
MEDIAWIKI = (
    '<p>So <span class="mwe-math-element"><span class="mwe-math-mathml-inline" '
    'style="display: none;"><math alttext="x^2"><msup><mi>x</mi><mn>2</mn></msup></math>'
    '</span><img src="https://wikimedia.org/api/rest_v1/media/math/render/svg/abc" '
    'class="mwe-math-fallback-image-inline" aria-hidden="true" alt="x^2"></span> holds.</p>'
)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            KATEX,
            "<p>Energy <math><semantics><mrow><mi>E</mi><mo>=</mo><mi>m</mi><msup><mi>c</mi>"
            '<mn>2</mn></msup></mrow><annotation encoding="application/x-tex">E=mc^2'
            "</annotation></semantics></math> is famous.</p>",
            id="katex-html-goes",
        ),
        pytest.param(
            MEDIAWIKI,
            '<p>So <math alttext="x^2"><msup><mi>x</mi><mn>2</mn></msup></math> holds.</p>',
            id="mediawiki-fallback-image-goes",
        ),
        # Look-alikes that stay.
        pytest.param(
            '<p><span aria-hidden="true">★</span> Rated <math><mi>x</mi></math> twice.</p>',
            '<p>★ Rated <math><mi>x</mi></math> twice.</p>',
            id="hidden-icon-in-a-paragraph-with-a-formula-stays",
        ),
        pytest.param(
            '<p>Text <span class="katex-html" aria-hidden="true">E=mc2</span> only.</p>',
            "<p>Text E=mc2 only.</p>",
            id="hidden-rendering-without-mathml-stays",
        ),
        pytest.param(
            "<div><span><math><mi>y</mi></math></span><p>The next paragraph.</p></div>",
            "<div><math><mi>y</mi></math><p>The next paragraph.</p></div>",
            id="formula-without-duplicate-untouched",
        ),
    ],
)
def test_hidden_renderings(before: str, after: str) -> None:
    assert clean(before).html == after


def test_removal_is_attributed() -> None:
    removals = clean(KATEX).removals
    assert [r.rule for r in removals] == ["formulas.hidden_renderings"]
    assert removals[0].text == "E=mc2"


@pytest.mark.parametrize(
    "markup",
    [
        pytest.param(
            '<p>a <math><mi>x</mi><mspace width="1em"></mspace><mi>y</mi></math> b</p>',
            id="empty-mspace-is-spacing",
        ),
        pytest.param(
            "<p>c <math><mrow><mi>f</mi><mo></mo><mi>x</mi></mrow></math> d</p>",
            id="empty-operator",
        ),
    ],
)
def test_empty_elements_of_a_formula_stay(markup: str) -> None:
    """The `empty` pack leaves a formula's layout elements alone, as it leaves code's."""
    assert clean(markup).html == markup
