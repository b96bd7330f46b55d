"""Image and link rewriting: modes, lazy images, srcset, relative URLs, signing."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from proxy.errors import BadSignature
from proxy.rewrite import ImagePolicy, parse_srcset, rewrite_tree
from proxy.signing import image_path, sign, verify

KEY = b"k" * 32
PROXY = ImagePolicy(mode="proxy", public_base="https://p.test", key=KEY)


def rewrite(fragment: str, policy: ImagePolicy = PROXY, base: str | None = "https://site.test/blog/feed") -> str:
    root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    rewrite_tree(root, base_url=base, policy=policy)
    return "".join(lxml_html.tostring(child, encoding="unicode") for child in root)


def proxied(url: str) -> str:
    return "https://p.test" + image_path(url, KEY)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('<img src="https://a.test/x.jpg">', f'<img src="{proxied("https://a.test/x.jpg")}">'),
        ('<img src="/x.jpg">', f'<img src="{proxied("https://site.test/x.jpg")}">'),
        ('<img src="x.jpg">', f'<img src="{proxied("https://site.test/blog/x.jpg")}">'),
        (
            '<img src="data:image/gif;base64,R0lGOD" data-src="https://a.test/real.jpg">',
            f'<img src="{proxied("https://a.test/real.jpg")}">',
        ),
        (
            '<img src="/img/blank.gif" data-lazy-src="https://a.test/l.jpg">',
            f'<img src="{proxied("https://a.test/l.jpg")}">',
        ),
        ('<img data-original="https://a.test/o.jpg">', f'<img src="{proxied("https://a.test/o.jpg")}">'),
        ('<img src="data:image/png;base64,AAAA">', '<img src="data:image/png;base64,AAAA">'),
        ('<a href="/post/1">x</a>', '<a href="https://site.test/post/1">x</a>'),
        ('<a href="mailto:a@b.test">x</a>', '<a href="mailto:a@b.test">x</a>'),
    ],
    ids=["absolute", "root-relative", "relative", "data-src-placeholder", "lazy-src", "original",
         "data-uri-kept", "link-resolved", "mailto-kept"],
)
def test_proxy_mode(before: str, after: str) -> None:
    assert rewrite(before) == after


def test_srcset_every_candidate_rewritten() -> None:
    out = rewrite('<img src="a.jpg" srcset="a.jpg 1x, https://c.test/b,c.jpg 2x">')
    root = lxml_html.fragment_fromstring(out)
    assert root.get("srcset") == (
        f"{proxied('https://site.test/blog/a.jpg')} 1x, {proxied('https://c.test/b,c.jpg')} 2x"
    )


def test_lazy_srcset_and_picture_sources() -> None:
    out = rewrite('<picture><source srcset="/s.webp" type="image/webp">'
                  '<img data-srcset="/l.jpg 2x" src="/p.jpg"></picture>')
    assert proxied("https://site.test/s.webp") in out
    assert proxied("https://site.test/l.jpg") + " 2x" in out
    assert "data-srcset" not in out


def test_template_mode() -> None:
    policy = ImagePolicy(mode="template", template="https://img.test/?u={url_encoded}&raw={url}")
    out = rewrite('<img src="/x y.jpg">', policy)
    assert 'src="https://img.test/?u=https%3A%2F%2Fsite.test%2Fx%20y.jpg&amp;raw=https://site.test/x%20y.jpg"' in out


def test_absolute_and_none_modes() -> None:
    assert rewrite('<img src="/x.jpg">', ImagePolicy(mode="absolute")) == '<img src="https://site.test/x.jpg">'
    assert rewrite('<img src="/x.jpg">', ImagePolicy(mode="none")) == '<img src="/x.jpg">'


def test_relative_stays_relative_without_base() -> None:
    assert rewrite('<img src="/x.jpg">', ImagePolicy(mode="absolute"), base=None) == '<img src="/x.jpg">'


def test_parse_srcset() -> None:
    assert parse_srcset(" a.jpg 1x,b.jpg  2x , c.jpg") == [("a.jpg", "1x"), ("b.jpg", "2x"), ("c.jpg", "")]


def test_sign_and_verify_round_trip() -> None:
    url = "https://a.test/图片.jpg?x=1"
    path = image_path(url, KEY)
    _, _, signature, encoded = path.split("/")
    assert verify(signature, encoded, KEY) == url
    assert signature == sign(url, KEY)
    with pytest.raises(BadSignature):
        verify(signature, encoded, b"other key")
    with pytest.raises(BadSignature):
        verify(signature[:-2] + "AA", encoded, KEY)
    with pytest.raises(BadSignature):
        verify(signature, "!!!not base64", KEY)
