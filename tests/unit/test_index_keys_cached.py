"""The search index's rows use cached normalisation (store/search_sqlite.py): the same keys as
the domain's name_key / address_key, whatever came before in the cache."""

from __future__ import annotations

from datetime import date
from itertools import product
from types import SimpleNamespace

from cs_gateway.domain.enums import Sex
from cs_gateway.domain.search_keys import address_key, name_key
from cs_gateway.store.search_sqlite import index_row

KANA = ("ヤマダ　タロウ", "やまだ　たろう", "ﾔﾏﾀﾞ ﾀﾛｳ", "ガッコウ　ハナコ", "")
KANJI = ("山田　太郎", "髙橋　一郎", "山田 太郎")
ADDRESSES = (
    "青森県弘前市大字本町一丁目2番3号",
    "青森県弘前市大字本町１－２－３",
    "青森県弘前市大字本町1丁目2番地3",
    "青森県弘前市城東",
)


def test_index_rows_equal_the_domain_keys_for_every_text_and_repeat() -> None:
    for _round in range(2):  # the second round is served from the cache
        for person, (kana, kanji, address) in enumerate(product(KANA, KANJI, ADDRESSES)):
            record = SimpleNamespace(
                name_kana=kana, name_kanji=kanji, address=address, birth_date=date(1990, 1, 2), sex=Sex.FEMALE
            )
            assert index_row(person, record) == (  # type: ignore[arg-type]
                person,
                name_key(kana)[1] if kana else "",
                name_key(kanji)[1],
                address_key(address),
                "1990-01-02",
                int(Sex.FEMALE),
            )
