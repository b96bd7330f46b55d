"""What item HTML may hold: the tag, attribute and URL-scheme allow-lists nh3 gets.

Data only, read by proxy.sanitize (and its tests); MathML's own lists are in proxy.mathml.
"""

from __future__ import annotations

__all__ = ["ALLOWED_ATTRIBUTES", "ALLOWED_TAGS", "CLEAN_CONTENT_TAGS", "URL_SCHEMES"]

ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "audio",
        "b",
        "bdi",
        "bdo",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "col",
        "colgroup",
        "dd",
        "del",
        "details",
        "dfn",
        "div",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "iframe",
        "img",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "picture",
        "pre",
        "q",
        "rp",
        "rt",
        "ruby",
        "s",
        "samp",
        "small",
        "source",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "u",
        "ul",
        "var",
        "video",
        "wbr",
        # Kept for code: highlighted code is spans with classes, whitespace spans included;
        # the clean stage unwraps every other span (proxy.sanitize.unwrap_spans_outside_code).
        "span",
    }
)

# Dropped together with their content: code, or raw text that would show up as markup soup
# (html5ever reads <noscript>, <textarea>, <xmp>… as raw text).
CLEAN_CONTENT_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "title",
        "textarea",
        "select",
        "xmp",
        "noembed",
        "noframes",
        "plaintext",
        "object",
        "embed",
        "applet",
    }
)

ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "srcset", "alt", "width", "height", "sizes", "loading", "style"},
    # Highlighting classes (sanitised to plain tokens by _attribute_filter).
    "pre": {"class"},
    "code": {"class"},
    "span": {"class"},
    "source": {"src", "srcset", "type", "media", "sizes"},
    "video": {"src", "controls", "poster", "width", "height"},
    "audio": {"src", "controls"},
    "iframe": {"src", "width", "height", "allowfullscreen"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "reversed"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "time": {"datetime"},
    "details": {"open"},
}

URL_SCHEMES = frozenset({"http", "https", "mailto"})
