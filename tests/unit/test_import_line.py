"""An 初期移行 line is the same command as the update it stands for: the synthetic file's line i
reads as tennyu_request(i) does over the wire, and line_from_command is its inverse."""

from __future__ import annotations

import pytest

from clients.synthetic import tennyu_request
from clients.synthetic_import import import_line
from cs_gateway.api.convert import update_from_proto
from cs_gateway.domain.import_line import command_from_line, line_from_command
from cs_gateway.domain.violations import Violation


@pytest.mark.parametrize("i", [0, 1, 9, 17, 423, 999_999])
def test_synthetic_line_is_the_tennyu_request(i: int) -> None:
    expected = update_from_proto(tennyu_request(i))
    assert command_from_line(import_line(i)) == expected
    assert command_from_line(line_from_command(expected)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"sex": "1"}, "sex", "INVALID_ENUM"),
        ({"sex": True}, "sex", "INVALID_ENUM"),
        ({"name_gaiji_count": True}, "name_gaiji_count", "INVALID_TEXT"),
        ({"address": 12}, "address", "INVALID_TEXT"),
        ({"birth_date": "19800101"}, "birth_date", "INVALID_DATE"),
        ({"update_prohibited": 1}, "update_prohibited", "INVALID_TEXT"),
        ({"extra": 1}, "extra", "MALFORMED_REQUEST"),
    ],
)
def test_malformed_items_are_named(change: dict, field: str, code: str) -> None:
    line = import_line(3)
    line["entry"] = {**line["entry"], **change}  # type: ignore[dict-item]
    found = command_from_line(line)
    assert isinstance(found, Violation) and (found.field, found.code) == (field, code)


def test_not_an_object_and_no_entry() -> None:
    assert command_from_line([1]).code == "MALFORMED_REQUEST"  # type: ignore[union-attr]
    assert command_from_line({"request_id": "x"}).field == "entry"  # type: ignore[union-attr]
