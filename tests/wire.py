"""Domain command -> wire request, for tests that drive the writer through the wire codec (the
inverse of api.convert.update_from_proto; a test checks that the round trip is exact)."""

from __future__ import annotations

from datetime import date

from cs_gateway.domain.record import ENTRY_FIELDS, UpdateCommand
from cs_gateway.gen.jukinet.cs.v1 import identity_pb2 as pb
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2 as upb


def _date(value: date) -> pb.Date:
    return pb.Date(year=value.year, month=value.month, day=value.day)


def command_to_request(cmd: UpdateCommand) -> upb.UpdateRequest:
    entry = pb.ResidentEntry()
    for name in ENTRY_FIELDS:
        value = getattr(cmd.entry, name)
        if isinstance(value, date):
            getattr(entry, name).CopyFrom(_date(value))
        elif value is not None:
            setattr(entry, name, int(value) if hasattr(value, "value") else value)
    request = upb.UpdateRequest(
        request_id=cmd.request_id,
        change_reason=int(cmd.change_reason),
        change_reason_detail=cmd.change_reason_detail,
        operator_id=cmd.operator_id,
        terminal_id=cmd.terminal_id,
        entry=entry,
    )
    if cmd.change_date is not None:
        request.change_date.CopyFrom(_date(cmd.change_date))
    return request
