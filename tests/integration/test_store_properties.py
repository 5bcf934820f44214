"""Property: no refused update changes the store (real SQLite file, real use case)."""

from __future__ import annotations

import dataclasses
import sqlite3
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cs_gateway.domain.enums import ChangeReason
from cs_gateway.domain.record import UpdateCommand
from tests.conftest import AuditedApply, new_store
from tests.strategies import entry_of, st_valid_command

TABLES = ("persons", "codes", "individual_numbers", "history", "requests", "outbox")


def snapshot(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES}  # noqa: S608
    finally:
        conn.close()


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


def _derive(op: tuple, sent: list[UpdateCommand], n: int) -> UpdateCommand | None:
    kind, arg = op
    if kind == "fresh":
        return arg
    if not sent:
        return None
    if kind == "resend":
        return dataclasses.replace(sent[arg % len(sent)], request_id=f"resend-{n}")
    if kind == "reuse_id":
        earlier = sent[arg % len(sent)]
        other = sent[(arg + 1) % len(sent)]
        return dataclasses.replace(other, request_id=earlier.request_id, change_reason_detail=f"x{n}")
    index, reason = arg
    earlier = sent[index % len(sent)]
    return dataclasses.replace(earlier, request_id=f"reason-{n}", change_reason=reason)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS)
def test_no_refused_update_changes_the_store(ops: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cs.sqlite3"
        store = new_store(path)
        try:
            apply = AuditedApply(store)
            sent: list[UpdateCommand] = []
            last_seq = 0
            for n, op in enumerate(ops):
                cmd = _derive(op, sent, n)
                if cmd is None:
                    continue
                before = snapshot(path)
                result = apply.submit(cmd).result(30)
                after = snapshot(path)
                event(f"outcome: {result.violation.code if result.violation else 'accepted'}")
                if result.violation is not None or result.replayed:
                    assert after == before, (result.violation, cmd.change_reason)
                else:
                    assert result.record is not None
                    last_seq += 1
                    assert result.record.update_seq == last_seq
                    assert len(after["history"]) == last_seq
                    assert entry_of(result.record) == dataclasses.replace(
                        cmd.entry, juminhyo_code_since=result.record.juminhyo_code_since
                    )
                sent.append(cmd)
        finally:
            store.close()
