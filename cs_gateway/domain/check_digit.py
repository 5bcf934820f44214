"""検査用数字 (check digits): 個人番号, 住民票コード, 市町村コード, 郵便番号.

Only ASCII digits ``0``-``9`` are accepted everywhere.  ``str.isdigit()`` and
``\\d`` also match full-width (U+FF11) and other scripts' digits (U+0661), so the
checks use explicit ``[0-9]{n}`` patterns with ``fullmatch``.

Note on mod-11 codes: a single-digit substitution is *not* always detected.
The weights are non-zero mod 11, so a substitution always changes the residue
``r``, but ``r == 0`` and ``r == 1`` both give check digit 0.  A substitution
that moves ``r`` between 0 and 1 therefore goes unnoticed (e.g. 個人番号
``000000000000`` and ``200000000000`` are both valid).  The same holds for
市町村コード with residues 0 and 10 (both give 1).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Sequence

__all__ = [
    "individual_number_check_digit",
    "is_valid_individual_number",
    "is_valid_juminhyo_code",
    "is_valid_municipality_code",
    "is_valid_postal_code",
    "juminhyo_code_check_digit",
    "make_individual_number",
    "make_juminhyo_code",
    "municipality_code_check_digit",
]

_INDIVIDUAL_NUMBER_WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_JUMINHYO_CODE_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_MUNICIPALITY_CODE_WEIGHTS = (6, 5, 4, 3, 2)

_DIGITS_5 = re.compile(r"[0-9]{5}")
_DIGITS_6 = re.compile(r"[0-9]{6}")
_DIGITS_7 = re.compile(r"[0-9]{7}")
_DIGITS_10 = re.compile(r"[0-9]{10}")
_DIGITS_11 = re.compile(r"[0-9]{11}")
_DIGITS_12 = re.compile(r"[0-9]{12}")


def _matches(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _require(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not _matches(pattern, value):
        got = f"{len(value)} characters" if isinstance(value, str) else type(value).__name__
        raise ValueError(f"{what} must be exactly {pattern.pattern}, got {got}")  # never the value itself
    return value


def _weighted_sum(digits: str, weights: Sequence[int]) -> int:
    """Sum of digit x weight; ``digits`` is already known to be ASCII digits of that length."""
    return sum(map(operator.mul, map(_DIGIT_VALUE.__getitem__, digits), weights))


_DIGIT_VALUE = {str(d): d for d in range(10)}


def _mod11_check(digits: str, weights: Sequence[int]) -> int:
    r = _weighted_sum(digits, weights) % 11
    return 0 if r <= 1 else 11 - r


# --- 個人番号 -----------------------------------------------------------------


def individual_number_check_digit(first11: str) -> int:
    """個人番号の検査用数字 (平成26年総務省令第85号 第5条).

    Weights 6,5,4,3,2,7,6,5,4,3,2 from the left; ``r = sum % 11``;
    check = 0 if ``r <= 1`` else ``11 - r``.  Raises ValueError unless
    ``first11`` is exactly 11 ASCII digits.
    """
    body = _require(_DIGITS_11, first11, "個人番号 body")
    return _mod11_check(body, _INDIVIDUAL_NUMBER_WEIGHTS)


def is_valid_individual_number(value: str) -> bool:
    """True iff ``value`` is 12 ASCII digits whose last digit is the check digit."""
    if not _matches(_DIGITS_12, value):
        return False
    return _mod11_check(value[:11], _INDIVIDUAL_NUMBER_WEIGHTS) == int(value[11])


def make_individual_number(first11: str) -> str:
    """Append the check digit to an 11-digit body (simulators/tests)."""
    return first11 + str(individual_number_check_digit(first11))


# --- 住民票コード ---------------------------------------------------------------


def juminhyo_code_check_digit(first10: str) -> int:
    """住民票コードの検査用数字 — this emulation's own formula, NOT the official one.

    What is public: 住民基本台帳法 第7条第13号 and 施行規則 第1条 make the 住民票コード ten
    digits chosen at random plus one 検査数字 computed by a formula that the 総務大臣 sets by
    告示 (平成14年総務省告示第436号, published in the 官報). We have not found the text of that
    告示 in any public source we could consult (e-Gov 法令検索 carries 法律・政令・省令, not this
    告示; the 官報 of 2002 is not freely searchable), so the formula here is not tested against
    it. The emulation uses mod-11 in the style of the 個人番号 (平成26年総務省令第85号 第5条):
    weights 5,4,3,2,7,6,5,4,3,2 from the left, ``r = sum % 11``, check = 0 if ``r <= 1`` else
    ``11 - r``. Codes produced here are NOT guaranteed valid in the real 住基ネット, and a real
    code may be refused here.
    Raises ValueError unless ``first10`` is exactly 10 ASCII digits.
    """
    body = _require(_DIGITS_10, first10, "住民票コード body")
    return _mod11_check(body, _JUMINHYO_CODE_WEIGHTS)


def is_valid_juminhyo_code(value: str) -> bool:
    """True iff ``value`` is 11 ASCII digits whose last digit is the check digit."""
    if not _matches(_DIGITS_11, value):
        return False
    return juminhyo_code_check_digit(value[:10]) == int(value[10])


def make_juminhyo_code(first10: str) -> str:
    """Append the check digit to a 10-digit body (simulators/tests)."""
    return first10 + str(juminhyo_code_check_digit(first10))


# --- 市町村コード (全国地方公共団体コード) ----------------------------------------


def municipality_code_check_digit(first5: str) -> int:
    """全国地方公共団体コードの検査数字 (JIS X 0402; 総務省「全国地方公共団体コード」).

    Weights 6,5,4,3,2; check = last digit of ``11 - (sum % 11)``: remainder 0 gives 1
    (022021 弘前市), remainder 1 gives 0 (200000 長野県). The codes and their check digits are
    the 総務省's published list (https://www.soumu.go.jp/denshijiti/code.html).
    Raises ValueError unless ``first5`` is exactly 5 ASCII digits.
    """
    body = _require(_DIGITS_5, first5, "市町村コード body")
    return (11 - _weighted_sum(body, _MUNICIPALITY_CODE_WEIGHTS) % 11) % 10


def is_valid_municipality_code(value: str) -> bool:
    """True iff ``value`` is 6 ASCII digits whose last digit is the check digit."""
    if not _matches(_DIGITS_6, value):
        return False
    return municipality_code_check_digit(value[:5]) == int(value[5])


# --- 郵便番号 -------------------------------------------------------------------


def is_valid_postal_code(value: str) -> bool:
    """郵便番号: exactly 7 ASCII digits, no hyphen."""
    return _matches(_DIGITS_7, value)
