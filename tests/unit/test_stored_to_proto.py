"""The counter's replies are encoded from the stored items (api/convert.stored_to_proto) without
building the IdentityRecord: the bytes must be those of record_to_proto on the record the stored
form reads as, for every record the write path can store, for a version stored before an item
existed (it reads as the item's default) and without the optional items."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cs_gateway.api.convert import record_to_proto, stored_to_proto
from cs_gateway.api.terminal_codec import shown, shown_stored
from cs_gateway.domain.logic_checks import Accepted, decide
from cs_gateway.domain.record import IdentityRecord, UpdateCommand
from cs_gateway.domain.record_codec import StoredVersion, record_to_dict
from cs_gateway.store.sqlite_tx import loads, record_json
from tests.strategies import TODAY, st_valid_command


class _Empty:
    def find(self, juminhyo_code: str) -> None:
        return None

    def individual_number_holder(self, individual_number: str) -> None:
        return None


def _stored(cmd: UpdateCommand, seq: int, stamp: datetime) -> IdentityRecord:
    decision = decide(cmd, _Empty(), TODAY)
    assert isinstance(decision, Accepted)
    return decision.record.with_stored(seq, stamp)


@settings(max_examples=80, deadline=None)
@given(
    cmd=st_valid_command(),
    seq=st.integers(1, 2**40),
    micros=st.integers(0, 10**6 - 1),
    seconds=st.integers(0, 10**8),
    disclose=st.booleans(),
)
def test_the_reply_from_the_stored_items_is_the_reply_from_the_record(
    cmd: UpdateCommand, seq: int, micros: int, seconds: int, disclose: bool
) -> None:
    record = _stored(cmd, seq, datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=micros))
    version = StoredVersion(loads(record_json(record)))  # as the writer reads it back
    assert version.record() == record
    assert stored_to_proto(version).SerializeToString() == record_to_proto(record).SerializeToString()
    assert shown_stored(version, disclose).SerializeToString() == shown(record, disclose).SerializeToString()
    assert (version.juminhyo_code, version.individual_number, version.update_seq) == (
        record.juminhyo_code,
        record.individual_number,
        record.update_seq,
    )


@settings(max_examples=30, deadline=None)
@given(cmd=st_valid_command())
def test_an_older_version_and_the_optional_items_encode_as_the_record_reads(cmd: UpdateCommand) -> None:
    record = replace(_stored(cmd, 7, datetime(2024, 5, 1, tzinfo=UTC)), juminhyo_code_since=None, timestamp=None)
    data = record_to_dict(record)
    del data["resident_class"]  # stored before 区分 existed: reads as 日本人住民
    version = StoredVersion(data)
    assert version.record().resident_class == record.resident_class.JAPANESE
    expected = record_to_proto(version.record())
    got = stored_to_proto(version)
    assert got.SerializeToString() == expected.SerializeToString()
    assert not got.HasField("juminhyo_code_since") and not got.HasField("timestamp")
