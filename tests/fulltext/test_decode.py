"""decode: page bytes → text, charsets picked the way browsers pick them."""

from __future__ import annotations

import pytest

from proxy.fulltext.decode import decode_html
from tests.helpers import DATA

GBK_PAGE = (DATA / "articles" / "article-gbk.html").read_bytes()


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"<p>caf\xc3\xa9</p>", "", "café"),
        (b"\xef\xbb\xbf<p>caf\xc3\xa9</p>", "text/html; charset=latin-1", "café"),  # BOM wins
        (b"<p>caf\xe9 \x93q\x94</p>", "text/html; charset=iso-8859-1", "café “q”"),  # as cp1252
        (b'<meta charset="big5"><p>\xa4\xa4\xa4\xe5</p>', "text/html", "中文"),
        ('<meta charset="shift_jis"><p>日本語</p>'.encode("shift_jis"), "", "日本語"),
        (
            '<?xml version="1.0" encoding="windows-1251"?><p>Привет</p>'.encode("cp1251"),
            "",
            "Привет",
        ),
        (b"<p>caf\xc3\xa9</p>", "text/html; charset=no-such-charset", "café"),
        (GBK_PAGE.replace(b"; charset=gbk", b""), "text/html", "中文标记"),  # guessed
    ],
    ids=[
        "utf-8",
        "bom",
        "latin-1",
        "big5",
        "shift_jis",
        "xml decl",
        "unknown label",
        "undeclared gbk",
    ],
)
def test_decode_html(body: bytes, content_type: str, expected: str) -> None:
    assert expected in decode_html(body, content_type)
