"""Synthetic but valid residents of 弘前市, for load, fault tests and benchmarks.

Person ``i`` always gets the same 住民票コード and 個人番号 (derived from i), so a test can
check afterwards what was stored.
"""

from __future__ import annotations

from datetime import date

from cs_gateway.domain.check_digit import make_individual_number, make_juminhyo_code
from cs_gateway.gen.jukinet.cs.v1 import identity_pb2 as pb
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2 as upb

MUNICIPALITY = "022021"  # 弘前市
_SURNAMES = (("山田", "ヤマダ"), ("佐藤", "サトウ"), ("工藤", "クドウ"), ("成田", "ナリタ"), ("三上", "ミカミ"))
_GIVEN = (("太郎", "タロウ"), ("花子", "ハナコ"), ("一郎", "イチロウ"), ("陽菜", "ヒナ"), ("翔", "ショウ"))
_TOWNS = ("大字上白銀町", "大字本町", "大字土手町", "大字富田町", "大字城東")


def pb_date(value: date) -> pb.Date:
    return pb.Date(year=value.year, month=value.month, day=value.day)


def juminhyo_code_of(i: int) -> str:
    return make_juminhyo_code(f"{(i * 7919 + 1_000_000_000) % 10**10:010d}")


def individual_number_of(i: int) -> str:
    return make_individual_number(f"{(i * 104_729 + 30_000_000_000) % 10**11:011d}")


def synthetic_entry(i: int, *, moved_in: date = date(2025, 4, 1)) -> pb.ResidentEntry:
    """A valid ResidentEntry for person i (distinct codes and numbers for i < 10**6)."""
    surname, surname_kana = _SURNAMES[i % len(_SURNAMES)]
    given, given_kana = _GIVEN[(i // len(_SURNAMES)) % len(_GIVEN)]
    birth = date(1950 + i % 60, 1 + i % 12, 1 + i % 28)
    return pb.ResidentEntry(
        juminhyo_code=juminhyo_code_of(i),
        name_kanji=f"{surname}　{given}",
        name_kana=f"{surname_kana}　{given_kana}",
        birth_date=pb_date(birth),
        sex=pb.SEX_MALE if i % 2 else pb.SEX_FEMALE,
        municipality_code=MUNICIPALITY,
        aza_code=f"{1000000 + i % 900:07d}",
        postal_code="0368551",
        address=f"青森県弘前市{_TOWNS[i % len(_TOWNS)]}{1 + i % 30}番地{1 + i % 9}",
        individual_number=individual_number_of(i),
        resident_since=pb_date(moved_in),
        address_since=pb_date(moved_in),
        notified_on=pb_date(moved_in),
        relationship=pb.RELATIONSHIP_HEAD,
        previous_municipality_code="011002",
        previous_address="北海道札幌市中央区北一条西二丁目",
        juminhyo_code_since=pb_date(birth),  # a 転入 carries it: the code was given elsewhere
        # one in ten a 外国人住民 (住基法30条の45), the others 日本人住民
        resident_class=pb.RESIDENT_CLASS_FOREIGN if i % 10 == 9 else pb.RESIDENT_CLASS_JAPANESE,
    )


def tennyu_request(i: int, *, request_prefix: str = "syn", moved_in: date = date(2025, 4, 1)) -> upb.UpdateRequest:
    """A 転入 of person i, accepted by an empty store."""
    return upb.UpdateRequest(
        request_id=f"{request_prefix}-{i}",
        change_reason=pb.CHANGE_REASON_TENNYU,
        change_date=pb_date(moved_in),
        operator_id="kizon-op01",
        terminal_id="kizon-t01",
        entry=synthetic_entry(i, moved_in=moved_in),
    )
