"""The search keys of a name and an address: what a counter search compares, on both sides.

* A name typed in kana (katakana or hiragana, either width) is compared on 清音化かな (kana.seion):
  ガ and カ, ッ and ツ match, so a search does not miss a name over a dakuten; a name typed in
  kanji is compared on its kanji. Spaces (ASCII and U+3000) never count.
* An address is compared on a normalised form: NFKC (full/half width), no spaces, the 丁目
  notation folded (一丁目2番3号, 1丁目2番地3, １－２－３ -> 1-2-3), and matched as a prefix.
"""

from __future__ import annotations

import re
import unicodedata

from .kana import is_katakana_name, seion

_SPACES = re.compile(r"[\s\u3000]+")
_KANJI_DIGITS = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_NUMBER_BEFORE = re.compile(r"([〇一二三四五六七八九十]+)(?=丁目|番|号)")
_HYPHENS = re.compile(r"[‐‑‒–—―−－ｰ]|(?<=[0-9])ー(?=[0-9])")
KANA = "kana"
KANJI = "kanji"


def _kanji_number(text: str) -> str:
    """一 -> 1, 十二 -> 12, 二十三 -> 23 (the numbers of 丁目 and 番地)."""
    if "十" not in text:
        return "".join(str(_KANJI_DIGITS[c]) for c in text)
    tens, _, ones = text.partition("十")
    return str((_KANJI_DIGITS[tens] if tens else 1) * 10 + (_KANJI_DIGITS[ones] if ones else 0))


def _hiragana_to_katakana(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


def name_key(text: str) -> tuple[str, str]:
    """(KANA, 清音化かな) for a name in kana, else (KANJI, the kanji without spaces)."""
    plain = _SPACES.sub("", unicodedata.normalize("NFKC", text))
    kana = _hiragana_to_katakana(plain)
    if kana and is_katakana_name(kana):
        return KANA, seion(kana)
    return KANJI, plain


def address_key(text: str) -> str:
    plain = _SPACES.sub("", unicodedata.normalize("NFKC", text))
    plain = _KANJI_NUMBER_BEFORE.sub(lambda m: _kanji_number(m.group(1)), plain)
    plain = _HYPHENS.sub("-", plain)
    plain = re.sub(r"(?<=[0-9])(丁目|番地|番)(?=[0-9])", "-", plain)
    plain = re.sub(r"(?<=[0-9])(丁目|番地|番|号)", "", plain)
    return re.sub(r"-{2,}", "-", plain).rstrip("-")
