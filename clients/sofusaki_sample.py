"""A valid 送付先情報 (all 66 items of 別添1 (3)) for the demo and the tests, as 既存住基 would
send it; synthetic data only."""

from __future__ import annotations

from cs_gateway.domain.check_digit import make_individual_number, make_juminhyo_code
from cs_gateway.gen.jukinet.cs.v1 import identity_pb2
from cs_gateway.gen.jukinet.cs.v1 import sofusaki_service_pb2 as pb


def _text(value: str) -> tuple[int, str]:
    return len(value), value


def sample_sofusaki(i: int = 0, *, municipality_code: str = "022021") -> pb.SofusakiInfo:
    """The i-th synthetic 送付先情報 (distinct 送付先管理番号, 住民票コード and 個人番号)."""
    address = "青森県弘前市大字上白銀町1番地1"
    name = "弘前\u3000太郎"
    kana = "ヒロサキ\u3000タロウ"
    m_name, m_addr = "弘前市", "青森県弘前市大字上白銀町1番地1"
    place, place_addr = "弘前市役所\u3000市民課", "青森県弘前市大字上白銀町1番地1"
    return pb.SofusakiInfo(
        sofusaki_number=f"S{i:08d}",
        sofusaki_postal_code="0368551",
        sofusaki_address_length=len(address),
        sofusaki_address=address,
        sofusaki_address_gaiji_count=0,
        sofusaki_name_length=len(name),
        sofusaki_name=name,
        sofusaki_name_gaiji_count=0,
        municipality_code=municipality_code,
        municipality_name_length=len(m_name),
        municipality_name=m_name,
        municipality_postal_code="0368551",
        municipality_address_length=len(m_addr),
        municipality_address=m_addr,
        municipality_address_gaiji_count=0,
        municipality_phone="0172-35-1111",
        issue_place_name_length=len(place),
        issue_place_name=place,
        issue_place_name_gaiji_count=0,
        issue_place_postal_code="0368551",
        issue_place_address_length=len(place_addr),
        issue_place_address=place_addr,
        issue_place_address_gaiji_count=0,
        issue_place_phone="0172-35-1111",
        card_place_name_length=len(place),
        card_place_name=place,
        card_place_name_gaiji_count=0,
        card_place_postal_code="0368551",
        card_place_address_length=len(place_addr),
        card_place_address=place_addr,
        card_place_address_gaiji_count=0,
        card_place_phone="0172-35-1111",
        person_count=1,
        processed_on=identity_pb2.Date(year=2026, month=4, day=1),
        operator_id="op-001",
        terminal_id="term-01",
        print_class="1",
        juminhyo_code=make_juminhyo_code(f"{7100000000 + i:010d}"),
        name_kanji_length=len(name),
        name_kanji=name,
        name_kanji_gaiji_count=0,
        name_kana_length=len(kana),
        name_kana=kana,
        postal_code="0368551",
        address_length=len(address),
        address=address,
        address_gaiji_count=0,
        birth_date=identity_pb2.Date(year=1980, month=5, day=17),
        sex=identity_pb2.SEX_MALE,
        individual_number=make_individual_number(f"{71000000000 + i:011d}"),
        kubun_30_45=pb.KUBUN_3045_NONE,
        substitute_result="0",
        romaji_name="HIROSAKI TARO",
    )
