"""GetRecord and GetHistory agree on a 住民票コード retired by a 住民票コード変更 (issue 10 item 6):
both refuse it (JUMINHYO_CODE_RETIRED), so a caller holding only the old code learns neither the
record nor the new code; the new code answers both, with the versions of the old code included."""

from __future__ import annotations

from datetime import date

import grpc
import pytest

from clients.synthetic import juminhyo_code_of, pb_date, synthetic_entry, tennyu_request
from cs_gateway.gen.jukinet.cs.v1 import identity_pb2 as pb
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2 as upb
from tests.conftest import InProcessGateway
from tests.grpc_helpers import error_info

PERSON = 70
NEW_CODE = juminhyo_code_of(900_070)


def _code_change() -> upb.UpdateRequest:
    entry = synthetic_entry(PERSON)
    entry.previous_juminhyo_code = entry.juminhyo_code
    entry.juminhyo_code = NEW_CODE
    entry.juminhyo_code_since.CopyFrom(pb_date(date(2025, 6, 1)))
    return upb.UpdateRequest(
        request_id="code-change-70",
        change_reason=pb.CHANGE_REASON_JUMINHYO_CODE_HENKO,
        change_date=pb_date(date(2025, 6, 1)),
        operator_id="kizon-op01",
        terminal_id="kizon-t01",
        entry=entry,
    )


def test_a_retired_code_is_refused_by_both_reads_and_the_new_code_answers_both(gateway: InProcessGateway) -> None:
    stub = gateway.stub()
    old_code = synthetic_entry(PERSON).juminhyo_code
    stub.Apply(tennyu_request(PERSON), timeout=10)
    stub.Apply(_code_change(), timeout=10)

    for read in (
        lambda: stub.GetRecord(upb.GetRecordRequest(juminhyo_code=old_code), timeout=10),
        lambda: stub.GetHistory(upb.GetHistoryRequest(juminhyo_code=old_code), timeout=10),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            read()
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert error_info(caught.value).reason == "JUMINHYO_CODE_RETIRED"
        assert NEW_CODE not in (caught.value.details() or "")

    assert stub.GetRecord(upb.GetRecordRequest(juminhyo_code=NEW_CODE), timeout=10).juminhyo_code == NEW_CODE
    history = stub.GetHistory(upb.GetHistoryRequest(juminhyo_code=NEW_CODE), timeout=10)
    assert [v.juminhyo_code for v in history.versions] == [old_code, NEW_CODE]
