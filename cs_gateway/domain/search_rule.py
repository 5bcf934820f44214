"""Which way a counter search goes, and the seed's two-item rule (III(2)-2, 別添2).

A search names one way: a 住民票コード, a 個人番号 (either alone is enough: the 令和6年3月13日
change), or 4情報 naming at least two of 氏名, 住所, 生年月日. 性別 narrows a 4情報 search but never
counts as an item, so 氏名 + 性別 is refused (SEARCH_NEEDS_TWO_ITEMS): the file must not become a
database for another purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .check_digit import is_valid_individual_number, is_valid_juminhyo_code
from .enums import Sex
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


def search_way(c: SearchCriteria) -> str | Violation:
    """BY_CODE, BY_NUMBER or BY_FOUR_ITEMS, or the refusal."""
    four = [x for x in (c.name.strip(), c.address.strip(), c.birth_date) if x]
    ways = [bool(c.juminhyo_code), bool(c.individual_number), bool(four or c.sex)]
    if sum(ways) > 1:
        return violation("SEARCH_ONE_WAY", "request")
    if c.juminhyo_code:
        if is_valid_juminhyo_code(c.juminhyo_code):
            return BY_CODE
        return violation("INVALID_JUMINHYO_CODE", "juminhyo_code")
    if c.individual_number:
        if is_valid_individual_number(c.individual_number):
            return BY_NUMBER
        return violation("INVALID_INDIVIDUAL_NUMBER", "individual_number")
    if len(four) < 2:
        return violation("SEARCH_NEEDS_TWO_ITEMS", "request")
    if len(c.name) > MAX_TEXT or len(c.address) > MAX_TEXT:
        return violation("MESSAGE_TOO_LARGE", "request")
    return BY_FOUR_ITEMS
