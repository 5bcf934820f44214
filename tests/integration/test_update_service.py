"""UpdateService over real mTLS on loopback port 0, with a real SQLite file."""

from __future__ import annotations

import sqlite3
from datetime import date

import grpc
import pytest

from clients.synthetic import pb_date, synthetic_entry, tennyu_request
from cs_gateway.gen.jukinet.cs.v1 import identity_pb2 as pb
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2 as upb
from tests.conftest import InProcessGateway
from tests.grpc_helpers import error_info, japanese_message


def tenkyo_request(i: int, request_id: str, address: str, *, on: date = date(2025, 6, 1)) -> upb.UpdateRequest:
    request = tennyu_request(i)
    request.request_id = request_id
    request.change_reason = pb.CHANGE_REASON_TENKYO
    request.change_date.CopyFrom(pb_date(on))
    request.entry.address = address
    request.entry.address_since.CopyFrom(pb_date(on))
    request.entry.notified_on.CopyFrom(pb_date(on))
    return request


def refusal(stub, request) -> tuple[grpc.StatusCode, str, str]:  # noqa: ANN001
    with pytest.raises(grpc.RpcError) as caught:
        stub.Apply(request, timeout=10)
    info = error_info(caught.value)
    return caught.value.code(), info.reason, info.metadata.get("field", "")


def test_tennyu_is_stored_with_update_seq_and_derived_items(gateway: InProcessGateway) -> None:
    result = gateway.stub().Apply(tennyu_request(1), timeout=10)
    record = result.record
    assert record.update_seq == 1
    assert record.record_status == pb.RECORD_STATUS_CURRENT
    assert record.name_kana_seion  # derived by the CS, never taken from the caller
    assert record.has_gaiji is False
    assert record.timestamp.seconds > 0
    assert not result.replayed


def test_tennyu_rejected_for_current_resident_over_grpc(gateway: InProcessGateway) -> None:
    stub = gateway.stub()
    stub.Apply(tennyu_request(1), timeout=10)
    again = tennyu_request(1, request_prefix="again")
    with pytest.raises(grpc.RpcError) as caught:
        stub.Apply(again, timeout=10)
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error_info(caught.value).reason == "ALREADY_RESIDENT"
    assert error_info(caught.value).domain == "jukinet.cs.v1"
    assert "転入" in japanese_message(caught.value)
    assert gateway.running.store.last_update_seq() == 1  # a refused update changes nothing


def test_tenkyo_changing_the_name_rejected_over_grpc(gateway: InProcessGateway) -> None:
    stub = gateway.stub()
    stub.Apply(tennyu_request(2), timeout=10)
    request = tenkyo_request(2, "move-1", "青森県弘前市大字本町99番地")
    request.entry.name_kanji = "別名　太郎"
    code, reason, field = refusal(stub, request)
    assert (code, reason, field) == (grpc.StatusCode.FAILED_PRECONDITION, "TENKYO_CHANGES_NON_ADDRESS", "name_kanji")
    current = stub.GetRecord(upb.GetRecordRequest(juminhyo_code=request.entry.juminhyo_code), timeout=10)
    assert current.name_kanji == synthetic_entry(2).name_kanji
    assert current.update_seq == 1


def test_format_error_is_invalid_argument_naming_the_field(gateway: InProcessGateway) -> None:
    request = tennyu_request(3)
    request.entry.individual_number = request.entry.individual_number[:-1] + str(
        (int(request.entry.individual_number[-1]) + 1) % 10
    )
    assert refusal(gateway.stub(), request) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_INDIVIDUAL_NUMBER",
        "individual_number",
    )


def test_unknown_enum_number_and_impossible_date_are_refused(gateway: InProcessGateway) -> None:
    stub = gateway.stub()
    request = tennyu_request(4)
    request.change_reason = 99
    assert refusal(stub, request)[1:] == ("INVALID_ENUM", "change_reason")
    request = tennyu_request(4)
    request.entry.birth_date.CopyFrom(pb.Date(year=2001, month=2, day=30))
    assert refusal(stub, request)[1:] == ("INVALID_DATE", "birth_date")
    assert gateway.running.store.last_update_seq() == 0


def test_same_request_id_and_payload_replays_the_first_result(gateway: InProcessGateway) -> None:
    stub = gateway.stub()
    first = stub.Apply(tennyu_request(5), timeout=10)
    second = stub.Apply(tennyu_request(5), timeout=10)
    assert second.replayed and not first.replayed
    assert second.record == first.record
    assert gateway.running.store.last_update_seq() == 1


def test_same_request_id_with_other_payload_refused_request_id_reused(gateway: InProcessGateway) -> None:
    stub = gateway.stub()
    stub.Apply(tennyu_request(6), timeout=10)
    other = tennyu_request(7)
    other.request_id = tennyu_request(6).request_id
    assert refusal(stub, other) == (grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED", "request_id")
    assert gateway.running.store.find(other.entry.juminhyo_code) is None


def test_apply_stream_answers_in_request_order_with_refusals_inline(gateway: InProcessGateway) -> None:
    requests = [tennyu_request(i) for i in range(10, 20)]
    requests.insert(3, tennyu_request(10, request_prefix="dup"))  # 転入 of a current resident
    bad = tennyu_request(30)
    bad.entry.postal_code = "036-8551"
    requests.insert(7, bad)
    results = list(gateway.stub().ApplyStream(iter(requests), timeout=30))
    assert [r.request_id for r in results] == [r.request_id for r in requests]
    outcomes = [r.WhichOneof("outcome") for r in results]
    assert outcomes.count("refusal") == 2
    assert results[3].refusal.reason == "ALREADY_RESIDENT"
    assert (results[7].refusal.reason, results[7].refusal.field) == ("INVALID_POSTAL_CODE", "postal_code")
    assert results[3].refusal.message_ja and results[3].refusal.message_en
    seqs = [r.record.update_seq for r in results if r.WhichOneof("outcome") == "record"]
    assert seqs == list(range(1, 11))


def test_get_history_lists_every_version_in_update_order(gateway: InProcessGateway) -> None:
    stub = gateway.stub()
    stub.Apply(tennyu_request(40), timeout=10)
    stub.Apply(tenkyo_request(40, "move-a", "青森県弘前市大字本町1番地"), timeout=10)
    stub.Apply(tenkyo_request(40, "move-b", "青森県弘前市大字本町2番地", on=date(2025, 7, 1)), timeout=10)
    history = stub.GetHistory(upb.GetHistoryRequest(juminhyo_code=synthetic_entry(40).juminhyo_code), timeout=10)
    assert [v.update_seq for v in history.versions] == [1, 2, 3]
    assert [v.change_reason for v in history.versions] == [
        pb.CHANGE_REASON_TENNYU,
        pb.CHANGE_REASON_TENKYO,
        pb.CHANGE_REASON_TENKYO,
    ]
    assert history.versions[-1].address == "青森県弘前市大字本町2番地"


def test_get_record_unknown_and_malformed_codes(gateway: InProcessGateway) -> None:
    stub = gateway.stub()
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetRecord(upb.GetRecordRequest(juminhyo_code=synthetic_entry(41).juminhyo_code), timeout=10)
    assert (caught.value.code(), error_info(caught.value).reason) == (grpc.StatusCode.NOT_FOUND, "NO_RECORD")
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetRecord(upb.GetRecordRequest(juminhyo_code="12345"), timeout=10)
    assert error_info(caught.value).reason == "INVALID_JUMINHYO_CODE"


def test_every_accepted_update_queues_one_change_notice(gateway: InProcessGateway) -> None:
    stub = gateway.stub()
    for i in range(50, 55):
        stub.Apply(tennyu_request(i), timeout=10)
    refusal(stub, tennyu_request(50, request_prefix="dup"))
    notices = gateway.running.store.pending_notices()
    assert [seq for seq, _ in notices] == [1, 2, 3, 4, 5]
    first = notices[0][1]
    entry = synthetic_entry(50)
    assert first["juminhyo_code"] == entry.juminhyo_code
    assert first["individual_number"] == entry.individual_number
    assert first["change_reason"] == pb.CHANGE_REASON_TENNYU
    assert set(first) >= {"name_kanji", "birth_date", "sex", "address", "change_date", "update_seq"}


def _raw_apply(gateway: InProcessGateway, payload: bytes) -> grpc.RpcError:
    call = gateway.channel().unary_unary(
        "/jukinet.cs.v1.UpdateService/Apply", request_serializer=lambda b: b, response_deserializer=lambda b: b
    )
    with pytest.raises(grpc.RpcError) as caught:
        call(payload, timeout=10)
    return caught.value


def _audit_reasons(gateway: InProcessGateway) -> list[tuple[str, str]]:
    conn = sqlite3.connect(gateway.config.store_path)
    try:
        return conn.execute("SELECT outcome, reason FROM audit_log ORDER BY seq").fetchall()
    finally:
        conn.close()


def test_bytes_that_are_not_an_update_request_are_refused_and_audited(gateway: InProcessGateway) -> None:
    """The gateway parses requests itself (in its store writer): garbage gets a reason, not INTERNAL."""
    for garbage in (b"\xff\xff\xff\xff", b"\x0a\x80"):  # a bad tag; a length beyond the end
        error = _raw_apply(gateway, garbage)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_info(error).reason == "MALFORMED_REQUEST"
    assert _audit_reasons(gateway)[-2:] == [("refused", "MALFORMED_REQUEST")] * 2
    assert gateway.running.store.last_update_seq() == 0
    # in a stream, the refusal is that message's answer and the stream goes on
    good = tennyu_request(60)
    results = list(
        gateway.channel().stream_stream(
            "/jukinet.cs.v1.UpdateService/ApplyStream",
            request_serializer=lambda b: b,
            response_deserializer=upb.UpdateResult.FromString,
        )(iter([b"\xff\xff", good.SerializeToString()]), timeout=10)
    )
    assert [r.WhichOneof("outcome") for r in results] == ["refusal", "record"]
    assert results[0].refusal.reason == "MALFORMED_REQUEST"
    assert results[1].record.update_seq == 1


def test_the_same_request_in_another_field_order_is_a_replay(gateway: InProcessGateway) -> None:
    """Idempotency compares content, not bytes: the same message encoded with its fields in
    another order (valid protobuf) replays the first result instead of REQUEST_ID_REUSED."""
    request = tennyu_request(61)
    first = gateway.stub().Apply(request, timeout=10)
    entry_only = upb.UpdateRequest(entry=request.entry).SerializeToString()
    rest = upb.UpdateRequest()
    rest.CopyFrom(request)
    rest.ClearField("entry")
    reordered = entry_only + rest.SerializeToString()  # entry first: concatenated messages merge
    assert reordered != request.SerializeToString()
    assert upb.UpdateRequest.FromString(reordered) == request
    call = gateway.channel().unary_unary(
        "/jukinet.cs.v1.UpdateService/Apply",
        request_serializer=lambda b: b,
        response_deserializer=upb.UpdateResult.FromString,
    )
    again = call(reordered, timeout=10)
    assert again.replayed and again.record == first.record
    assert gateway.running.store.last_update_seq() == 1


def test_a_request_id_that_is_not_one_stays_out_of_the_audit_trail(gateway: InProcessGateway) -> None:
    """The id is the caller's free choice: a refused request with terminal escapes and kilobytes
    in it is audited with a fixed marker instead; a valid id on a refused request is kept."""
    stub = gateway.stub()
    hostile = tennyu_request(62)
    hostile.request_id = "\x1b[2J" + "x" * 5000
    assert refusal(stub, hostile)[1:] == ("INVALID_REQUEST_ID", "request_id")
    bad_date = tennyu_request(63)
    bad_date.entry.birth_date.CopyFrom(pb.Date(year=2001, month=2, day=30))
    assert refusal(stub, bad_date)[1:] == ("INVALID_DATE", "birth_date")
    conn = sqlite3.connect(gateway.config.store_path)
    try:
        rows = conn.execute("SELECT request_id, reason FROM audit_log ORDER BY seq DESC LIMIT 2").fetchall()
    finally:
        conn.close()
    assert rows == [
        (bad_date.request_id, "INVALID_DATE"),
        ("<not kept: not a valid request id>", "INVALID_REQUEST_ID"),
    ]


def test_an_oversized_message_in_a_stream_is_refused_inline_and_the_stream_goes_on(
    gateway: InProcessGateway,
) -> None:
    big = tennyu_request(70)
    big.change_reason_detail = "あ" * 30_000  # over the 64 KiB limit, under grpc's own cap
    results = list(gateway.stub().ApplyStream(iter([tennyu_request(71), big, tennyu_request(72)]), timeout=10))
    assert [r.WhichOneof("outcome") for r in results] == ["record", "refusal", "record"]
    assert results[1].refusal.reason == "MESSAGE_TOO_LARGE"
    assert results[1].request_id == ""  # the message was not read
    assert [r.record.update_seq for r in (results[0], results[2])] == [1, 2]
    assert ("refused", "MESSAGE_TOO_LARGE") in _audit_reasons(gateway)


def test_the_audit_entry_names_the_operator_and_terminal_of_the_request(gateway: InProcessGateway) -> None:
    request = tennyu_request(73)
    request.operator_id, request.terminal_id = "kizon-op01", "kizon-term-07"
    gateway.stub().Apply(request, timeout=10)
    conn = sqlite3.connect(gateway.config.store_path)
    try:
        row = conn.execute("SELECT outcome, operator_id, terminal_id FROM audit_log ORDER BY seq DESC").fetchone()
    finally:
        conn.close()
    assert row == ("ok", "kizon-op01", "kizon-term-07")


def test_identifiers_inside_a_request_id_are_masked_in_the_audit_trail(gateway: InProcessGateway) -> None:
    """A 既存住基 system may build its request ids from a 個人番号 or 住民票コード: the trail keeps
    the id (for correlation) with every 11- or 12-digit run masked, like the operational log."""
    request = tennyu_request(74)
    number = request.entry.individual_number
    request.request_id = f"rid-{number}"
    gateway.stub().Apply(request, timeout=10)
    conn = sqlite3.connect(gateway.config.store_path)
    try:
        (kept,) = conn.execute("SELECT request_id FROM audit_log ORDER BY seq DESC").fetchone()
        (stored,) = conn.execute("SELECT request_id FROM requests").fetchone()
    finally:
        conn.close()
    assert kept == "rid-********" + number[-4:]
    assert stored == request.request_id  # idempotency works on the id as sent
