"""送付先情報's format checks (domain/sofusaki.py via api/sofusaki_servicer.check_request): each
bad item refused with its reason code and field; the sample passes; all 66 items are on the wire."""

from __future__ import annotations

from datetime import date

import pytest

from clients.sofusaki_sample import sample_sofusaki
from cs_gateway.api.sofusaki_servicer import check_request
from cs_gateway.domain.sofusaki import ITEM_COUNT
from cs_gateway.gen.jukinet.cs.v1 import identity_pb2
from cs_gateway.gen.jukinet.cs.v1 import sofusaki_service_pb2 as pb


def _today() -> date:
    return date(2026, 6, 1)


def _check(message: pb.SofusakiInfo) -> tuple[str, str] | None:
    v = check_request(message.SerializeToString(), municipality_code="022021", today=_today)
    return None if v is None else (v.code, v.field)


def test_the_wire_has_the_66_items_numbered_as_the_seed() -> None:
    numbers = [f.number for f in pb.SofusakiInfo.DESCRIPTOR.fields]
    assert numbers == list(range(1, ITEM_COUNT + 1))


def test_the_sample_passes() -> None:
    assert _check(sample_sofusaki()) is None


def _with(**changes: object) -> pb.SofusakiInfo:
    m = sample_sofusaki()
    for name, value in changes.items():
        if isinstance(value, identity_pb2.Date):
            getattr(m, name).CopyFrom(value)
        else:
            setattr(m, name, value)
    return m


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"sofusaki_address_length": 3}, ("ITEM_LENGTH_MISMATCH", "sofusaki_address_length")),
        ({"name_kana_length": 1}, ("ITEM_LENGTH_MISMATCH", "name_kana_length")),
        ({"name_kanji_gaiji_count": 1}, ("GAIJI_COUNT_MISMATCH", "name_kanji_gaiji_count")),
        ({"sofusaki_name": "弘前\u200b太郎"}, ("CHARACTER_NOT_ALLOWED", "sofusaki_name")),
        ({"postal_code": "036-8551"}, ("INVALID_POSTAL_CODE", "postal_code")),
        ({"card_place_postal_code": ""}, ("INVALID_POSTAL_CODE", "card_place_postal_code")),
        ({"municipality_phone": "abc"}, ("INVALID_PHONE", "municipality_phone")),
        ({"municipality_code": "022039"}, ("MUNICIPALITY_MISMATCH", "municipality_code")),
        ({"processed_on": identity_pb2.Date(year=2026, month=2, day=30)}, ("INVALID_DATE", "processed_on")),
        ({"processed_on": identity_pb2.Date(year=2027, month=1, day=1)}, ("FUTURE_DATE", "processed_on")),
        ({"birth_date": identity_pb2.Date(year=1980, month=13, day=1)}, ("INVALID_DATE", "birth_date")),
        ({"kubun_30_45": 9}, ("INVALID_KUBUN", "kubun_30_45")),
        ({"kubun_30_45": pb.KUBUN_3045_CHUCHOKI}, ("MISSING_FIELD", "residence_expiry")),
        (
            {"residence_expiry": identity_pb2.Date(year=2028, month=1, day=1)},
            ("EXPIRY_NOT_APPLICABLE", "residence_expiry"),
        ),
        ({"juminhyo_code": "12345678901"}, ("INVALID_JUMINHYO_CODE", "juminhyo_code")),
        ({"individual_number": "123456789012"}, ("INVALID_INDIVIDUAL_NUMBER", "individual_number")),
        ({"name_kana": "ひろさき", "name_kana_length": 4}, ("INVALID_KANA", "name_kana")),
        ({"print_class": "12"}, ("INVALID_VALUE", "print_class")),
        ({"gaiji_flag": True}, ("GAIJI_FLAG_MISMATCH", "gaiji_flag")),
        ({"sex": 0}, ("INVALID_ENUM", "sex")),
        ({"person_count": 0}, ("INVALID_VALUE", "person_count")),
        ({"former_surname_kanji": "佐藤"}, ("INCOMPLETE_GROUP", "former_surname_kana")),
        ({"romaji_name": "Hirosaki"}, ("INVALID_TEXT", "romaji_name")),
    ],
)
def test_a_bad_item_is_refused_naming_the_field(changes: dict[str, object], expected: tuple[str, str]) -> None:
    assert _check(_with(**changes)) == expected


def test_a_chuchoki_with_an_expiry_passes() -> None:
    m = _with(kubun_30_45=pb.KUBUN_3045_CHUCHOKI, residence_expiry=identity_pb2.Date(year=2028, month=1, day=1))
    assert _check(m) is None


def test_malformed_bytes_and_unknown_fields_are_refused() -> None:
    body = sample_sofusaki().SerializeToString()
    assert check_request(b"\xff\xff", municipality_code="022021", today=_today).code == "MALFORMED_REQUEST"
    smuggled = body + b"\xc2\x0c\x03abc"  # field 200, length-delimited: not a 別添1 (3) item
    assert check_request(smuggled, municipality_code="022021", today=_today).code == "MALFORMED_REQUEST"
