"""Bylines: a block that reads as the author's name. Boilerplate detection keeps them even
when they open every item (precision over recall: a reader wants to see who wrote it). No I/O.
"""

from __future__ import annotations

# A byline: "By Jane Doe", "Von …", "Par …", "作者：…" — an author word and a few words of
# name; or a bare name: two to four capitalised words (Jane Doe, Jean-Luc O'Neill). Checked
# with string operations, word by word: no pattern to backtrack over.
BYLINE_WORDS = frozenset(
    {"by", "von", "par", "por", "di", "door", "av", "af", "przez", "автор", "автор:"}
)
BYLINE_LEADS = frozenset({"written", "posted", "words", "text", "story", "photos", "photo"})
CJK_BYLINE_WORDS = ("作者", "撰文", "记者", "文", "著")
_NAME_PUNCTUATION = frozenset("'’.-")
# A signature's dash: "— Luke", "– Jane Doe", "-- Ann", "~ Bo" close a post with a name.
SIGNATURE_DASHES = "—–―-~ "
_SENTENCE_PUNCTUATION = frozenset(".,;:!?。，；！？")


def _is_name_word(word: str) -> bool:
    return (
        word[:1].isupper()
        and all(c.isalnum() or c in _NAME_PUNCTUATION for c in word)
        and word.rstrip(".") != ""
    )


def is_byline(text: str) -> bool:
    """Whether a block's text reads as the author's name (kept even when it repeats)."""
    words = text.split()
    if not words or len(words) > 8 or sum(map(len, words)) > 80:
        return False
    if 2 <= len(words) <= 4 and all(map(_is_name_word, words)):
        return True  # a bare name
    signed = " ".join(words).lstrip(SIGNATURE_DASHES).split()
    if signed != words:  # "— Luke", "--Jane Doe": a signature
        return 1 <= len(signed) <= 4 and all(map(_is_name_word, signed))
    first = words[0]
    for lead in CJK_BYLINE_WORDS:
        if first.startswith(lead):
            rest = "".join(words)[len(lead) :].lstrip(":：|/ ")
            return 0 < len(rest) <= 12 and not _SENTENCE_PUNCTUATION.intersection(rest)
    if words[0].lower() in BYLINE_LEADS and len(words) > 1:
        words = words[1:]
    if words[0].lower().rstrip(":") not in BYLINE_WORDS:
        return False
    name = [w for w in words[1:] if w not in (":", "|", "/")]
    if not 1 <= len(name) <= 5:
        return False
    return all(not _SENTENCE_PUNCTUATION.intersection(w.rstrip(".")) for w in name)
