"""Which way a counter search goes, and the seed's two-item rule (III(2)-2, 別添2).

A search names one way: a 住民票コード, a 個人番号 (either alone is enough: the 令和6年3月13日
change), or 4情報 naming at least two items other than 性別, in the combinations the seed names:
氏名 + 住所 or 氏名 + 生年月日 ("少なくとも性別を除く2情報以上(氏名と住所の組み合わせ、氏名と生年月日の
組み合わせ)の指定を必須とする"). 性別 narrows a 4情報 search but never counts as an item, so 氏名 + 性別
is refused (SEARCH_NEEDS_TWO_ITEMS), and 住所 + 生年月日 without a 氏名 too (SEARCH_NEEDS_NAME): walking
the birth dates of one address range would list a whole district, and the file must not become a
database for another purpose.

An item counts by its search key (domain/search_keys.py), not by its text: a 住所 such as "-" or
"－" normalises to nothing and names nothing, so it cannot stand in for the second item. Nor does
a 住所 that names no more than the municipality itself (青森県, 青森県弘前市: config
``gateway.municipality_name``): every resident of the file lives there, so 氏名 + 住所 "青森県弘前市"
would be a search by 氏名 alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .check_digit import is_valid_individual_number, is_valid_juminhyo_code
from .enums import Sex
from .search_keys import address_key, name_key
from .violations import Violation, violation

BY_CODE = "juminhyo_code"
BY_NUMBER = "individual_number"
BY_FOUR_ITEMS = "four_items"
MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class SearchCriteria:
    juminhyo_code: str = ""
    individual_number: str = ""
    name: str = ""
    address: str = ""
    birth_date: date | None = None
    sex: Sex | None = None

    def __repr__(self) -> str:  # never the criteria themselves, in a log or a traceback
        return f"SearchCriteria(items={','.join(self.items())})"

    def items(self) -> list[str]:
        """The items named (names only, never values)."""
        named = {
            "juminhyo_code": self.juminhyo_code,
            "individual_number": self.individual_number,
            "name": self.name,
            "address": self.address,
            "birth_date": self.birth_date,
            "sex": self.sex,
        }
        return [k for k, v in named.items() if v]


def search_way(c: SearchCriteria, keys: FourItemKeys) -> str | Violation:
    """BY_CODE, BY_NUMBER or BY_FOUR_ITEMS, or the refusal. ``keys``: ``four_item_keys(c, ...)``,
    what a 4情報 search runs on; the caller hands the same keys to the search, so that what the
    rule counted is what is searched and audited."""
    if len(c.name) > MAX_TEXT or len(c.address) > MAX_TEXT:
        return violation("MESSAGE_TOO_LARGE", "request")
    named = keys.named()
    by_four_items = bool(named or c.sex or c.name.strip() or c.address.strip())
    if sum((bool(c.juminhyo_code), bool(c.individual_number), by_four_items)) > 1:
        return violation("SEARCH_ONE_WAY", "request")
    if c.juminhyo_code:
        if is_valid_juminhyo_code(c.juminhyo_code):
            return BY_CODE
        return violation("INVALID_JUMINHYO_CODE", "juminhyo_code")
    if c.individual_number:
        if is_valid_individual_number(c.individual_number):
            return BY_NUMBER
        return violation("INVALID_INDIVIDUAL_NUMBER", "individual_number")
    if len(named) < 2:
        return violation("SEARCH_NEEDS_TWO_ITEMS", "request")
    if "name" not in named:
        return violation("SEARCH_NEEDS_NAME", "request")
    return BY_FOUR_ITEMS


@dataclass(frozen=True, slots=True)
class FourItemKeys:
    """What a 4情報 search compares (domain/search_keys.py): the rule counts these, the store
    searches by them and the audit entry names them. A name or an address whose key is empty
    names nothing (None, ""); nor does an address that is a prefix of the municipality's own
    name (it is still searched by: it matches every resident, or nobody)."""

    name: tuple[str, str] | None  # (KANA | KANJI, key)
    address: str  # the prefix the address must start with
    birth_date: date | None
    sex: Sex | None
    municipality: str = ""  # the municipality's name as an address key ("" = not configured)

    def __repr__(self) -> str:  # as SearchCriteria's: never the keys themselves
        return f"FourItemKeys(items={','.join(self.named())}{',sex' if self.sex else ''})"

    def named(self) -> list[str]:
        """The items named ("name", "address", "birth_date"; 性別 never counts)."""
        address = self.address and not self.municipality.startswith(self.address)
        items = (("name", self.name), ("address", address), ("birth_date", self.birth_date))
        return [item for item, key in items if key]


def four_item_keys(c: SearchCriteria, *, municipality: str) -> FourItemKeys:
    """``municipality``: the address key of the municipality's own name (``municipality_key``),
    "" when the configuration has none."""
    name = name_key(c.name) if c.name else None
    return FourItemKeys(
        name if name is not None and name[1] else None,
        address_key(c.address) if c.address else "",
        c.birth_date,
        c.sex,
        municipality,
    )


def municipality_key(name: str) -> str:
    """The address key of the municipality's name as its residents' 住所 begin (青森県弘前市)."""
    return address_key(name) if name else ""
