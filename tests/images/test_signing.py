"""signing: image links signed with their hint; old-style links still verify."""

from __future__ import annotations

import pytest

from proxy.errors import BadSignature
from proxy.images.referer import Hint
from proxy.images.signing import image_path, sign, verify, verify_link
from tests.helpers import DATA

KEY = b"k" * 32
BLOG = "https://blog.example"
PNG = (DATA / "images" / "red.png").read_bytes()


# --- signing --------------------------------------------------------------------------------


def test_hinted_links_sign_url_and_hint_together() -> None:
    url = "https://a.test/图片.jpg?x=1"
    hint = Hint(origin=BLOG).encode()
    path = image_path(url, KEY, hint)
    route, _, query = path.partition("?")
    _, _, signature, encoded = route.split("/")
    assert query.startswith("h=")
    encoded_hint = query.removeprefix("h=")
    assert verify_link(signature, encoded, encoded_hint, KEY) == (url, hint)
    assert signature != sign(url, KEY)  # not valid as an old-style link
    with pytest.raises(BadSignature):
        verify(signature, encoded, KEY)
    with pytest.raises(BadSignature):
        verify_link(signature, encoded, "!!!", KEY)
    with pytest.raises(BadSignature):
        verify_link(signature, encoded, encoded_hint, b"another key")


def test_old_style_links_verify_unchanged() -> None:
    url = "https://a.test/x.jpg"
    _, _, signature, encoded = image_path(url, KEY).split("/")
    assert verify(signature, encoded, KEY) == url
    assert verify_link(signature, encoded, None, KEY) == (url, "")
    assert verify_link(signature, encoded, "", KEY) == (url, "")
