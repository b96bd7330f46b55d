"""MathML repaired before nh3, where nh3 would lose a formula's text. Does no I/O; called by
proxy.sanitize on its lxml pre-pass (proxy.mathml still rebuilds and proves every formula
after nh3: this module only rewrites markup into markup that keeps its text).

Two shapes lost text or meaning:

- `<mfenced>` (deprecated in MathML 4, not in MathML Core, so not kept): unwrapped by nh3,
  it lost its brackets and separators, which live in attributes (`open="["`, `close="]"`,
  `separators=";"`, by default "(", ")" and ","). It becomes what MathML 3 §3.3.8 says it
  is the same as: `<mrow><mo fence="true">(</mo><mrow>a<mo separator="true">,</mo>b</mrow>
  <mo fence="true">)</mo></mrow>` (the inner mrow only for two arguments or more).
- A MathML element inside a token element (`<mi><mrow>n</mrow></mi>`): an HTML parser reads
  it as an HTML element there (token elements are text integration points), and nh3 drops
  an element in a namespace it does not expect *with its content*. Such elements are
  unwrapped here, so their text stays in the token (which holds text only once rebuilt).
- A MathML element outside any <math> (a formula whose wrapper a feed lost: `<mi>x</mi>`):
  nh3 drops an unknown element named like a MathML one with its content. It is unwrapped.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from proxy.mathml import MATHML_TAGS, TOKEN_TAGS

__all__ = ["may_need_repair", "repair"]

# "<mfenced" in any ASCII case, or a token start tag with a start tag before the next "<"
# after it: the only markup repair() changes. Each part stops at the next "<" or ">", so a
# scan is linear on any input.
_MFENCED = re.compile("<[mM][fF][eE][nN][cC][eE][dD]")
_TOKEN_HOLDS_A_TAG = re.compile(
    r"<(?:[mM][iInNoOsS]|[mM][tT][eE][xX][tT])(?=[\t\n\f\r />])[^<>]*>[^<]*<[A-Za-z]"
)
_TOKENS = tuple(sorted(TOKEN_TAGS - {"annotation"}))
# What an HTML parser reads as MathML inside a token element: nothing, it is all HTML there.
_UNWRAPPED_IN_TOKENS = MATHML_TAGS | {"mfenced"}
# MathML element names starting with "m" (MathML 3 presentation, kept or not) that nh3
# drops with their content outside <math>; "<m" starts few HTML tags (mark, meta, main).
_STRAY = frozenset(
    {name for name in MATHML_TAGS if name.startswith("m")} - {"math"}
    | {"maction", "maligngroup", "malignmark", "mfenced", "mglyph", "mlabeledtr", "mlongdiv"}
    | {"mscarries", "mscarry", "msgroup", "msline", "msrow", "mstack"}
)
_M_TAG = re.compile(r"<([mM][A-Za-z]*)")


def may_need_repair(html: str, *, math: bool) -> bool:
    """Whether html (any markup) may hold what repair() changes: cheap, never a wrong False.
    math: whether html has a <math> tag."""
    if math and (_MFENCED.search(html) or _TOKEN_HOLDS_A_TAG.search(html)):
        return True
    return any(m.group(1).lower() in _STRAY for m in _M_TAG.finditer(html))


def _in_math(element: HtmlElement) -> bool:
    return next(element.iterancestors("math"), None) is not None


def _in_token(element: HtmlElement) -> bool:
    return next(element.iterancestors(*_TOKENS), None) is not None


def repair(root: HtmlElement) -> bool:
    """Rewrite root's <mfenced> and MathML-in-token elements (see the module docstring) in
    place; returns whether anything changed."""
    changed = False
    for fenced in list(root.iter("mfenced")):
        if _in_math(fenced) and not _in_token(fenced):
            _unfence(fenced)
            changed = True
    for token in list(root.iter(*_TOKENS)):
        if not _in_math(token):
            continue
        for inner in list(token.iterdescendants(*_UNWRAPPED_IN_TOKENS)):
            inner.drop_tag()
            changed = True
    for stray in list(root.iter(*_STRAY)):
        if not _in_math(stray) and next(stray.iterancestors("svg"), None) is None:
            stray.drop_tag()
            changed = True
    return changed


def _mo(element: HtmlElement, text: str, role: str) -> HtmlElement:
    mo = element.makeelement("mo", {role: "true"})
    mo.text = text
    return mo


def _unfence(fenced: HtmlElement) -> None:
    """<mfenced> → the <mrow> it stands for, its arguments (and any text or comments between
    them) in place."""
    opening = fenced.attrib.pop("open", "(")
    closing = fenced.attrib.pop("close", ")")
    separators = "".join(fenced.attrib.pop("separators", ",").split())
    fenced.tag = "mrow"  # keeps the other attributes (mathcolor…: mathml filters them)
    children = list(fenced)
    leading = fenced.text
    fenced.text = None
    for child in children:
        fenced.remove(child)  # (with its tail)
    arguments = [child for child in children if isinstance(child.tag, str)]
    inner = fenced.makeelement("mrow", {}) if len(arguments) > 1 else fenced
    if opening:
        fenced.append(_mo(fenced, opening, "fence"))
        fenced[-1].tail = leading
    else:
        fenced.text = leading
    if inner is not fenced:
        fenced.append(inner)
    seen = 0
    for child in children:
        inner.append(child)
        if isinstance(child.tag, str):
            seen += 1
            if separators and seen < len(arguments):
                separator = separators[min(seen, len(separators)) - 1]
                inner.append(_mo(fenced, separator, "separator"))  # after child's tail
    if closing:
        fenced.append(_mo(fenced, closing, "fence"))
