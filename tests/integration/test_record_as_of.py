"""GetRecord reads レコード状況 (#35) and 予定者フラグ (#32) as of today: a 転出予定者 whose
転出予定日 has come reads as 消除者 (転出), without a new version being stored."""

from __future__ import annotations

from datetime import timedelta

import pytest

import tests.conftest as conftest_module
from clients.synthetic import pb_date, synthetic_entry, tennyu_request
from cs_gateway.gen.jukinet.cs.v1 import identity_pb2 as pb
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2 as upb
from tests.conftest import TODAY, InProcessGateway


def test_planned_departure_reads_as_removed_once_its_date_has_come(
    gateway: InProcessGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub = gateway.stub()
    stub.Apply(tennyu_request(70), timeout=10)
    leave_on = TODAY + timedelta(days=10)
    tenshutsu = upb.UpdateRequest(
        request_id="as-of-tenshutsu",
        change_reason=pb.CHANGE_REASON_TENSHUTSU,
        change_date=pb_date(leave_on),
        operator_id="kizon-op01",
        terminal_id="kizon-t01",
        entry=synthetic_entry(70),
    )
    stored = stub.Apply(tenshutsu, timeout=10).record
    assert stored.record_status == pb.RECORD_STATUS_PLANNED_DEPARTURE and stored.prospective
    code = synthetic_entry(70).juminhyo_code
    before = stub.GetRecord(upb.GetRecordRequest(juminhyo_code=code), timeout=10)
    assert before.record_status == pb.RECORD_STATUS_PLANNED_DEPARTURE and before.prospective

    monkeypatch.setattr(conftest_module, "TODAY", leave_on)  # the gateway's clock reads it per call
    after = stub.GetRecord(upb.GetRecordRequest(juminhyo_code=code), timeout=10)
    assert after.record_status == pb.RECORD_STATUS_REMOVED_MOVED_OUT and not after.prospective
    assert after.update_seq == stored.update_seq  # nothing was stored: read as of today only
    history = stub.GetHistory(upb.GetHistoryRequest(juminhyo_code=code), timeout=10)
    assert history.versions[-1].record_status == pb.RECORD_STATUS_PLANNED_DEPARTURE  # as stored
