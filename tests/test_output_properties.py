"""Properties of clean + render over arbitrary input: nothing escapes, the output is a feed
feedparser reads without error, and sanitising is idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

import feedparser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.models import Entry, Feed, Person
from proxy.pipeline.process import build_output
from proxy.rewrite import ImagePolicy
from proxy.sanitize import sanitize_html

POLICY = ImagePolicy(mode="proxy", public_base="http://proxy.test", key=b"k")
WHEN = datetime(2024, 1, 1, tzinfo=UTC)

_tags = st.sampled_from(
    [
        "p",
        "div",
        "span",
        "a",
        "img",
        "script",
        "style",
        "iframe",
        "svg",
        "math",
        "table",
        "td",
        "br",
        "hr",
        "share-button",
        "noscript",
        "form",
        "base",
        "meta",
        "object",
        "b",
        "pre",
    ]
)
_attrs = st.sampled_from(
    [
        "",
        ' href="javascript:alert(1)"',
        ' src="/x.png"',
        ' onerror="x()"',
        ' style="a:b"',
        ' data-src="https://i.test/a.jpg"',
        ' width="1" height="1"',
        ' href="https://t.me/share"',
        ' srcset="a.jpg 1x, b.jpg 2x"',
        ' class="sharedaddy"',
    ]
)
_text = st.text(max_size=30)
_fragment = st.recursive(
    _text,
    lambda inner: (
        st.builds(lambda tag, attr, body: f"<{tag}{attr}>{body}</{tag}>", _tags, _attrs, inner)
        | st.lists(inner, max_size=4).map("".join)
    ),
    max_leaves=20,
)
# Any text at all, including control characters XML cannot carry, and raw markup.
_anything = st.one_of(_fragment, st.text(max_size=200))


def _feed(title: str, html: str) -> Feed:
    entry = Entry(
        guid=title or "g",
        guid_is_permalink=False,
        title=title,
        link="https://a.test/1",
        authors=(Person(name=title or None),),
        categories=(title,) if title.strip() else (),
        summary=html,
        content=html,
    )
    return Feed(
        kind="rss",
        source_url="https://a.test/feed",
        title=title,
        link=None,
        description=title,
        entries=(entry,),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=st.text(max_size=40), html=_anything)
def test_any_item_renders_to_a_readable_feed(title: str, html: str) -> None:
    for fmt in ("rss", "atom"):
        body = build_output(
            _feed(title, html),
            fmt,
            policy=POLICY,
            self_url="http://proxy.test/f",
            fallback_date=WHEN,
        )
        parsed = feedparser.parse(body, sanitize_html=False)
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert len(parsed.entries) == 1
        served = (
            parsed.entries[0].get("content", [{}])[0].get("value", "")
            if fmt == "atom"
            else (parsed.entries[0].get("description", ""))
        )
        lowered = served.lower()
        assert "<script" not in lowered and "javascript:" not in lowered
        assert " onerror=" not in lowered


@settings(max_examples=200, deadline=None)
@given(html=_anything)
def test_sanitising_is_idempotent(html: str) -> None:
    once = sanitize_html(html)
    assert sanitize_html(once) == once
