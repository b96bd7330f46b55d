"""MathML the sanitiser keeps: presentation formulas, rebuilt from an allow-list and proved
to parse back the same. Does no I/O; called by proxy.sanitize after nh3.

Why <math> needs more than nh3's tag list: an HTML parser reads MathML as *foreign content*,
where the same markup builds another tree (`<style>` inside `<mglyph>` is an element, not
raw text; a start tag inside `<mi>` or `<mtext>` is HTML again; `<annotation-xml
encoding="text/html">` holds HTML). The mutation-XSS vectors of tests/data/xss/vectors.txt
(`<math><mtext><table><mglyph><style><img …>`) live on such a tree serialised, then parsed
again by a reader, turning into another one. So each formula nh3 kept is

1. parsed on its own with html5lib (the HTML5 tree-building algorithm browsers use);
2. rebuilt from MATHML_TAGS and MATHML_ATTRIBUTES only: token elements (`<mi>`, `<mo>`,
   `<mtext>`, `<annotation>`…) hold text only, anything that is not allowed MathML (HTML
   inside `<mtext>`, `<mglyph>`, SVG, `<maction>`) is unwrapped to its text, and
   `<annotation-xml>` goes with its content;
3. put back in nh3's output, which is then parsed again whole, with html5lib: every
   formula must come back exactly as rebuilt, and no MathML or SVG element may sit
   anywhere else. If not, every formula of the item becomes its text (escaped): the text
   of a formula is never lost, its markup is the only thing given up.
"""

from __future__ import annotations

import html as html_lib
import logging
import re
from collections.abc import Iterable
from typing import Any
from xml.etree.ElementTree import Element

import html5lib

from proxy.htmltags import attribute_value, tags

__all__ = [
    "MATHML_ATTRIBUTES",
    "MATHML_TAGS",
    "MAX_CHECKED_CHARS",
    "TOKEN_TAGS",
    "allowed_names",
    "keep_formulas",
    "rebuild",
]

logger = logging.getLogger(__name__)

MATHML = "http://www.w3.org/1998/Math/MathML"
_MATHML_PREFIX = "{" + MATHML + "}"
_FOREIGN_PREFIXES = (_MATHML_PREFIX, "{http://www.w3.org/2000/svg}")

# Elements whose content is text only (MathML "token elements", and the annotation that
# carries a formula's TeX source). A start tag inside <mi>/<mo>/<mn>/<ms>/<mtext> would be
# read as HTML, so nothing but text may be written there.
TOKEN_TAGS = frozenset({"mi", "mn", "mo", "ms", "mtext", "annotation"})
# Presentation MathML (the Sanitizer API's safe default set, plus <menclose> and the
# text-only <annotation>): layout, scripts, tables, and <semantics> for TeX sources.
MATHML_TAGS = TOKEN_TAGS | frozenset(
    {
        "math",
        "menclose",
        "merror",
        "mfrac",
        "mmultiscripts",
        "mover",
        "mpadded",
        "mphantom",
        "mprescripts",
        "mroot",
        "mrow",
        "mspace",
        "msqrt",
        "mstyle",
        "msub",
        "msubsup",
        "msup",
        "mtable",
        "mtd",
        "mtr",
        "munder",
        "munderover",
        "semantics",
    }
)
# Dropped with what they hold, in whatever namespace: <annotation-xml> can hold HTML or SVG
# (and a formula's other rendering), <mglyph> is an image; the rest is code or raw text that
# nh3 already drops (kept here so that this module is safe on its own).
_DROPPED = frozenset(
    {"annotation-xml", "mglyph", "malignmark", "script", "style", "template", "title"}
    | {"textarea", "xmp", "noscript", "noembed", "noframes", "plaintext", "iframe"}
)

# No href, no style, no class, no event handler: layout attributes with plain values.
_EVERY_ELEMENT = frozenset(
    {"dir", "displaystyle", "mathvariant", "mathsize", "mathcolor", "mathbackground", "scriptlevel"}
)
MATHML_ATTRIBUTES: dict[str, frozenset[str]] = {
    "math": frozenset({"display", "alttext"}),
    "mo": frozenset(
        {
            "form",
            "fence",
            "separator",
            "lspace",
            "rspace",
            "stretchy",
            "symmetric",
            "maxsize",
            "minsize",
            "largeop",
            "movablelimits",
        }
    ),
    "mfrac": frozenset({"linethickness"}),
    "mover": frozenset({"accent"}),
    "munder": frozenset({"accentunder"}),
    "munderover": frozenset({"accent", "accentunder"}),
    "mpadded": frozenset({"width", "height", "depth", "lspace", "voffset"}),
    "mspace": frozenset({"width", "height", "depth"}),
    "mtd": frozenset({"columnspan", "rowspan"}),
    "menclose": frozenset({"notation"}),
    "annotation": frozenset({"encoding"}),
}
# Attributes whose value is free text (shown or spoken, never parsed).
_TEXT_ATTRIBUTES = frozenset({"alttext"})
# Any other value: a keyword, a length, a colour, a MIME type ("application/x-tex").
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9 #%+,./_-]{1,64}")

# html5lib is pure Python (about 1.5 µs a character): past this size an item's formulas
# are kept as text rather than checked, so no item can hold the server up.
MAX_CHECKED_CHARS = 200_000


def allowed_names(tag: str) -> frozenset[str]:
    """The attributes a MathML element may keep (values are checked apart)."""
    return MATHML_ATTRIBUTES.get(tag, frozenset()) | _EVERY_ELEMENT


def _allowed_attributes(tag: str, attrib: dict[Any, str]) -> list[tuple[str, str]]:
    names = allowed_names(tag)
    kept = []
    for name, value in sorted(attrib.items()):
        if not isinstance(name, str) or name not in names:
            continue  # namespaced ({xlink}href) or not allowed
        if name in _TEXT_ATTRIBUTES or _PLAIN_VALUE.fullmatch(value):
            kept.append((name, value))
    return kept


def _text(value: str) -> str:
    # As html5ever writes text, so that a second sanitiser pass writes the same bytes.
    value = value.replace("&", "&amp;").replace("\xa0", "&nbsp;")
    return value.replace("<", "&lt;").replace(">", "&gt;")


def _local(element: Element) -> str | None:
    """The MathML local name of element, or None for anything else (HTML, SVG, comments)."""
    tag = element.tag
    if isinstance(tag, str) and tag.startswith(_MATHML_PREFIX):
        return tag[len(_MATHML_PREFIX) :]
    return None


def text_of(element: Element) -> str:
    """A formula's text as a reader would read it: its annotations (TeX) only if there is
    nothing else."""
    shown = "".join(_texts(element, skip_annotations=True))
    return shown if shown.strip() else "".join(_texts(element, skip_annotations=False))


def _texts(element: Element, *, skip_annotations: bool) -> Iterable[str]:
    if element.text and isinstance(element.tag, str):
        yield element.text
    for child in element:
        local = _local(child)
        dropped = local in ("annotation", "annotation-xml") and skip_annotations
        if not dropped and local not in ("mglyph", "malignmark"):
            yield from _texts(child, skip_annotations=skip_annotations)
        if child.tail:
            yield child.tail


def rebuild(element: Element, *, strict: bool = False) -> str | None:
    """The allowed MathML of a parsed <math> element, serialised.

    strict: return None instead of leaving anything out (the post-check: a formula that
    parses back as it was rebuilt rebuilds to the same string without leaving anything out).
    """
    out: list[str] = []
    ok = _rebuild(element, out, strict=strict, top=True, in_token=False)
    return "".join(out) if ok else None


def _rebuild(element: Element, out: list[str], *, strict: bool, top: bool, in_token: bool) -> bool:
    if not isinstance(element.tag, str):
        return not strict  # a comment or processing instruction: left out
    local = _local(element)
    if element.tag.rsplit("}", 1)[-1] in _DROPPED:
        return not strict
    if local not in MATHML_TAGS or in_token or (local == "math") != top:
        if strict:
            return False
        # Unwrapped: HTML or SVG inside a formula, MathML we do not keep, an element
        # inside a token element, a <math> inside a <math>. Their text stays in place.
        out.append(_text(element.text or ""))
        for child in element:
            _rebuild(child, out, strict=False, top=False, in_token=in_token)
            out.append(_text(child.tail or ""))
        return True
    assert local is not None
    attrs = _allowed_attributes(local, dict(element.attrib))
    if strict and len(attrs) != len(element.attrib):
        return False
    out.append("<" + local + "".join(f' {n}="{attribute_value(v)}"' for n, v in attrs) + ">")
    out.append(_text(element.text or ""))
    token = local in TOKEN_TAGS
    for child in element:
        if not _rebuild(child, out, strict=strict, top=False, in_token=token):
            return False
        out.append(_text(child.tail or ""))
    out.append(f"</{local}>")
    return True


def _parse(html: str) -> Element:
    fragment: Element = html5lib.parseFragment(html, container="div", treebuilder="etree")
    return fragment


def _formula_spans(html: str) -> list[tuple[int, int]]:
    """(start, end) of each outermost <math>…</math> in nh3's output."""
    spans: list[tuple[int, int]] = []
    depth = 0
    start = 0
    for tag in tags(html):
        if tag.name != "math":
            continue
        if not tag.closing:
            if depth == 0:
                start = tag.start
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                spans.append((start, tag.end))
    return spans


def _foreign_elements(root: Element) -> list[Element]:
    """Every MathML or SVG element of a parsed fragment that is not inside another one."""
    found: list[Element] = []
    stack = list(reversed(root))
    while stack:
        element = stack.pop()
        tag = element.tag
        if isinstance(tag, str) and tag.startswith(_FOREIGN_PREFIXES):
            found.append(element)
            continue
        stack.extend(reversed(element))
    return found


def keep_formulas(html: str) -> str:
    """nh3's output with each <math> rebuilt from the allow-list, or made its text.

    html: what nh3 (with MATHML_TAGS allowed) returned. Never raises.
    """
    try:
        return _keep_formulas(html)
    except Exception:  # html5lib failing on some input: give up the markup, keep the text
        logger.exception("sanitize: MathML check failed, formulas kept as text")
        spans = _formula_spans(html)
        return _splice(html, spans, _span_texts(html, spans))


def _keep_formulas(html: str) -> str:
    spans = _formula_spans(html)
    if not spans:
        return html
    written = _span_texts(html, spans)
    if len(html) > MAX_CHECKED_CHARS:
        return _splice(html, spans, written)
    # One parse of the whole item: the formulas are rebuilt from it, and when they were
    # already as rebuilt (a second pass, or clean MathML) it is the post-check as well.
    found = _foreign_elements(_parse(html))
    if len(found) != len(spans) or not all(
        _local(element) == "math"
        and html_lib.escape("".join(element.itertext()), False)
        == html_lib.escape(html_lib.unescape(text), False)
        for element, text in zip(found, written, strict=True)
    ):
        # nh3's output does not parse back into the formulas it wrote, one for one.
        logger.warning("sanitize: formulas did not parse back as written, kept as text")
        return _splice(html, spans, written)
    rebuilt = [rebuild(element) or "" for element in found]
    kept = _splice(html, spans, rebuilt)
    # Unchanged by the rebuild: the parse above is the post-check's parse too.
    reparsed = found if kept == html else _foreign_elements(_parse(kept))
    if _parses_back(reparsed, rebuilt):
        return kept
    logger.warning("sanitize: a formula did not parse back as rebuilt, formulas kept as text")
    return _splice(html, spans, [_text(text_of(element)) for element in found])


def _parses_back(found: list[Element], expected: list[str]) -> bool:
    """Whether the foreign elements of the parsed item are exactly the expected formulas:
    the same number, each a <math> that rebuilds to its string leaving nothing out."""
    return len(found) == len(expected) and all(
        _local(element) == "math" and rebuild(element, strict=True) == want
        for element, want in zip(found, expected, strict=True)
    )


def _splice(html: str, spans: list[tuple[int, int]], replacements: list[str]) -> str:
    parts: list[str] = []
    last = 0
    for (start, end), replacement in zip(spans, replacements, strict=True):
        parts.append(html[last:start])
        parts.append(replacement)
        last = end
    parts.append(html[last:])
    return "".join(parts)


def _span_texts(html: str, spans: list[tuple[int, int]]) -> list[str]:
    """Each formula's text as nh3 wrote it (still escaped): what lies between its tags. No
    parser needed: in nh3's output every "<" opens a tag."""
    texts = []
    for start, end in spans:
        pieces = []
        last = start
        for tag in tags(html[:end], start):
            pieces.append(html[last : tag.start])
            last = tag.end
        pieces.append(html[last:end])
        texts.append("".join(pieces))
    return texts
