"""Image and link rewriting: modes, lazy images, srcset, relative URLs, signing."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from proxy.errors import BadSignature
from proxy.images.signing import image_path, sign, verify, verify_link
from proxy.models import Entry
from proxy.rewrite import ImagePolicy, parse_srcset, rewrite_tree

KEY = b"k" * 32
PROXY = ImagePolicy(mode="proxy", public_base="https://p.test", key=KEY)


def rewrite(
    fragment: str, policy: ImagePolicy = PROXY, base: str | None = "https://site.test/blog/feed"
) -> str:
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
        (
            '<img data-original="https://a.test/o.jpg">',
            f'<img src="{proxied("https://a.test/o.jpg")}">',
        ),
        ('<img src="data:image/png;base64,AAAA">', '<img src="data:image/png;base64,AAAA">'),
        ('<a href="/post/1">x</a>', '<a href="https://site.test/post/1">x</a>'),
        ('<a href="mailto:a@b.test">x</a>', '<a href="mailto:a@b.test">x</a>'),
    ],
    ids=[
        "absolute",
        "root-relative",
        "relative",
        "data-src-placeholder",
        "lazy-src",
        "original",
        "data-uri-kept",
        "link-resolved",
        "mailto-kept",
    ],
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
    out = rewrite(
        '<picture><source srcset="/s.webp" type="image/webp">'
        '<img data-srcset="/l.jpg 2x" src="/p.jpg"></picture>'
    )
    assert proxied("https://site.test/s.webp") in out
    assert proxied("https://site.test/l.jpg") + " 2x" in out
    assert "data-srcset" not in out


def test_template_mode() -> None:
    policy = ImagePolicy(mode="template", template="https://img.test/?u={url_encoded}&raw={url}")
    out = rewrite('<img src="/x y.jpg">', policy)
    assert (
        'src="https://img.test/?u=https%3A%2F%2Fsite.test%2Fx%20y.jpg'
        '&amp;raw=https://site.test/x%20y.jpg"'
    ) in out


def test_absolute_and_none_modes() -> None:
    assert (
        rewrite('<img src="/x.jpg">', ImagePolicy(mode="absolute"))
        == '<img src="https://site.test/x.jpg">'
    )
    assert rewrite('<img src="/x.jpg">', ImagePolicy(mode="none")) == '<img src="/x.jpg">'


def test_relative_stays_relative_without_base() -> None:
    out = rewrite('<img src="/x.jpg">', ImagePolicy(mode="absolute"), base=None)
    assert out == '<img src="/x.jpg">'


def test_parse_srcset() -> None:
    assert parse_srcset(" a.jpg 1x,b.jpg  2x , c.jpg") == [
        ("a.jpg", "1x"),
        ("b.jpg", "2x"),
        ("c.jpg", ""),
    ]


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


# --- <picture>, lazy attributes, <noscript> copies -------------------------------------------


def test_picture_sources_and_their_lazy_srcset() -> None:
    out = rewrite(
        '<picture><source srcset="/a.webp 1x, /a2.webp 2x" type="image/webp">'
        '<source data-srcset="/b.avif" srcset="data:image/gif;base64,R0l" type="image/avif">'
        '<img src="/c.jpg" alt="c"></picture>'
    )
    root = lxml_html.fragment_fromstring(out, create_parent="div")
    sources = root.findall(".//source")
    assert sources[0].get("srcset") == (
        f"{proxied('https://site.test/a.webp')} 1x, {proxied('https://site.test/a2.webp')} 2x"
    )
    assert sources[1].get("srcset") == proxied("https://site.test/b.avif")
    assert "data-srcset" not in out
    assert root.find(".//img").get("src") == proxied("https://site.test/c.jpg")


def test_svg_source_dropped_in_proxy_mode_only() -> None:
    fragment = (
        '<picture><source srcset="/logo.svg" type="image/svg+xml">'
        '<source srcset="/logo-b.svg"><img src="/logo.png"></picture>'
    )
    out = rewrite(fragment)
    assert "svg" not in out  # the proxy refuses SVG; the <img> fallback stays
    assert proxied("https://site.test/logo.png") in out
    kept = rewrite(fragment, ImagePolicy(mode="absolute"))
    assert 'srcset="https://site.test/logo.svg"' in kept


@pytest.mark.parametrize(
    ("before", "src", "srcset"),
    [
        (
            '<img data-srcset="/a.jpg 1x, /b.jpg 2x" srcset="data:image/svg+xml,%3Csvg%3E">',
            None,
            "https://site.test/a.jpg 1x, https://site.test/b.jpg 2x",
        ),
        (
            '<img src="/wp-content/lazy-placeholder.png" data-lazy-src="/real.jpg">',
            "https://site.test/real.jpg",
            None,
        ),
        (
            '<img src="data:image/gif;base64,R0l" data-original="//cdn.test/o.jpg">',
            "https://cdn.test/o.jpg",
            None,
        ),
        (
            '<img src="https://pic1.zhimg.test/blank.gif" data-actualsrc="https://pic1.zhimg.test/v2.jpg">',
            "https://pic1.zhimg.test/v2.jpg",
            None,
        ),
        ('<img data-lazyload="/l.png">', "https://site.test/l.png", None),
        ('<img src="/real.jpg" data-src="/other.jpg">', "https://site.test/real.jpg", None),
    ],
    ids=[
        "data-srcset",
        "data-lazy-src",
        "data-original",
        "data-actualsrc",
        "data-lazyload",
        "real-src-kept",
    ],
)
def test_lazy_attributes(before: str, src: str | None, srcset: str | None) -> None:
    root = lxml_html.fragment_fromstring(rewrite(before, ImagePolicy(mode="absolute")))
    assert root.get("src") == src
    assert root.get("srcset") == srcset
    assert not [name for name in root.attrib if name.startswith("data-")]


NOSCRIPT = '<noscript><img src="/real.jpg" alt="the real one"></noscript>'


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            f'<p><img src="data:image/gif;base64,R0l" class="lazy" width="640">{NOSCRIPT} tail</p>',
            '<p><img src="https://site.test/real.jpg" alt="the real one" width="640"> tail</p>',
        ),
        (
            f'<p>{NOSCRIPT}<img src="/spacer.gif" alt="lazy alt"></p>',
            '<p><img src="https://site.test/real.jpg" alt="the real one"></p>',
        ),
        (
            f'<p><img src="data:," data-src="/real.jpg">{NOSCRIPT}</p>',
            '<p><img src="https://site.test/real.jpg"></p>',
        ),
        (
            f'<p><a href="/post"><img src="/blank.gif"></a>\n{NOSCRIPT}</p>',
            '<p><a href="https://site.test/post"><img src="https://site.test/real.jpg" '
            'alt="the real one"></a>\n</p>',
        ),
        (f"<p>{NOSCRIPT}</p>", f"<p>{NOSCRIPT.replace('/real', 'https://site.test/real')}</p>"),
        (
            f'<p><img src="/blank.gif">text between{NOSCRIPT}</p>',
            '<p><img src="https://site.test/blank.gif">text between'
            + NOSCRIPT.replace("/real", "https://site.test/real")
            + "</p>",
        ),
    ],
    ids=[
        "copy-replaces-placeholder",
        "noscript-first",
        "lazy-recovered-copy-dropped",
        "lazy-inside-link",
        "lone-noscript-left-to-sanitiser",
        "not-adjacent",
    ],
)
def test_noscript_copies_collapse_into_one_image(before: str, after: str) -> None:
    assert rewrite(before, ImagePolicy(mode="absolute")) == after


def test_noscript_image_survives_the_whole_item_pipeline() -> None:
    from proxy.models import Entry, Feed
    from proxy.pipeline.process import transform

    html = f'<p>Intro</p><p><img src="data:image/gif;base64,R0l" class="lazyload">{NOSCRIPT}</p>'
    feed = Feed(
        kind="rss",
        source_url="https://site.test/feed",
        title="t",
        link=None,
        description=None,
        entries=(Entry(guid="1", guid_is_permalink=False, title="t", link=None, content=html),),
    )
    out = transform(feed, policy=ImagePolicy(mode="absolute")).entries[0].content or ""
    assert out.count("<img") == 1
    assert 'src="https://site.test/real.jpg"' in out and "noscript" not in out


def test_noscript_untouched_in_none_mode() -> None:
    before = f'<p><img src="/blank.gif">{NOSCRIPT}</p>'
    assert rewrite(before, ImagePolicy(mode="none")) == before


def test_video_poster_is_an_image_and_media_sources_are_left_alone() -> None:
    out = rewrite('<video poster="/poster.jpg" src="/v.mp4"><source src="/v.webm"></video>')
    assert f'poster="{proxied("https://site.test/poster.jpg")}"' in out
    assert 'src="/v.mp4"' in out and 'src="/v.webm"' in out


# --- signed hints -----------------------------------------------------------------------------


def test_item_origin_and_feed_policy_travel_in_the_link() -> None:
    from proxy.images.referer import Hint
    from proxy.rewrite import for_item

    policy = for_item(
        ImagePolicy(mode="proxy", public_base="https://p.test", key=KEY, referer="origin"),
        "https://blog.test/2024/post?utm=x",
    )
    out = rewrite('<img src="https://img.test/a.jpg">', policy)
    hint = Hint(policy="origin", origin="https://blog.test").encode()
    assert out == f'<img src="https://p.test{image_path("https://img.test/a.jpg", KEY, hint)}">'
    assert for_item(ImagePolicy(mode="absolute"), "https://blog.test/") == ImagePolicy(
        mode="absolute"
    )


def test_policies_per_item_are_for_item_of_each_link_one_object_per_origin() -> None:
    from proxy.rewrite import for_item, for_items

    links = [
        "https://blog.test/1", "https://blog.test/2?utm=x", None, "", "mailto:x@y.test",
        "http://[::1", "https://other.test:8443/a", "https://BLOG.test/3", "https://blog.test/4",
    ]
    for policy in (PROXY, for_item(PROXY, "https://blog.test/"), ImagePolicy(mode="absolute"),
                   ImagePolicy(mode="template", template="https://t.test/{url}")):
        made = for_items(policy, links)
        assert made == [for_item(policy, link) for link in links]
        by_origin = {p.origin: p for p in made}
        assert all(p is by_origin[p.origin] for p in made)


# --- enclosures and Media RSS ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "declared", "medium", "kind"),
    [
        ("https://a.test/x", "image/jpeg", None, "image"),
        ("https://a.test/x", "audio/mpeg", None, "media"),
        ("https://a.test/x", "video/mp4", None, "media"),
        ("https://a.test/x.jpg", None, None, "image"),
        ("https://a.test/x.m4a", None, None, "media"),
        ("https://a.test/x.mp4", None, "image", "image"),
        ("https://a.test/x.pdf", "application/pdf", None, None),
        ("https://a.test/x", None, "document", None),
        ("https://a.test/x", None, None, None),
    ],
)
def test_attachment_kind(
    url: str, declared: str | None, medium: str | None, kind: str | None
) -> None:
    from proxy.rewrite import attachment_kind

    assert attachment_kind(url, declared, medium) == kind


def _entry_with_attachments() -> Entry:
    from proxy.models import Enclosure, Entry, Media

    return Entry(
        guid="1",
        guid_is_permalink=False,
        title="t",
        link="https://blog.test/1",
        enclosures=(
            Enclosure("https://cdn.test/ep1.mp3", "123", "audio/mpeg"),
            Enclosure("/cover.jpg", None, "image/jpeg"),
            Enclosure("https://cdn.test/notes.pdf", None, "application/pdf"),
        ),
        media=(
            Media("https://cdn.test/t.jpg", "thumbnail", width="72", height="72"),
            Media("https://cdn.test/v.mp4", "content", type="video/mp4", medium="video"),
            Media("https://cdn.test/photo", "content", medium="image"),
        ),
    )


def test_attachments_images_proxied_media_only_when_asked() -> None:
    from proxy.images.referer import Hint
    from proxy.rewrite import for_item, rewrite_attachments

    entry = _entry_with_attachments()
    for proxy_media in (False, True):
        policy = for_item(
            ImagePolicy(
                mode="proxy", public_base="https://p.test", key=KEY, proxy_media=proxy_media
            ),
            entry.link,
        )
        out = rewrite_attachments(entry, policy, base_url="https://blog.test/feed")
        image_hint = Hint(origin="https://blog.test").encode()
        media_hint = Hint(origin="https://blog.test", media=True).encode()

        def image(url: str, hint: str = image_hint) -> str:
            return "https://p.test" + image_path(url, KEY, hint)

        expected_mp3 = (
            image("https://cdn.test/ep1.mp3", media_hint)
            if proxy_media
            else ("https://cdn.test/ep1.mp3")
        )
        expected_mp4 = (
            image("https://cdn.test/v.mp4", media_hint)
            if proxy_media
            else ("https://cdn.test/v.mp4")
        )
        assert [e.url for e in out.enclosures] == [
            expected_mp3,
            image("https://blog.test/cover.jpg"),
            "https://cdn.test/notes.pdf",
        ]
        assert [m.url for m in out.media] == [
            image("https://cdn.test/t.jpg"),
            expected_mp4,
            image("https://cdn.test/photo"),
        ]
        # Everything but the URL is kept.
        assert [(e.length, e.type) for e in out.enclosures] == [
            (e.length, e.type) for e in entry.enclosures
        ]
        assert out.media[0].width == "72" and out.media[1].medium == "video"


def test_attachments_in_other_modes() -> None:
    from proxy.rewrite import rewrite_attachments

    entry = _entry_with_attachments()
    absolute = rewrite_attachments(
        entry, ImagePolicy(mode="absolute"), base_url="https://blog.test/"
    )
    assert absolute.enclosures[1].url == "https://blog.test/cover.jpg"
    assert absolute.media == entry.media
    assert rewrite_attachments(entry, ImagePolicy(mode="none"), base_url="https://b.test/") == entry
    template = rewrite_attachments(
        entry,
        ImagePolicy(mode="template", template="https://i.test/?u={url_encoded}"),
        base_url="https://blog.test/",
    )
    assert template.enclosures[0].url == "https://cdn.test/ep1.mp3"  # templates are for images
    assert template.media[0].url == "https://i.test/?u=https%3A%2F%2Fcdn.test%2Ft.jpg"


def test_podcast_enclosures_follow_proxy_media() -> None:
    from proxy import parse
    from proxy.models import FetchResult
    from proxy.pipeline.process import transform
    from tests.helpers import DATA

    feed = parse.parse(
        FetchResult(
            url="https://feeds.test/cre",
            status=200,
            body=(DATA / "feeds" / "podcast-cre-feedburner-enclosures.xml").read_bytes(),
            content_type="application/rss+xml",
        )
    )
    originals = [e.enclosures[0].url for e in feed.entries]
    assert len(originals) == 30 and all(u.endswith(".m4a") for u in originals)
    default = transform(feed, policy=PROXY)
    assert [e.enclosures[0].url for e in default.entries] == originals
    with_media = transform(
        feed,
        policy=ImagePolicy(mode="proxy", public_base="https://p.test", key=KEY, proxy_media=True),
    )
    urls = [e.enclosures[0].url for e in with_media.entries]
    assert all(u.startswith("https://p.test/img/") for u in urls)
    for url, original in zip(urls, originals, strict=True):
        route, _, query = url.removeprefix("https://p.test").partition("?")
        _, _, signature, encoded = route.split("/")
        assert verify_link(signature, encoded, query.removeprefix("h="), KEY)[0] == original
