"""evidence.download_prompts: a short line at an item's edge that asks the reader to download or
install an app or a program, with its link: 请点击这里下载翻墙软件, 下载澎湃新闻客户端, "Download
our app", "Get the app for iOS and Android", "Click here to download our software",
アプリをダウンロード, "Jetzt die App herunterladen", "Téléchargez notre application".

Known by the call's form, in many languages, and the unit's shape (edges.py): at most
PROMPT_CHARS characters, with a link, no sentence of an article. The line must *open* with
the call (after "please"), or, in Japanese and Korean where the verb comes last, hold the app
word right before it; and it must name software (app, 客户端, 软件, アプリ…), so a report's
"Click here to download the full report" and a post's "下载地址：<a>…</a>" (the post's own
file) stay, as does a review whose text says "click here to download" (not a short line at
the edge). A label ending in a colon after the call ("下载软件：") is the post's own list, and
in word languages the line ends within TAIL_WORDS words of the software's name ("…for iOS
and Android"): "Download the software from the official website, then install it" is a step.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from proxy.clean import registry
from proxy.clean.packs.evidence.common import PACK
from proxy.clean.packs.evidence.edges import Unit, any_of, remove_units
from proxy.clean.packs.wechat import DECORATION
from proxy.clean.registry import item_rule

PROMPT_CHARS = 60  # one short line

# Chinese: (请)点击(这里)(即可)(免费)下载/安装…, or (立即)下载…; either script.
_CJK_CLICK = re.compile(  # (\A: the call opens the line; a search fails at once elsewhere)
    r"\A(?:请|請)?(?:点击|點擊|点|點|戳|轻点|輕點|按)(?:这里|這裡|这儿|這兒|此处|此處|此|链接|鏈接|下方|下面)?"
    r"(?:即可|可|来|來|去)?(?:免费|免費|立即)?(?:下载|下載|安装|安裝)"
)
_CJK_VERB = re.compile(r"(?:立即|马上|馬上|免费|免費|快来|快來|赶快|趕快)?(?:下载|下載|安装|安裝)")
_CJK_SOFTWARE = re.compile(
    r"客户端|客戶端|软件|軟件|应用|應用|app|程序|插件|浏览器|瀏覽器|vpn|翻墙|翻牆|apk"
)
# Japanese, Korean: the app word, then the verb ("アプリをダウンロード", "앱 다운로드").
_VERB_LAST = re.compile(
    r"(?:アプリ|ソフト|クライアント)(?:を|の)?(?:無料)?(?:ダウンロード|インストール)"
    r"|(?:앱|어플|애플리케이션) ?(?:을|를)? ?(?:다운로드|설치|다운)"
)

# Other languages, by words (case-folded): an opening click phrase, the verbs, software words.
_WORD = re.compile(r"\w+")
# Click phrases, as the words they are (case-folded): "click here", "klicken Sie hier"…
_CLICKS = tuple(
    tuple(phrase.split())
    for phrase in (
        *("click here", "tap here", "click the link", "click this link", "klicken sie hier"),
        *("klick hier", "hier klicken", "cliquez ici", "clique ici", "haz clic aquí"),
        *("haga clic aquí", "clique aqui", "clica aqui", "clicca qui", "klik hier"),
        *("нажмите здесь", "нажмите сюда"),
    )
)
_OPENERS = frozenset(
    {"please", "bitte", "jetzt", "now", "por", "favor", "s", "il", "vous", "plaît"}
)
_VERBS = frozenset(
    {
        "download",
        "install",
        "get",
        "grab",
        "herunterladen",
        "herunterzuladen",
        "runterladen",
        "lade",
        "laden",
        "installieren",
        "installiere",
        "hol",
        "holen",
        "télécharger",
        "téléchargez",
        "télécharge",
        "installez",
        "descargar",
        "descarga",
        "descargue",
        "instalar",
        "instala",
        "baixar",
        "baixe",
        "baixa",
        "instale",
        "scaricare",
        "scarica",
        "installa",
        "downloaden",
        "скачать",
        "скачайте",
        "установите",
        "установить",
    }
)
# German and Dutch put the infinitive last: "(Jetzt) die App herunterladen".
_LAST_VERBS = frozenset({"herunterladen", "runterladen", "installieren", "downloaden"})
_SOFTWARE = frozenset(
    {
        "app",
        "apps",
        "application",
        "applications",
        "client",
        "software",
        "installer",
        "apk",
        "extension",
        "appli",
        "anwendung",
        "programm",
        "aplicación",
        "aplicacion",
        "aplicativo",
        "applicazione",
        "приложение",
        "программу",
    }
)
_CALL_WORDS = 8  # words between the call's parts, at most
TAIL_WORDS = 4  # words after the software's name, at most ("for iOS and Android")


def _word_call(text: str) -> bool:
    """ "(Please) download/get our … app", "Click here to download … software"; the line ends
    soon after the software's name ("…for iOS and Android"): "Download the software from the
    official website, then install it" is a step of a how-to, not a call."""
    words = _WORD.findall(text.casefold())
    named = [i for i, w in enumerate(words) if w in _SOFTWARE]
    if not named or len(words) - 1 - named[-1] > TAIL_WORDS:
        return False
    at = 0
    while at < len(words) and words[at] in _OPENERS:
        at += 1
    click = next((c for c in _CLICKS if tuple(words[at : at + len(c)]) == c), None)
    if click is not None:  # the verb within a few words after it
        return any(w in _VERBS for w in words[at + len(click) : at + len(click) + _CALL_WORDS])
    if words[-1] in _LAST_VERBS:  # "Jetzt die App herunterladen", "App downloaden"
        return len(words) - 1 - named[0] <= _CALL_WORDS
    if words[at] not in _VERBS:
        return False  # the verb opens the line
    return named[0] - at <= _CALL_WORDS


# Pieces of text at least one of which every call read here holds, as written: the verbs
# in Chinese, Japanese and Korean, the software words elsewhere (app, client, software…).
PIECES = (
    *("下载", "下載", "安装", "安裝", "ダウンロード", "インストール", "다운", "설치"),
    *("app", "App", "APP", "lient", "LIENT", "oftware", "OFTWARE", "nstaller", "apk", "APK"),
    *("xtension", "nwendung", "rogramm", "plicaci", "plicativo", "риложени", "рограмм"),
)
_ANY_PIECE = any_of(PIECES)  # (one search, not one per piece)


def is_download_call(text: str) -> bool:
    """Whether a short line's text asks the reader to download or install software."""
    if not _ANY_PIECE.search(text):
        return False  # (the walk's first test too: edges.remove_units' may_hold)
    line = text.strip(DECORATION).casefold()
    click = _CJK_CLICK.match(line)
    if click is not None:
        return bool(_CJK_SOFTWARE.search(line, click.end()))
    verb = _CJK_VERB.match(line)
    if verb is not None and ":" not in line and "：" not in line:  # (a label: the post's own)
        return bool(_CJK_SOFTWARE.search(line, verb.end()))
    if _VERB_LAST.search(line[:20]):
        return True
    return _word_call(line)


def _is_prompt(unit: Unit) -> bool:
    return unit.characters <= PROMPT_CHARS and is_download_call(unit.text) and bool(unit.links())


@item_rule(PACK, "download_prompts")
def remove_download_prompts(root: HtmlElement) -> None:
    """A line at the item's edge asking the reader to download or install an app or program."""
    if registry.use_prefilters and next(root.iter("a"), None) is None:
        return  # (_is_prompt wants a link in the unit: an item without one has no prompt)
    remove_units(root, _is_prompt, _ANY_PIECE.search)
