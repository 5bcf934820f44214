"""The store's JSON (orjson on the dataclass, for speed) is exactly the reference text: the JSON
of record_to_dict / change_notice with the standard library. Stored versions and notices written
before and after the switch read the same; tools may rebuild them from either form."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cs_gateway.domain.change_notice import change_notice
from cs_gateway.domain.logic_checks import Accepted, decide
from cs_gateway.domain.record import UpdateCommand
from cs_gateway.domain.record_codec import record_from_dict, record_to_dict
from cs_gateway.store.sqlite_tx import loads, notice_json, record_json
from tests.strategies import TODAY, st_valid_command


class _Empty:
    def find(self, juminhyo_code: str) -> None:
        return None

    def individual_number_holder(self, individual_number: str) -> None:
        return None


def _reference(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@settings(max_examples=60, deadline=None)
@given(
    cmd=st_valid_command(),
    seq=st.integers(1, 2**40),
    micros=st.integers(0, 10**6 - 1),
    seconds=st.integers(0, 10**8),
)
def test_record_and_notice_json_are_the_reference_text(cmd: UpdateCommand, seq: int, micros: int, seconds: int) -> None:
    decision = decide(cmd, _Empty(), TODAY)
    assert isinstance(decision, Accepted)
    stamp = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=micros)
    record = decision.record.with_stored(seq, stamp)
    assert record_json(record) == _reference(record_to_dict(record))
    assert notice_json(record) == _reference(change_notice(record))
    assert record_from_dict(loads(record_json(record))) == record
