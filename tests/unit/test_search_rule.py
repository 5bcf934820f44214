"""The seed's two-item search rule (III(2)-2; 性別 never counts) and the search keys of a name
(清音化かな or kanji) and an address (width, spaces, 丁目 notation)."""

from __future__ import annotations

from datetime import date

import pytest

from clients.synthetic import individual_number_of, juminhyo_code_of
from cs_gateway.domain.enums import Sex
from cs_gateway.domain.search_keys import KANA, KANJI, address_key, name_key
from cs_gateway.domain.search_rule import (
    BY_CODE,
    BY_FOUR_ITEMS,
    BY_NUMBER,
    SearchCriteria,
    four_item_keys,
    municipality_key,
    search_way,
)
from cs_gateway.domain.violations import Violation
from cs_gateway.store.search_sqlite import search_sql

BIRTH = date(1952, 3, 3)
CITY = municipality_key("青森県弘前市")  # gateway.municipality_name of the dev configuration


def way(c: SearchCriteria, *, municipality: str) -> object:
    """search_way with the keys the servicer makes for it."""
    return search_way(c, four_item_keys(c, municipality=municipality))


@pytest.mark.parametrize(
    "criteria",
    [
        SearchCriteria(name="工藤太郎", sex=Sex.MALE),
        SearchCriteria(address="弘前市", sex=Sex.FEMALE),
        SearchCriteria(birth_date=BIRTH, sex=Sex.MALE),
        SearchCriteria(name="工藤太郎"),
        SearchCriteria(name="   ", birth_date=BIRTH),  # a blank name is no item
        SearchCriteria(),
        # an address that normalises to nothing names nothing: not a second item beside 生年月日
        SearchCriteria(address="-", birth_date=BIRTH, sex=Sex.MALE),
        SearchCriteria(address="－－", birth_date=BIRTH),
        SearchCriteria(address="‐ ―", birth_date=BIRTH, sex=Sex.FEMALE),
        SearchCriteria(name="工藤太郎", address=" - ", sex=Sex.MALE),
    ],
)
def test_two_item_rule_fewer_than_two_of_name_address_birth_is_refused(criteria: SearchCriteria) -> None:
    refused = way(criteria, municipality=CITY)
    assert isinstance(refused, Violation) and refused.code == "SEARCH_NEEDS_TWO_ITEMS"


@pytest.mark.parametrize(
    "criteria",
    [
        SearchCriteria(name="工藤太郎", birth_date=BIRTH),
        SearchCriteria(name="工藤太郎", address="弘前市"),
        SearchCriteria(name="クドウ タロウ", address="弘前市", birth_date=BIRTH, sex=Sex.MALE),
        SearchCriteria(name="工藤太郎", address="-", birth_date=BIRTH),  # 氏名 + 生年月日; the "-" names nothing
    ],
)
def test_name_with_address_or_birth_date_makes_a_four_item_search(criteria: SearchCriteria) -> None:
    assert way(criteria, municipality=CITY) == BY_FOUR_ITEMS


@pytest.mark.parametrize(
    "address",
    ["青森県弘前市", "青森県", "青森県 弘前市", "青森県　弘前市", "青", "青森県弘前"],
)
def test_an_address_naming_only_the_municipality_is_no_item_beside_a_name(address: str) -> None:
    """Every resident of the file lives in the municipality: 氏名 + 住所 "青森県弘前市" (or a part
    of that name) would be a search by 氏名 alone."""
    criteria = SearchCriteria(name="工藤太郎", address=address, sex=Sex.MALE)
    refused = way(criteria, municipality=CITY)
    assert isinstance(refused, Violation) and refused.code == "SEARCH_NEEDS_TWO_ITEMS"
    keys = four_item_keys(criteria, municipality=CITY)
    assert keys.named() == ["name"] and keys.address  # still searched by: it narrows nothing
    with_birth = SearchCriteria(name="工藤太郎", address=address, birth_date=BIRTH)
    assert way(with_birth, municipality=CITY) == BY_FOUR_ITEMS  # 氏名 + 生年月日


@pytest.mark.parametrize("address", ["青森県弘前市大字", "青森県弘前市大字表町", "青森県弘前市大字表町1-2", "弘前市"])
def test_an_address_going_past_the_municipality_counts(address: str) -> None:
    """A part of the municipality (町名, 大字, 番地) narrows; one that does not begin with the
    municipality's name ("弘前市") counts too: it matches nobody of the file."""
    assert way(SearchCriteria(name="工藤太郎", address=address), municipality=CITY) == BY_FOUR_ITEMS


def test_without_a_configured_municipality_any_address_key_counts() -> None:
    assert way(SearchCriteria(name="工藤太郎", address="青森県弘前市"), municipality="") == BY_FOUR_ITEMS
    assert municipality_key("") == "" and municipality_key("青森県　弘前市") == CITY


@pytest.mark.parametrize(
    "criteria",
    [
        SearchCriteria(address="弘前市", birth_date=BIRTH),
        SearchCriteria(address="青森県弘前市大字表町1-2-3", birth_date=BIRTH, sex=Sex.MALE),
        SearchCriteria(name="   ", address="弘前市", birth_date=BIRTH),
    ],
)
def test_address_and_birth_date_without_a_name_is_refused(criteria: SearchCriteria) -> None:
    """The seed names the combinations: 氏名と住所, 氏名と生年月日 (III(2)-2). 住所 + 生年月日
    would list a district by walking the birth dates."""
    refused = way(criteria, municipality=CITY)
    assert isinstance(refused, Violation) and refused.code == "SEARCH_NEEDS_NAME"


@pytest.mark.parametrize(
    "keys",
    [
        {"name": None, "birth_date": BIRTH, "address_prefix": "弘前市"},
        {"name": (KANJI, ""), "birth_date": BIRTH, "address_prefix": ""},
        {"name": (KANJI, "工藤太郎"), "birth_date": None, "address_prefix": ""},
        {"name": (KANJI, "工藤太郎"), "birth_date": None, "address_prefix": "", "sex": Sex.MALE},
    ],
)
def test_the_index_query_refuses_keys_the_rule_refuses(keys: dict) -> None:
    """Behind the domain's rule, the store's query builder refuses on its own (no name key, or
    nothing beside it but 性別) rather than run a search the rule does not allow."""
    with pytest.raises(ValueError, match="name key"):
        search_sql(**{"sex": None, **keys})


def test_code_or_number_alone_is_enough_but_only_one_way_at_a_time() -> None:
    assert way(SearchCriteria(juminhyo_code=juminhyo_code_of(1)), municipality=CITY) == BY_CODE
    assert way(SearchCriteria(individual_number=individual_number_of(1)), municipality=CITY) == BY_NUMBER
    mixed = way(SearchCriteria(juminhyo_code=juminhyo_code_of(1), name="工藤太郎", birth_date=BIRTH), municipality=CITY)
    assert isinstance(mixed, Violation) and mixed.code == "SEARCH_ONE_WAY"
    bad = way(SearchCriteria(juminhyo_code="12345678901"), municipality=CITY)
    assert isinstance(bad, Violation) and bad.code == "INVALID_JUMINHYO_CODE"


def test_criteria_repr_names_items_never_values() -> None:
    text = repr(SearchCriteria(name="工藤太郎", birth_date=BIRTH))
    assert "工藤" not in text and "1952" not in text and "name" in text


def test_the_search_keys_name_the_items_searched_and_never_show_them() -> None:
    keys = four_item_keys(
        SearchCriteria(name="くどう たろう", address="-", birth_date=BIRTH, sex=Sex.MALE), municipality=CITY
    )
    assert (keys.name, keys.address, keys.birth_date) == ((KANA, "クトウタロウ"), "", BIRTH)
    assert keys.named() == ["name", "birth_date"]  # the "-" names nothing
    text = repr(keys)
    assert "クトウ" not in text and "1952" not in text and text == "FourItemKeys(items=name,birth_date,sex)"


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("クドウ タロウ", (KANA, "クトウタロウ")),
        ("くどう　たろう", (KANA, "クトウタロウ")),
        ("ｸﾄﾞｳ ﾀﾛｳ", (KANA, "クトウタロウ")),
        ("キャッシュ", (KANA, "キヤツシユ")),
        ("パク", (KANA, "ハク")),
        ("工藤　太郎", (KANJI, "工藤太郎")),
    ],
)
def test_name_key_folds_kana_to_seion_and_keeps_kanji(typed: str, key: tuple[str, str]) -> None:
    assert name_key(typed) == key


@pytest.mark.parametrize(
    "typed",
    [
        "青森県弘前市大字表町一丁目2番3号",
        "青森県弘前市大字表町1丁目2番地3",
        "青森県弘前市大字表町１－２－３",
        "青森県 弘前市 大字表町 1-2-3",
        "青森県弘前市大字表町1‐2‐3",
    ],
)
def test_address_key_folds_width_spaces_and_chome_notation(typed: str) -> None:
    assert address_key(typed) == "青森県弘前市大字表町1-2-3"


def test_address_key_reads_kanji_numbers_of_chome() -> None:
    assert address_key("表町十二丁目") == "表町12"
    assert address_key("表町二十三丁目5番") == "表町23-5"


def test_a_lookup_command_never_shows_its_code_in_full() -> None:
    from cs_gateway.app.terminal_lookup import LookupPerson
    from cs_gateway.audit.event import Actor

    text = repr(LookupPerson(juminhyo_code_of(3), "identity-check", False, Actor(), "lookup"))
    assert juminhyo_code_of(3) not in text and juminhyo_code_of(3)[-4:] in text
