"""The canonical encodings of a change notice and of a record, against fixed vectors."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from cs_gateway.domain.notice_encoding import (
    EncodingError,
    decode_notice,
    decode_record,
    encode_notice,
    encode_record,
    record_of_notice,
)

ITEMS = {
    "juminhyo_code": "12345678901",
    "name_kanji": "弘前　太郎",
    "name_kana": "ヒロサキ　タロウ",
    "birth_date": "1980-04-01",
    "sex": 1,
    "address": "青森県弘前市大字上白銀町１番地１",
    "individual_number": "123456789018",
    "change_reason": 1,
    "change_date": "2025-04-01",
    "update_seq": 7,
    "previous_juminhyo_code": "",
    "record_status": 0,
}
NOTICE_VECTOR = (
    b"jukinet-cs-change-notice/v1\n"
    + '{"address":"青森県弘前市大字上白銀町１番地１","birth_date":"1980-04-01","change_date":"2025-04-01",'
    '"change_reason":1,"individual_number":"123456789018","juminhyo_code":"12345678901",'
    '"name_kana":"ヒロサキ　タロウ","name_kanji":"弘前　太郎","previous_juminhyo_code":"",'
    '"record_status":0,"sex":1,"update_seq":7}'.encode()
)
NOTICE_SHA256 = "f92ecaf6e75057fb50bb126f236825a674a8ff22d27edb4fa634fbdd0d085a88"
RECORD_SHA256 = "f794e0e2274e8f124f2d1e3061e447a85294c3311a4dba0317b26bb1645ac4ab"


def test_notice_encoding_matches_the_fixed_vector() -> None:
    encoded = encode_notice(ITEMS)
    assert encoded == NOTICE_VECTOR
    assert hashlib.sha256(encoded).hexdigest() == NOTICE_SHA256


def test_record_encoding_matches_the_fixed_vector_and_differs_from_the_notice_by_label() -> None:
    encoded = encode_record(ITEMS)
    assert hashlib.sha256(encoded).hexdigest() == RECORD_SHA256
    assert encoded.removeprefix(b"jukinet-cs-record/v1\n") == NOTICE_VECTOR.removeprefix(
        b"jukinet-cs-change-notice/v1\n"
    )
    assert record_of_notice(NOTICE_VECTOR) == encoded


def test_encoding_is_independent_of_item_order_and_python_types() -> None:
    shuffled = dict(reversed(list(ITEMS.items())))
    typed = {**ITEMS, "birth_date": date(1980, 4, 1), "change_date": date(2025, 4, 1)}
    assert encode_notice(shuffled) == encode_notice(typed) == NOTICE_VECTOR


def test_decoding_round_trips() -> None:
    assert decode_notice(NOTICE_VECTOR) == ITEMS
    assert decode_record(encode_record(ITEMS)) == ITEMS


@pytest.mark.parametrize(
    "data",
    [
        NOTICE_VECTOR.replace(b'"sex":1', b'"sex": 1'),  # not canonical (whitespace)
        NOTICE_VECTOR.replace(b"v1\n", b"v2\n"),  # wrong label
        encode_record(ITEMS),  # a record is not a notice
        NOTICE_VECTOR[:-1],  # truncated
        NOTICE_VECTOR.replace(b'"update_seq":7', b'"update_seq":"7"'),  # wrong type
        NOTICE_VECTOR.replace(b',"update_seq":7', b""),  # an item missing
    ],
)
def test_a_non_canonical_or_foreign_encoding_is_refused(data: bytes) -> None:
    with pytest.raises(EncodingError):
        decode_notice(data)


def test_an_unknown_item_is_refused() -> None:
    with pytest.raises(EncodingError):
        encode_notice({**ITEMS, "relationship": 1})

