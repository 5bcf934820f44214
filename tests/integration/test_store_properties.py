"""Properties of the write path as production runs it: each update goes as wire bytes
(EncodedWrite) to the real writer process, where the registered codec decodes and format-checks
it and the registered handler decides and stores it (real SQLite file, real audit trail).

- every valid update is answered as the domain's rules decide on the state it is applied to,
  and a valid 転入 of a new person is stored as sent;
- a single-field corruption is refused on that field;
- no refused (or replayed) update changes any table.
"""

from __future__ import annotations

import dataclasses
import itertools
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cs_gateway.api.convert import update_from_proto
from cs_gateway.audit.spec import AuditSpec
from cs_gateway.domain.enums import ChangeReason
from cs_gateway.domain.logic_checks import Accepted, decide
from cs_gateway.domain.record import ENTRY_FIELDS, UpdateCommand
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2 as upb
from cs_gateway.server import command_registry
from cs_gateway.store.interface import Encoded, EncodedWrite
from cs_gateway.store.sqlite_store import SqliteStore
from cs_gateway.store.sqlite_tx import open_reader
from tests.conftest import APPLY, MUNICIPALITY, TEST_ACTOR, TODAY
from tests.strategies import individual_number, juminhyo_code, st_valid_command
from tests.unit.test_format_checks import CORRUPTIONS, Corruption
from tests.wire import command_to_request

TABLES = ("persons", "codes", "individual_numbers", "history", "requests", "outbox")
SPEC = AuditSpec(hmac_key=b"k" * 32, signing_key=None, signing_cert=None)
SHARED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def writer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    """One gateway store with its writer process for the module: examples share its state."""
    path = tmp_path_factory.mktemp("props") / "cs.sqlite3"
    store = SqliteStore(path, audit=SPEC, registry=command_registry(MUNICIPALITY))
    yield store
    store.close()


def send(store: SqliteStore, cmd: UpdateCommand) -> upb.UpdateResult:
    """One update as ApplyStream sends it (refusals in band), answered by the writer process."""
    payload = command_to_request(cmd).SerializeToString()
    answer = store.submit(EncodedWrite(payload, TEST_ACTOR, APPLY, TODAY, True)).result(30)
    assert isinstance(answer, Encoded) and answer.payload is not None
    return upb.UpdateResult.FromString(answer.payload)


def snapshot(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES}  # noqa: S608
    finally:
        conn.close()


_fresh = itertools.count(1)


def new_person(cmd: UpdateCommand) -> UpdateCommand:
    """The command for a person this store has never seen (identifiers unique in the module)."""
    n = next(_fresh)
    entry = dataclasses.replace(cmd.entry, juminhyo_code=juminhyo_code(n), individual_number=individual_number(n))
    return dataclasses.replace(cmd, entry=entry, request_id=f"{cmd.request_id[:50]}-n{n}")


def test_the_wire_form_of_a_command_decodes_to_the_same_command() -> None:
    @given(st_valid_command(reason=None))
    @settings(max_examples=50, deadline=None)
    def round_trip(cmd: UpdateCommand) -> None:
        assert update_from_proto(command_to_request(cmd)) == cmd

    round_trip()


@settings(SHARED, max_examples=40)
@given(cmd=st_valid_command(reason=ChangeReason.TENNYU))
def test_every_valid_tennyu_of_a_new_person_is_stored_as_sent(writer: SqliteStore, cmd: UpdateCommand) -> None:
    cmd = new_person(cmd)
    before = writer.last_update_seq()
    result = send(writer, cmd)
    assert result.WhichOneof("outcome") == "record", result.refusal
    assert result.record.update_seq == before + 1
    sent = command_to_request(cmd).entry
    for name in ENTRY_FIELDS:
        if name != "juminhyo_code_since":  # the store's 住民票コード記載日 may differ from what was sent
            assert getattr(result.record, name) == getattr(sent, name), name


@settings(SHARED, max_examples=60)
@given(cmd=st_valid_command(reason=None))
def test_the_writer_answers_every_valid_update_as_the_rules_decide(writer: SqliteStore, cmd: UpdateCommand) -> None:
    cmd = dataclasses.replace(cmd, request_id=f"rules-{next(_fresh)}")  # a new id: the rules decide
    reader = open_reader(writer.path)
    try:
        expected = decide(cmd, reader, TODAY)  # the state the writer applies it to (nothing else writes)
    finally:
        reader.close()
    result = send(writer, cmd)
    if isinstance(expected, Accepted):
        event("accepted")
        assert result.WhichOneof("outcome") == "record", result.refusal
    else:
        event(f"refused: {expected.code}")
        assert (result.refusal.reason, result.refusal.field) == (expected.code, expected.field)


@pytest.mark.parametrize(("corrupt", "field"), CORRUPTIONS, ids=[f"{fn.__name__}-{f}" for fn, f in CORRUPTIONS])
@settings(SHARED, max_examples=8)
@given(data=st.data())
def test_single_field_corruption_refused_on_that_field(
    writer: SqliteStore, corrupt: Corruption, field: str, data: st.DataObject
) -> None:
    cmd = data.draw(st_valid_command(reason=None), label="valid command")
    bad, expected = corrupt(data.draw, cmd, field)
    before = snapshot(writer.path)
    result = send(writer, bad)
    assert result.WhichOneof("outcome") == "refusal", f"{corrupt.__name__} of {field} was not noticed"
    assert (result.refusal.reason, result.refusal.field) in expected
    assert snapshot(writer.path) == before


# An operation: a fresh well-formed command of any reason, a resend of an earlier command under
# a new id (often a logic refusal such as ALREADY_RESIDENT), an earlier id with other content
# (REQUEST_ID_REUSED), or a change of reason on an earlier person.
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("fresh"), st_valid_command(reason=None)),
        st.tuples(st.just("fresh"), st_valid_command(reason=ChangeReason.TENNYU)),
        st.tuples(st.just("resend"), st.integers(0, 20)),
        st.tuples(st.just("reuse_id"), st.integers(0, 20)),
        st.tuples(st.just("reason"), st.tuples(st.integers(0, 20), st.sampled_from(list(ChangeReason)))),
    ),
    min_size=1,
    max_size=14,
)


def _derive(op: tuple, sent: list[UpdateCommand], n: int, example: int) -> UpdateCommand | None:
    kind, arg = op
    if kind == "fresh":
        return arg
    if not sent:
        return None
    if kind == "resend":
        return dataclasses.replace(sent[arg % len(sent)], request_id=f"resend-{example}-{n}")
    if kind == "reuse_id":
        earlier = sent[arg % len(sent)]
        other = sent[(arg + 1) % len(sent)]
        return dataclasses.replace(other, request_id=earlier.request_id, change_reason_detail=f"x{n}")
    index, reason = arg
    earlier = sent[index % len(sent)]
    return dataclasses.replace(earlier, request_id=f"reason-{example}-{n}", change_reason=reason)


_examples = itertools.count(1)


@settings(SHARED, max_examples=40)
@given(ops=OPS)
def test_no_refused_update_changes_the_store(writer: SqliteStore, ops: list[tuple]) -> None:
    example = next(_examples)
    sent: list[UpdateCommand] = []
    for n, op in enumerate(ops):
        cmd = _derive(op, sent, n, example)
        if cmd is None:
            continue
        before = snapshot(writer.path)
        result = send(writer, cmd)
        after = snapshot(writer.path)
        outcome = result.WhichOneof("outcome")
        event(f"outcome: {result.refusal.reason if outcome == 'refusal' else 'accepted'}")
        if outcome == "refusal" or result.replayed:
            assert after == before, (result.refusal, cmd.change_reason)
        else:
            assert result.record.update_seq == len(before["history"]) + 1
            assert len(after["history"]) == len(before["history"]) + 1
            sent_entry = command_to_request(cmd).entry
            for name in ENTRY_FIELDS:
                if name != "juminhyo_code_since":
                    assert getattr(result.record, name) == getattr(sent_entry, name), name
        sent.append(cmd)
