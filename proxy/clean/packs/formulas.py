"""The `formulas` pack: a formula's second, visual rendering beside its MathML. Part of the
clean stage; does no I/O.

Math renderers write each formula twice: MathML for assistive technology and an HTML or
image rendering for the eye, one of them hidden. KaTeX writes
`<span class="katex"><span class="katex-mathml"><math>…</math></span>
<span class="katex-html" aria-hidden="true">…</span></span>`; MediaWiki writes the MathML
(hidden by style) beside `<img class="mwe-math-fallback-image-inline" aria-hidden="true">`.
The sanitiser drops style and class, so a reader shows both: the formula, then its glyphs
again as loose text ("x2x^2"). The MathML is kept (proxy/mathml.py), so the rendering that
the page itself marked `aria-hidden="true"` goes: the page says it carries nothing the
formula does not. Only a sibling of the formula's own wrapper (up to three levels up, inside
no other content) is considered, never an aria-hidden element elsewhere in the item.
"""

from __future__ import annotations

from lxml.html import HtmlElement

from proxy.clean.nodes import drop, hints_for
from proxy.clean.registry import declare_pack, item_rule

PACK = declare_pack(
    "formulas",
    "a formula's hidden visual duplicate (KaTeX's aria-hidden HTML, MediaWiki's fallback "
    "image) beside its MathML, which is kept",
)

# How far up from <math> the renderer's wrapper can be: KaTeX's is two levels
# (span.katex > span.katex-mathml > math), MediaWiki's two (span.mwe-math-element >
# span.mwe-math-mathml-inline > math).
_WRAPPER_DEPTH = 3


def _is_hidden(element: HtmlElement) -> bool:
    return (element.get("aria-hidden") or "").strip().lower() == "true"


@item_rule(PACK, "hidden_renderings")
def hidden_renderings(root: HtmlElement) -> None:
    """A formula's hidden second rendering (aria-hidden) beside its MathML."""
    # Both are in a tag name or an attribute of the markup whenever the rule can act.
    hints = hints_for(root)
    if not (hints.may_contain("math") and hints.may_contain("aria-hidden")):
        return
    for math in list(root.iter("math")):
        if math.getparent() is None:  # dropped with an earlier formula's duplicate
            continue
        _drop_hidden_siblings(math)


def _drop_hidden_siblings(math: HtmlElement) -> None:
    node = math
    for _ in range(_WRAPPER_DEPTH):
        parent = node.getparent()
        if parent is None or not _wraps_only(parent, node):
            return
        hidden = [child for child in parent if child is not node and _is_hidden(child)]
        if hidden:
            for sibling in hidden:
                drop(sibling)
            return
        node = parent


def _wraps_only(parent: HtmlElement, node: HtmlElement) -> bool:
    """Whether parent holds node and hidden renderings only: no text of its own, no other
    visible element (a paragraph around a formula is content, never a renderer's wrapper)."""
    if (parent.text or "").strip():
        return False
    for child in parent:
        if (child.tail or "").strip():
            return False
        if child is not node and not (isinstance(child.tag, str) and _is_hidden(child)):
            return False
    return True
