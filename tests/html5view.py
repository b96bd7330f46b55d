"""Item HTML as a browser builds it: parsed with html5lib (the HTML5 tree-building algorithm,
namespaces included), for the checks lxml and a tokenizer cannot make — lxml and
html.parser know nothing of foreign content, so a <style> inside MathML, where it is an
element and not raw text, looks the same to them as a harmless one.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

import html5lib

from proxy.mathml import MATHML_TAGS, TOKEN_TAGS, allowed_names

HTML = "{http://www.w3.org/1999/xhtml}"
MATHML = "{http://www.w3.org/1998/Math/MathML}"
SVG = "{http://www.w3.org/2000/svg}"
# The one namespaced attribute a formula may carry: feedparser's sanitiser adds it.
XMLNS = "{http://www.w3.org/2000/xmlns/}xmlns"


def parse(fragment: str) -> Element:
    root: Element = html5lib.parseFragment(fragment, container="div", treebuilder="etree")
    return root


def formulas(fragment: str) -> list[Element]:
    """The <math> elements a browser builds from fragment, outermost only."""
    found: list[Element] = []

    def walk(element: Element) -> None:
        for child in element:
            if child.tag == MATHML + "math":
                found.append(child)
            else:
                walk(child)

    walk(parse(fragment))
    return found


def html5_problems(fragment: str) -> list[str]:
    """Everything unsafe in the tree a browser builds: any SVG, MathML outside the allowed
    set or with attributes outside it, any element inside a token element, any HTML element
    inside a formula, any event handler."""
    found: list[str] = []

    def walk(element: Element, in_math: bool, in_token: bool) -> None:
        for child in element:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            name = tag.rsplit("}", 1)[-1]
            attributes = {
                k: v for k, v in child.attrib.items() if k != XMLNS or v != MATHML.strip("{}")
            }
            for attribute in attributes:
                if not isinstance(attribute, str) or attribute.lower().startswith("on"):
                    found.append(f"html5: <{name} {attribute}>")
            if tag.startswith(SVG):
                found.append(f"html5: SVG <{name}>")
            elif tag.startswith(MATHML):
                if name not in MATHML_TAGS:
                    found.append(f"html5: MathML <{name}> is not allowed")
                extra = set(attributes) - allowed_names(name)
                if extra:
                    found.append(f"html5: <{name}> has {sorted(map(str, extra))}")
                if in_token:
                    found.append(f"html5: <{name}> inside a token element")
            elif tag.startswith(HTML) and in_math:
                found.append(f"html5: HTML <{name}> inside a formula")
            walk(
                child,
                in_math or tag.startswith(MATHML),
                in_token or (tag.startswith(MATHML) and name in TOKEN_TAGS),
            )

    walk(parse(fragment), False, False)
    return found
