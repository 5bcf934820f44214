"""The counter's replies are encoded from the stored items (api/convert.stored_to_proto) without
building the IdentityRecord: the bytes must be those of record_to_proto on the record the stored
form reads as, for every record the write path can store, for a version stored before an item
existed (it reads as the item's default) and without the optional items."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from cs_gateway.api.convert import record_to_proto, stored_to_proto
from cs_gateway.api.terminal_codec import shown, shown_stored
from cs_gateway.app.terminal_lookup import Found
from cs_gateway.domain.record import IdentityRecord
from cs_gateway.domain.record_codec import StoredVersion, record_from_dict, record_to_dict
from cs_gateway.store.sqlite_tx import loads, record_json
from tests.strategies import st_stored_record


@settings(max_examples=80, deadline=None)
@given(record=st_stored_record(), disclose=st.booleans())
def test_the_reply_from_the_stored_items_is_the_reply_from_the_record(record: IdentityRecord, disclose: bool) -> None:
    version = StoredVersion(loads(record_json(record)))  # as the writer reads it back
    assert record_from_dict(version.data) == record
    assert stored_to_proto(version).SerializeToString() == record_to_proto(record).SerializeToString()
    assert shown_stored(version, disclose).SerializeToString() == shown(record, disclose).SerializeToString()
    shown_in_a_log = repr(Found([version]))  # a log line or a traceback
    assert record.juminhyo_code not in shown_in_a_log and record.individual_number not in shown_in_a_log
    assert (version.juminhyo_code, version.individual_number, version.update_seq) == (
        record.juminhyo_code,
        record.individual_number,
        record.update_seq,
    )


@settings(max_examples=30, deadline=None)
@given(stored=st_stored_record())
def test_an_older_version_and_the_optional_items_encode_as_the_record_reads(stored: IdentityRecord) -> None:
    record = replace(stored, juminhyo_code_since=None, timestamp=None)
    data = record_to_dict(record)
    del data["resident_class"]  # stored before 区分 existed: reads as 日本人住民
    version = StoredVersion(data)
    assert record_from_dict(version.data).resident_class == record.resident_class.JAPANESE
    expected = record_to_proto(record_from_dict(version.data))
    got = stored_to_proto(version)
    assert got.SerializeToString() == expected.SerializeToString()
    assert not got.HasField("juminhyo_code_since") and not got.HasField("timestamp")
