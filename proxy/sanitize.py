"""The last pass over item HTML: nh3 (ammonia). Does no I/O.

Runs after clean and rewrite, on the serialised item. nh3 parses with html5ever (a real
HTML5 parser) and writes the output itself; nothing re-serialises its tree with another
parser's idea of it (that is how mutation XSS gets in). Before nh3, a small lxml pre-pass
removes iframes from unknown hosts entirely, which nh3 cannot do (it can only strip their
attributes); nh3 still checks every iframe `src` as a backstop. After nh3, two passes edit
its output tag by tag (proxy.htmltags): MathML formulas are rebuilt from an allow-list and
proved to parse back the same with html5lib (proxy.mathml), and footnote ids are kept
with an item prefix (proxy.anchors).
"""

from __future__ import annotations

import html as html_lib
import re
import threading
from urllib.parse import urlsplit

import nh3
from lxml import etree
from lxml.html import HtmlElement, HTMLParser

from proxy import anchors, mathml, mathprep, urlscheme
from proxy.allowlist import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, CLEAN_CONTENT_TAGS, URL_SCHEMES

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_TAGS",
    "CLEAN_CONTENT_TAGS",
    "IFRAME_HOSTS",
    "NOT_XML_CHARS",
    "URL_SCHEMES",
    "allowed_iframe_src",
    "drop_non_xml_chars",
    "sanitize_html",
]

# Characters XML 1.0 cannot carry (C0 controls but tab/LF/CR, U+FFFE/U+FFFF, lone
# surrogates). Item HTML ends up inside a feed document, and nh3 refuses surrogates.
NOT_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

# Players an item may embed: (host, path prefix). Anything else in an iframe is removed.
IFRAME_HOSTS: tuple[tuple[str, str], ...] = (
    ("www.youtube.com", "/embed/"),
    ("youtube.com", "/embed/"),
    ("m.youtube.com", "/embed/"),
    ("www.youtube-nocookie.com", "/embed/"),
    ("youtube-nocookie.com", "/embed/"),
    ("player.vimeo.com", "/video/"),
    ("www.dailymotion.com", "/embed/"),
    ("dailymotion.com", "/embed/"),
    ("geo.dailymotion.com", "/player"),
    ("player.bilibili.com", "/"),
    ("w.soundcloud.com", "/player"),
    ("open.spotify.com", "/embed"),
    ("bandcamp.com", "/EmbeddedPlayer"),
    ("embed.ted.com", "/talks/"),
    # Facebook's video player only (hubspot in the real corpus embeds one): its other
    # plugins (like.php, share_button.php, page.php) are buttons and stay out.
    ("www.facebook.com", "/plugins/video.php"),
)

# Embeds keep scripts (players need them) but may not navigate the reader's page.
_IFRAME_SANDBOX = "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox"

_NOT_XML_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
# 0 for those bytes, 1 for every other: `0 in data.translate(_NOT_XML_ZERO)` says whether data
# holds one (a table without deletions: 52k instructions on a 6.6 KB item, 68k deleting).
_NOT_XML_ZERO = bytes(0 if byte in _NOT_XML_BYTES else 1 for byte in range(256))


def drop_non_xml_chars(text: str) -> str:
    """text without the characters XML cannot carry (NOT_XML_CHARS); cheap when there are none.

    NOT_XML_CHARS.sub alone costs as much per character as parsing does.
    """
    try:
        data = text.encode("utf-8")  # refuses lone surrogates
    except UnicodeEncodeError:
        return NOT_XML_CHARS.sub("", text)
    if 0 in data.translate(_NOT_XML_ZERO) or "\ufffe" in text or "\uffff" in text:
        return NOT_XML_CHARS.sub("", text)
    return text


# Characters browsers drop from URLs before reading the scheme ("jav\tascript:").
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")
# Attributes whose value is one URL (srcset and iframe src are judged apart).
_URL_ATTRIBUTES = frozenset({"href", "src", "poster", "cite"})


def _scheme_ok(url: str) -> bool:
    """Whether url is relative or uses an allowed scheme, read as the most lenient reader
    reads it (every Unicode space and format character removed: urlscheme.py)."""
    return urlscheme.allowed(url, URL_SCHEMES)


def _srcset_ok(srcset: str) -> bool:
    # Splitting on every comma also checks pieces of URLs that contain commas: stricter,
    # never looser, than a full srcset parser.
    for candidate in srcset.split(","):
        words = candidate.split()
        if words and not _scheme_ok(words[0]):
            return False
    return True


def allowed_iframe_src(src: str | None) -> str | None:
    """The https URL of an allowed embed player, or None for any other iframe source."""
    if not src:
        return None
    src = src.strip()
    if "\\" in src or _URL_NOISE.search(src):
        return None  # browsers read "\\" as "/" and drop tabs, so the host would not be ours
    if src.startswith("//"):
        src = "https:" + src
    try:
        parts = urlsplit(src)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or parts.username or parts.password:
        return None
    if port is not None:
        return None
    path = parts.path.lower()
    if not any(host == h and path.startswith(p.lower()) for h, p in IFRAME_HOSTS):
        return None
    if parts.scheme.lower() == "http":
        return "https:" + src[len("http:") :]  # players all serve https; avoid mixed content
    return src


# Presentational style an image may keep (WordPress emoji need height:1em, or they show at
# their file's 72 px mid-sentence), with plain lengths only: no url(), no expressions.
IMAGE_STYLE_PROPERTIES = frozenset({"width", "height", "vertical-align", "max-width"})
_CSS_LENGTH = re.compile(r"-?\d{1,6}(?:\.\d{1,6})?(?:px|em|rem|ex|ch|%|vw|vh|pt)?")
_CSS_KEYWORDS = frozenset(
    {"auto", "baseline", "middle", "top", "bottom", "text-top", "text-bottom", "sub", "super"}
)
_CLASS_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def safe_image_style(style: str) -> str | None:
    """The declarations of style that are IMAGE_STYLE_PROPERTIES with a plain value."""
    kept = []
    for declaration in style.split(";"):
        name, colon, value = declaration.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if not colon or name not in IMAGE_STYLE_PROPERTIES:
            continue
        value = value.removesuffix("!important").strip()
        if value in _CSS_KEYWORDS or _CSS_LENGTH.fullmatch(value):
            kept.append(f"{name}: {value}")
    return "; ".join(kept) or None


def _classes(value: str) -> str | None:
    tokens = [t for t in value.split()[:20] if _CLASS_TOKEN.fullmatch(t)]
    return " ".join(tokens) or None


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    """nh3 callback, after nh3's own scheme check on href/src/poster. Must not raise."""
    try:
        if attribute == "style":
            return safe_image_style(value) if tag == "img" else None
        if attribute == "class":
            return _classes(value)
        if tag == "iframe" and attribute == "src":
            return allowed_iframe_src(value)
        if attribute == "srcset":
            return value if _srcset_ok(value) else None
        if attribute in _URL_ATTRIBUTES:
            # nh3 reads "&#xA0;javascript:" as relative; a feed reader strips the space.
            return value if _scheme_ok(value) else None
        return value
    except Exception:  # a raising callback is reported as "unraisable"; dropping is safe
        return None


def _cleaner(*, math: bool, anchors: bool) -> nh3.Cleaner:
    """The nh3 cleaner; math: MathML tags too (proxy.mathml rebuilds them after nh3);
    anchors: ids and <a name> too (proxy.anchors keeps the ones in-item links point at)."""
    tags = set(ALLOWED_TAGS)
    attributes = {tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()}
    if math:
        tags |= mathml.MATHML_TAGS
        for tag in mathml.MATHML_TAGS:
            attributes.setdefault(tag, set()).update(mathml.allowed_names(tag))
    if anchors:
        attributes["*"].add("id")
        attributes["a"].add("name")
    return nh3.Cleaner(
        tags=tags,
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        attributes=attributes,
        attribute_filter=_attribute_filter,
        url_schemes=set(URL_SCHEMES),
        strip_comments=True,
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"iframe": {"sandbox": _IFRAME_SANDBOX}},
    )


_CLEANER = _cleaner(math=False, anchors=False)
_CLEANERS = {
    (math, anchors): _CLEANER if not (math or anchors) else _cleaner(math=math, anchors=anchors)
    for math in (False, True)
    for anchors in (False, True)
}
# "<math" in any ASCII case: only then can the parser build MathML elements. (A literal
# first character lets re skip ahead: as fast as str's own search.)
_MATH_TAG = re.compile("<[mM][aA][tT][hH]")
# A value starting with "#" (href = " #fn1" as any markup may write it): only when one is an
# href can an id be kept. It starts with a literal, so re skips ahead fast (a leading
# [hH][rR]… costs ten times as much); a false hit costs a scan of nh3's output, never an id.
_FRAGMENT_VALUE = re.compile(r"""=[\t\n\f\r ]*(?:["'][\t\n\f\r ]*)?#""")


def _has_fragment_link(html: str) -> bool:
    for match in _FRAGMENT_VALUE.finditer(html):
        if html[max(0, match.start() - 16) : match.start()].rstrip().lower().endswith("href"):
            return True
    return False


_MAX_EXTRA_PASSES = 3
# "<iframe" in any ASCII case (what `"<iframe" in html.lower()` finds, without lower()).
_IFRAME_TAG = re.compile("<[iI][fF][rR][aA][mM][eE]")

_parsers = threading.local()


def _body(html: str) -> HtmlElement | None:
    """html parsed as a <body>'s content (None: lxml could not parse it)."""
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        parser = _parsers.parser = HTMLParser(no_network=True)
    try:
        document = etree.fromstring("<html><body>" + html, parser)
    except (etree.LxmlError, ValueError):
        return None
    return document.find("body") if document is not None else None


def _remove_foreign_iframes(html: str) -> str:
    """Remove iframes not from IFRAME_HOSTS (with their fallback content) and empty the rest.

    html5ever keeps an iframe's content as raw text, so it is cleared here too.
    """
    body = _body(html)
    if body is None:
        return html  # nh3 still strips every unknown iframe's src
    for iframe in list(body.iter("iframe")):
        if allowed_iframe_src(iframe.get("src")) is None:
            iframe.drop_tree()
        else:
            iframe.text = None
            for child in list(iframe):
                iframe.remove(child)
    return _inner_html(body)


def _inner_html(node: HtmlElement) -> str:
    # The same as proxy.clean.serialise, which this leaf module cannot import (clean
    # imports it).
    parts = [html_lib.escape(node.text, quote=False)] if node.text else []
    parts.extend(
        str(etree.tostring(child, method="html", encoding="unicode", with_tail=True))
        for child in node
    )
    return "".join(parts)


# A start tag's name the way html5ever reads it, and markup that is not a tag.
_START_TAG = re.compile(r"<([A-Za-z][^\t\n\f\r />]*)")
_NOT_A_TAG = re.compile(r"<[!?]")
# Allowed tags whose output can still parse differently: the newline after <pre>, an
# iframe's raw text, and a table, whose foster parenting can nest <a> in <a> or <h1> in <h1>.
_ONE_PASS_TAGS = ALLOWED_TAGS - {"pre", "iframe", "table"}
# A heading opened inside another one through a link (<h1><a><h1></a>) comes out of the
# first pass nested, and html5 parsing of that closes the outer heading: the second pass
# differs. It takes two heading start tags, so only markup with two or more needs it.
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


def _reparses_the_same(html: str) -> bool:
    """Whether one nh3 pass over html is enough: its output cleans to itself.

    True when html only opens allowed tags that can neither be unwrapped nor leave a tree
    html5 parsing builds differently (_ONE_PASS_TAGS), and has no comment, doctype or
    processing instruction. Anything else takes the extra passes, so a wrong False only
    costs time.
    """
    if _NOT_A_TAG.search(html):
        return False
    names = _START_TAG.findall(html)
    # (each distinct name lower-cased once, headings counted only when there are any:
    # half the instructions of lower-casing every name of a 40-tag item)
    distinct = {name.lower() for name in set(names)}
    if not distinct <= _ONE_PASS_TAGS:
        return False
    if distinct.isdisjoint(_HEADINGS):
        return True
    return sum(name.lower() in _HEADINGS for name in names) < 2


# Where code is: spans inside stay (highlighting), spans elsewhere are unwrapped.
CODE_TAGS = frozenset({"pre", "code", "kbd", "samp"})
_SPANS_OUTSIDE_CODE = etree.XPath(
    "descendant::span[not(ancestor::pre or ancestor::code or ancestor::kbd or ancestor::samp)]"
)


def unwrap_spans_outside_code(root: HtmlElement) -> None:
    """Unwrap every <span> that is not inside code, keeping its text and children.

    The sanitiser keeps spans for highlighted code only; elsewhere a span styles nothing
    once style and class are gone, and would only add noise to the feed.
    """
    spans = _SPANS_OUTSIDE_CODE(root)
    if any(span.get("id") is not None for span in spans):
        # A footnote's id on a span moves to what stays, so its link still lands.
        anchors.lift_ids(root, anchors.nh3_fate(math=True, spans=frozenset(spans)))
    for span in spans:
        span.drop_tag()


def _pre_pass(html: str, *, unwrap: bool, math: bool, keep_ids: bool) -> tuple[str, bool]:
    """The lxml pass before nh3, when one is needed: ids pointed at moved off elements nh3
    unwraps (keep_ids), spans outside code unwrapped (unwrap), MathML repaired where nh3
    would lose its text (proxy.mathprep; math: html has a <math>). Returns the HTML and
    whether lxml wrote it."""
    repair = mathprep.may_need_repair(html, math=math)
    lift = keep_ids and anchors.may_lose_ids(html, math=math, spans=unwrap)
    if not (unwrap or repair or lift):
        return html, False
    body = _body(html)
    if body is None:
        return html, False
    changed = unwrap
    if lift:
        spans = frozenset(_SPANS_OUTSIDE_CODE(body)) if unwrap else frozenset()
        changed = anchors.lift_ids(body, anchors.nh3_fate(math=math, spans=spans)) or changed
    if unwrap:
        unwrap_spans_outside_code(body)
    if repair:
        changed = mathprep.repair(body) or changed
    return (_inner_html(body), True) if changed else (html, False)


_SPAN_TAG = re.compile("<[sS][pP][aA][nN]")


def _clean_markup(
    html: str, cleaner: nh3.Cleaner, *, unwrap: bool, math: bool, keep_ids: bool
) -> tuple[str, bool]:
    """The pre-pass (_pre_pass; spans: the clean stage unwrapped them on its tree already
    unless ``unwrap``), foreign iframes dropped, then nh3 until its output is stable.
    Returns the cleaned HTML and whether lxml wrote the markup nh3 read."""
    html, rewritten = _pre_pass(html, unwrap=unwrap, math=math, keep_ids=keep_ids)
    if _IFRAME_TAG.search(html):
        html = _remove_foreign_iframes(html)
    cleaned = str(cleaner.clean(html))
    if not _reparses_the_same(html):
        # Unwrapping can leave a tree that html5 parsing reads differently the next time
        # (the newline right after <pre> is dropped; unwrapping <marquee> exposes a nested
        # <a>), so clean again until the output is stable. One extra pass is the usual case.
        for _ in range(_MAX_EXTRA_PASSES):
            again = str(cleaner.clean(cleaned))
            if again == cleaned:
                break
            cleaned = again
    return cleaned, rewritten


def sanitize_html(html: str, *, spans_unwrapped: bool = False, item_key: str | None = None) -> str:
    """Make item HTML safe to serve: an allow-list of tags, attributes and URL schemes.

    Removes script/style (with content), event handlers, javascript:/vbscript:/data: URLs,
    <base>, <meta>, forms, <object>/<embed>, comments, style attributes, iframes other than
    known video and audio players, and characters XML cannot carry. Idempotent:
    sanitize_html(sanitize_html(x)) equals sanitize_html(x). Never raises.

    Expects HTML that has been through the clean stage (lxml caps its depth); html5ever's
    work grows with nesting depth. spans_unwrapped: the caller already ran
    unwrap_spans_outside_code on the tree this HTML was serialised from.

    Kept as they came: the text inside <pre>/<code> (whitespace spans, highlighting classes
    as plain tokens) and an image's width/height/vertical-align/max-width style. Kept
    sanitised: presentation MathML, rebuilt from an allow-list and checked to parse back the
    same (proxy.mathml; a formula that would not becomes its text), and, when item_key
    names the item, the ids its own links point at, renamed `fs-<hash of item_key>-<id>`
    with the links (proxy.anchors: footnotes). Without item_key every id is dropped.
    """
    html = drop_non_xml_chars(html)
    math = _MATH_TAG.search(html) is not None
    keep_anchors = item_key is not None and _has_fragment_link(html)
    cleaner = _CLEANERS[math, keep_anchors]
    unwrap = not spans_unwrapped and _SPAN_TAG.search(html) is not None
    cleaned, rewritten = _clean_markup(
        html, cleaner, unwrap=unwrap, math=math, keep_ids=keep_anchors
    )
    if rewritten:
        # The pre-pass parses the markup with lxml, whose HTML parser repairs some trees
        # (<span><li></li><table>) differently from html5ever: the output, cleaned again,
        # could differ. Clean it again until it is its own result (found by hypothesis).
        for _ in range(_MAX_EXTRA_PASSES):
            again, _ = _clean_markup(
                cleaned,
                cleaner,
                unwrap=_SPAN_TAG.search(cleaned) is not None,
                math=math,
                keep_ids=keep_anchors,
            )
            if again == cleaned:
                break
            cleaned = again
    if math:
        cleaned = mathml.keep_formulas(cleaned)
    if keep_anchors:
        assert item_key is not None
        cleaned = anchors.keep_anchors(cleaned, item_key)
    return cleaned
