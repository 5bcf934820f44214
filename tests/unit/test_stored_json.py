"""The store's JSON (orjson on the dataclass, for speed) is exactly the reference text: the JSON
of record_to_dict / change_notice with the standard library. Stored versions and notices written
before and after the switch read the same; tools may rebuild them from either form."""

from __future__ import annotations

import json

from hypothesis import given, settings

from cs_gateway.domain.change_notice import change_notice
from cs_gateway.domain.record import IdentityRecord
from cs_gateway.domain.record_codec import record_from_dict, record_to_dict
from cs_gateway.store.sqlite_tx import loads, notice_json, record_json
from tests.strategies import st_stored_record


def _reference(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@settings(max_examples=60, deadline=None)
@given(record=st_stored_record())
def test_record_and_notice_json_are_the_reference_text(record: IdentityRecord) -> None:
    assert record_json(record) == _reference(record_to_dict(record))
    assert notice_json(record) == _reference(change_notice(record))
    assert record_from_dict(loads(record_json(record))) == record
