"""The domain enums and the proto enums are one list: same names, same numbers."""

from __future__ import annotations

import pytest

from cs_gateway.domain.enums import ChangeReason, RecordStatus, Relationship, Sex
from cs_gateway.domain.record import ENTRY_FIELDS, RECORD_FIELDS
from cs_gateway.gen.jukinet.cs.v1 import identity_pb2 as pb

PAIRS = [
    (Sex, pb.Sex, "SEX_"),
    (Relationship, pb.Relationship, "RELATIONSHIP_"),
    (ChangeReason, pb.ChangeReason, "CHANGE_REASON_"),
    (RecordStatus, pb.RecordStatus, "RECORD_STATUS_"),
]


@pytest.mark.parametrize(("domain", "wire", "prefix"), PAIRS)
def test_enum_numbers_match_proto(domain, wire, prefix) -> None:  # noqa: ANN001
    assert {prefix + m.name: m.value for m in domain} == dict(wire.items())


def test_identity_record_has_all_39_items_in_both_layers() -> None:
    wire = [f.name for f in pb.IdentityRecord.DESCRIPTOR.fields]
    assert len(wire) == 39
    assert wire == list(RECORD_FIELDS)
    assert [f.number for f in pb.IdentityRecord.DESCRIPTOR.fields] == list(range(1, 40))


def test_resident_entry_carries_no_derived_item() -> None:
    wire = [f.name for f in pb.ResidentEntry.DESCRIPTOR.fields]
    assert wire == list(ENTRY_FIELDS)
    derived = {"name_kana_seion", "has_gaiji", "update_seq", "timestamp", "record_status", "recovery_update_seq"}
    assert not derived & set(wire)


def test_every_change_reason_is_documented_in_japanese() -> None:
    text = (pb.DESCRIPTOR.serialized_pb or b"").decode("utf-8", "ignore")
    assert text  # descriptor present
    from pathlib import Path

    proto = (Path(__file__).resolve().parents[2] / "proto/jukinet/cs/v1/identity.proto").read_text(encoding="utf-8")
    for reason in ChangeReason:
        if reason is ChangeReason.UNSPECIFIED:
            continue
        line_index = proto.index(f"CHANGE_REASON_{reason.name} =")
        comment = proto[:line_index].rstrip().rsplit("\n", 1)[-1]
        assert comment.strip().startswith("// " + reason.label_ja), reason
