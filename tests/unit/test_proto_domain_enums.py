"""The domain enums and the proto enums are one list: same names, same numbers."""

from __future__ import annotations

import pytest

from cs_gateway.domain.enums import ChangeReason, RecordStatus, Relationship, ResidentClass, Sex
from cs_gateway.domain.record import ENTRY_FIELDS, RECORD_FIELDS
from cs_gateway.gen.jukinet.cs.v1 import identity_pb2 as pb

PAIRS = [
    (Sex, pb.Sex, "SEX_"),
    (Relationship, pb.Relationship, "RELATIONSHIP_"),
    (ChangeReason, pb.ChangeReason, "CHANGE_REASON_"),
    (RecordStatus, pb.RecordStatus, "RECORD_STATUS_"),
    (ResidentClass, pb.ResidentClass, "RESIDENT_CLASS_"),
]


@pytest.mark.parametrize(("domain", "wire", "prefix"), PAIRS)
def test_enum_numbers_match_proto(domain, wire, prefix) -> None:  # noqa: ANN001
    assert {prefix + m.name: m.value for m in domain} == dict(wire.items())


def test_identity_record_has_all_39_items_and_the_class_in_both_layers() -> None:
    """The 39 items of 別添1 (2) as fields 1..39, and the 区分 (30条の45) beyond them as 40."""
    wire = [f.name for f in pb.IdentityRecord.DESCRIPTOR.fields]
    assert len(wire) == 40 and wire[39] == "resident_class"
    assert wire == list(RECORD_FIELDS)
    assert [f.number for f in pb.IdentityRecord.DESCRIPTOR.fields] == list(range(1, 41))


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
        above = proto[:line_index].rstrip().split("\n")
        block: list[str] = []
        while above and above[-1].strip().startswith("//"):
            block.insert(0, above.pop().strip())
        assert block and block[0].startswith("// " + reason.label_ja), reason


def test_every_relationship_has_its_japanese_name_in_the_proto() -> None:
    from pathlib import Path

    proto = (Path(__file__).resolve().parents[2] / "proto/jukinet/cs/v1/identity.proto").read_text(encoding="utf-8")
    for member in Relationship:
        line = next(x for x in proto.splitlines() if f"RELATIONSHIP_{member.name} = {member.value};" in x)
        comment = line.split("//", 1)[1].strip()
        assert any("\u4e00" <= ch <= "\u9fff" for ch in comment), member  # a Japanese name per value


def test_wire_entry_without_resident_class_is_refused() -> None:
    """The 既存住基 always knows the 区分 (住基法30条の45): RESIDENT_CLASS_UNSPECIFIED is refused."""
    from clients.synthetic import tennyu_request
    from cs_gateway.api.convert import update_from_proto
    from cs_gateway.domain.violations import Violation

    request = tennyu_request(1)
    assert not isinstance(update_from_proto(request), Violation)
    request.entry.resident_class = pb.RESIDENT_CLASS_UNSPECIFIED
    refused = update_from_proto(request)
    assert isinstance(refused, Violation) and (refused.code, refused.field) == ("INVALID_ENUM", "resident_class")


def test_refusal_on_the_wire_carries_the_character_position() -> None:
    from cs_gateway.api.convert import refusal_to_proto
    from cs_gateway.domain.violations import violation

    wire = refusal_to_proto(violation("CHARACTER_NOT_ALLOWED", "name_kanji", position=3))
    assert (wire.reason, wire.field, wire.position) == ("CHARACTER_NOT_ALLOWED", "name_kanji", 3)
