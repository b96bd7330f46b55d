"""The `yoast` pack: Yoast SEO's "The post … appeared first on …" feed footer in every language
Yoast ships. Part of the clean stage; does no I/O.

Yoast appends `The post %1$s appeared first on %2$s.` (option `rssafter`), translated into the
site's language, with %1$s a link to the post and %2$s a link to the blog. The `wordpress`
pack knows the English, German, French and Spanish wordings; this pack has the rest, from
Yoast's translations (wordpress-seo-<locale>.po: nl_NL "Het bericht %s verscheen eerst op
%s.") and as they appear in real feeds. A paragraph goes only when its whole text is one of
these templates with its first and last links in the %1$s and %2$s places (in the order the
language puts them): a sentence that quotes the wording, or has other words around it, stays.

Sources: the entries marked `# .po` and the nl, pt_BR, pl, cs, nb, zh_TW, ru wordings were read
in Yoast/wordpress-seo's languages/wordpress-seo-<locale>.po (msgid "The post %s appeared
first on %s."); the others are the current translate.wordpress.org wordings as they show in
feeds (sv, pt, it, ru, zh, nl seen in real feed items). A wrong guess costs nothing: it
matches no paragraph.
Matching is plain string comparison (no regular expression), so its cost is linear.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml.html import HtmlElement

from proxy.clean.nodes import text_of
from proxy.clean.packs.common import drop_all, link_texts
from proxy.clean.registry import declare_pack, item_rule

PACK = declare_pack(
    "yoast",
    '"The post … appeared first on …" in the languages Yoast SEO ships beyond en/de/fr/es'
    " (nl, pt, it, sv, da, nb, fi, pl, cs, sk, ru, uk, bg, ro, hu, el, tr, he, fa, ar, id, vi,"
    " ja, ko, zh, ca, gl, hr, sl, lt, …)",
)

# Yoast's rssafter string per locale, %1$s = link to the post, %2$s = link to the blog.
YOAST_FOOTERS: tuple[tuple[str, str], ...] = (
    ("en", "The post %1$s appeared first on %2$s."),
    ("en", "The post %1$s first appeared on %2$s."),
    ("de", "Der Beitrag %1$s erschien zuerst auf %2$s."),
    ("de", "Der Artikel %1$s erschien zuerst auf %2$s."),
    ("fr", "L’article %1$s est apparu en premier sur %2$s."),
    ("fr", "L'article %1$s est apparu en premier sur %2$s."),
    ("es", "La entrada %1$s se publicó primero en %2$s."),
    ("es_MX", "La publicación %1$s apareció primero en %2$s."),
    ("es", "La entrada %1$s aparece primero en %2$s."),
    ("it", "L'articolo %1$s proviene da %2$s."),
    ("it", "L’articolo %1$s proviene da %2$s."),
    ("it", "L'articolo %1$s sembra essere il primo su %2$s."),
    ("nl", "Het bericht %1$s verscheen eerst op %2$s."),
    ("nl", "De post %1$s verscheen eerst op %2$s."),
    ("pt_BR", "O post %1$s apareceu primeiro em %2$s."),
    ("pt_PT", "O artigo %1$s apareceu primeiro em %2$s."),
    ("pt", "O post %1$s foi publicado primeiro em %2$s."),
    ("gl", "A entrada %1$s apareceu primeiro en %2$s."),
    ("ca", "L'entrada %1$s va aparèixer primer a %2$s."),
    ("sv", "Inlägget %1$s dök först upp på %2$s."),
    ("da", "Indlægget %1$s blev vist første gang på %2$s."),
    ("da", "Indlægget %1$s dukkede først op på %2$s."),
    ("da", "Indlægget %1$s blev vist første gang den %2$s."),  # .po
    ("nb", "Innlegget %1$s dukket først opp på %2$s."),
    ("nb", "Innlegget %1$s vises først på %2$s."),
    ("fi", "Artikkeli %1$s julkaistiin ensin sivustolla %2$s."),
    ("fi", "Artikkeli %1$s julkaistiin ensimmäisen kerran %2$s."),  # .po
    ("pl", "Artykuł %1$s pochodzi z serwisu %2$s."),
    ("pl", "Wpis %1$s pojawił się pierwszy raz w %2$s."),
    ("cs", "Příspěvek %1$s se nejdříve objevil na %2$s."),
    ("cs", "Příspěvek %1$s pochází z %2$s."),
    ("sk", "Príspevok %1$s sa najskôr objavil na %2$s."),
    ("ru", "Сообщение %1$s появились сначала на %2$s."),
    ("ru", "Запись %1$s впервые появилась %2$s."),
    ("ru", "Запись %1$s впервые появилась на %2$s."),
    ("uk", "Запис %1$s спершу з'явився на %2$s."),
    ("uk", "Публікація %1$s спочатку з'явилася на %2$s."),
    ("bg", "Публикацията %1$s се появява първо на %2$s."),
    ("sr", "Чланак %1$s је први пут објављен на %2$s."),
    ("hr", "Članak %1$s se prvo pojavio na %2$s."),
    ("sl", "Prispevek %1$s se je najprej pojavil na %2$s."),
    ("ro", "Articolul %1$s apare prima dată în %2$s."),
    ("ro", "Articolul %1$s a apărut mai întâi pe %2$s."),
    ("hu", "%1$s bejegyzés először a(z) %2$s oldalon jelent meg."),
    ("hu", "A(z) %1$s bejegyzés először a(z) %2$s oldalon jelent meg."),
    ("el", "Το άρθρο %1$s εμφανίστηκε πρώτα στο %2$s."),
    ("tr", "%1$s ilk önce %2$s üzerinde ortaya çıktı."),
    ("tr", "%1$s ilk olarak %2$s üzerinde ortaya çıktı."),
    ("he", "הפוסט %1$s הופיע לראשונה ב-%2$s."),
    ("he", "הפוסט %1$s הופיע לראשונה ב%2$s."),
    ("he", "הפוסט %1$s הופיע ראשון ב%2$s"),  # .po
    ("fa", "نوشته %1$s اولین بار در %2$s. پدیدار شد."),
    ("fa", "نوشته %1$s اولین بار در %2$s پدیدار شد."),
    ("ar", "ظهرت المقالة %1$s أولاً على %2$s."),
    ("id", "Pos %1$s muncul pertama kali di %2$s."),
    ("id", "Artikel %1$s pertama kali tampil pada %2$s."),
    ("ms", "Pos %1$s muncul dahulu di %2$s."),
    ("vi", "Bài viết %1$s xuất hiện đầu tiên vào ngày %2$s."),
    ("vi", "Bài viết %1$s xuất hiện đầu tiên tại %2$s."),
    ("th", "โพสต์ %1$s ปรากฏครั้งแรกที่ %2$s"),
    ("ja", "投稿 %1$s は %2$s に最初に表示されました。"),
    ("ja", "投稿 %1$s は %2$s で最初に公開されました。"),
    ("ja", "%1$sは%2$sで公開された投稿です。"),  # .po
    ("ko", "%1$s 글이 %2$s에 처음 등장했습니다."),
    ("zh_CN", "文章%1$s首先出现在%2$s。"),
    ("zh_CN", "这篇文章%1$s首先出现在%2$s。"),
    ("zh_CN", "%1$s首先出现在%2$s上。"),
    ("zh_CN", "这个帖子%1$s首先出现在%2$s。"),
    ("zh_CN", "%1$s，首发于%2$s。"),  # .po
    ("zh_TW", "這篇文章 %1$s 最早出現於 %2$s。"),
    ("zh_TW", "文章 %1$s 最早出現於 %2$s。"),
    ("lt", "Įrašas %1$s pirmą kartą pasirodė %2$s."),
    ("lv", "Ieraksts %1$s pirmo reizi parādījās %2$s."),
    ("et", "Postitus %1$s ilmus esmakordselt saidil %2$s."),
    ("eu", "%1$s bidalketa %2$s webgunean agertu zen lehenengoz."),
    ("cy", "Ymddangosodd y cofnod %1$s gyntaf ar %2$s."),
)

_END_PUNCTUATION = ".。!！"


def _squash(text: str) -> str:
    """text without whitespace, apostrophes unified, end punctuation dropped: spacing
    around links and the final full stop vary between sites."""
    squashed = "".join(text.split()).replace("’", "'")
    return squashed.rstrip(_END_PUNCTUATION)


@dataclass(frozen=True, slots=True)
class Footer:
    locale: str
    before: str  # squashed text before the first placeholder
    between: str
    after: str
    post_first: bool  # %1$s (the post) comes before %2$s (the blog)

    def matches(self, text: str, first: str, last: str) -> bool:
        """Whether text is this footer with the links first, last in its places."""
        # Whichever placeholder comes first in the language, the first link fills it.
        return text == self.before + first + self.between + last + self.after


def _compile(locale: str, template: str) -> Footer:
    post, blog = template.index("%1$s"), template.index("%2$s")
    first, second = sorted((post, blog))
    return Footer(
        locale,
        _squash(template[:first] + "|")[:-1],
        _squash(template[first + 4 : second] + "|")[:-1],
        _squash(template[second + 4 :]),
        post < blog,
    )


FOOTERS = tuple(_compile(locale, template) for locale, template in YOAST_FOOTERS)
MAX_FOOTER_CHARS = 600
LAST_CANDIDATES = 4


def is_yoast_footer(node: HtmlElement) -> bool:
    links = link_texts(node)
    if len(links) < 2:
        return False
    text = _squash(text_of(node))
    if len(text) > MAX_FOOTER_CHARS:
        return False
    first, last = _squash(links[0] + "|")[:-1], _squash(links[-1] + "|")[:-1]
    if not first or not last:
        return False
    return any(footer.matches(text, first, last) for footer in FOOTERS)


@item_rule(PACK, "appeared_first_on")
def remove_yoast_footer(root: HtmlElement) -> None:
    """Yoast SEO's "The post … appeared first on …" footer advertises the blog it came from."""
    # Yoast appends it: only the last few paragraphs with two links or more can be it.
    candidates = [p for p in root.iter("p", "div") if len(p) >= 2][-LAST_CANDIDATES:]
    drop_all(root, [p for p in candidates if is_yoast_footer(p)])
