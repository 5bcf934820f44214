"""The security officer's report: each finding on small trails with known answers, at its edges
(thresholds are "more than", office hours are [08:30, 17:15) JST on weekdays, days are JST days)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, time, timedelta

import pytest

from cs_gateway.audit.chain import SubjectHasher
from cs_gateway.audit.event import Actor, AuditEvent
from cs_gateway.audit.report import (
    OfficeHours,
    ReportOptions,
    actor_label,
    build_report,
    bursts,
    is_lookup,
    lookups_per_actor_day,
    off_hours,
    refusals_by_rule,
    render_json,
    render_text,
    repeated,
)
from cs_gateway.audit.trail import AuditTrail, iter_entries
from cs_gateway.clock import JST
from cs_gateway.domain.check_digit import make_juminhyo_code
from cs_gateway.store.at_rest import NumberCipher
from cs_gateway.store.schema import migrate

GET = "/jukinet.cs.v1.TerminalService/GetRecord"
SEARCH = "/jukinet.cs.v1.TerminalService/SearchByName"
APPLY = "/jukinet.cs.v1.UpdateService/Apply"
HASHER = SubjectHasher(b"r" * 32)


def person(i: int) -> str:
    return make_juminhyo_code(f"{1000000000 + i}")


def subject(i: int) -> str:
    return HASHER.juminhyo_code(person(i))


def entry(
    when: datetime,
    *,
    actor: str = "op-a",
    who: int | None = 1,
    action: str = GET,
    outcome: str = "ok",
    reason: str = "",
    seq: int = 0,
) -> dict[str, object]:
    """One audit_log row as the trail stores it (UTC ISO time, subject as HMAC)."""
    return {
        "seq": seq,
        "at": when.astimezone(UTC).isoformat(timespec="microseconds"),
        "action": action,
        "outcome": outcome,
        "reason": reason,
        "spiffe_id": "spiffe://hirosaki.jukinet.test/terminal/terminal-01",
        "cert_fingerprint": "",
        "peer": "",
        "operator_id": actor,
        "terminal_id": "",
        "subject_code_hmac": subject(who) if who is not None else "",
        "subject_number_hmac": "",
        "request_id": "",
        "update_seq": None,
        "detail": "",
    }


def jst(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A JST moment in the week of Monday 2026-11-23."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=JST)


def test_a_lookup_is_a_method_starting_with_get_search_verify_or_lookup() -> None:
    assert is_lookup(GET) and is_lookup(SEARCH)
    assert is_lookup("/jukinet.cs.v1.TerminalService/VerifyCard")
    assert is_lookup("/jukinet.cs.v1.TerminalService/LookupByNumber")
    assert not is_lookup(APPLY) and not is_lookup("/jukinet.cs.v1.UpdateService/ApplyStream")
    assert not is_lookup("audit.lookup")  # a local command, not an RPC


def test_the_actor_is_the_operator_else_the_certificate() -> None:
    assert actor_label(entry(jst(24, 10))) == "op-a"
    assert actor_label(entry(jst(24, 10), actor="")) == "spiffe://hirosaki.jukinet.test/terminal/terminal-01"


@pytest.mark.parametrize(
    ("moment", "why"),
    [
        (jst(23, 8, 29, 59), "before-hours"),
        (jst(23, 8, 30), None),
        (jst(27, 17, 14, 59), None),
        (jst(27, 17, 15), "after-hours"),
        (jst(26, 22), "after-hours"),
        (jst(28, 10), "weekend"),
        (jst(29, 10), "weekend"),
        (datetime(2026, 11, 23, 23, 30, tzinfo=UTC), None),  # Tue 08:30 JST: the day is the JST day
        (datetime(2026, 11, 23, 23, 29, tzinfo=UTC), "before-hours"),
    ],
)
def test_office_hours_are_weekdays_0830_to_1715_jst(moment: datetime, why: str | None) -> None:
    assert OfficeHours().outside(moment) == why


def test_office_hours_know_holidays_and_other_days() -> None:
    assert OfficeHours(holidays=frozenset({date(2026, 11, 23)})).outside(jst(23, 10)) == "holiday"  # 勤労感謝の日
    saturdays_too = OfficeHours(weekdays=frozenset(range(6)), start=time(9), end=time(12))
    assert saturdays_too.outside(jst(28, 10)) is None and saturdays_too.outside(jst(28, 12)) == "after-hours"


def test_off_hours_lookups_are_grouped_per_actor_day_and_kind() -> None:
    trail = [
        entry(jst(26, 22), actor="op-c"),
        entry(jst(26, 22, 30), actor="op-c"),
        entry(jst(28, 10), actor="op-d"),
        entry(jst(24, 10), actor="op-a"),  # in office hours
        entry(jst(26, 23), actor="op-c", action=APPLY),  # not a lookup
    ]
    found = [(x.day, x.actor, x.why, x.lookups, x.first.time(), x.last.time()) for x in off_hours(trail)]
    assert found == [
        (date(2026, 11, 26), "op-c", "after-hours", 2, time(22), time(22, 30)),
        (date(2026, 11, 28), "op-d", "weekend", 1, time(10), time(10)),
    ]


def _spread(actor: str, start: datetime, people: range, every: timedelta) -> list[dict[str, object]]:
    return [entry(start + k * every, actor=actor, who=p) for k, p in enumerate(people)]


def test_a_burst_is_more_than_n_distinct_residents_within_w_minutes() -> None:
    twenty = _spread("op-a", jst(24, 10), range(20), timedelta(seconds=12))
    assert bursts(twenty) == []  # exactly N is not "more than N"
    twenty_five = _spread("op-a", jst(24, 10), range(25), timedelta(seconds=12))
    [burst] = bursts(twenty_five)
    assert (burst.actor, burst.first, burst.last, burst.persons, burst.lookups) == (
        "op-a",
        jst(24, 10),
        jst(24, 10, 4, 48),
        25,
        25,
    )
    slow = _spread("op-a", jst(24, 10), range(25), timedelta(seconds=31))  # 21 people take 10 min 20 s
    assert bursts(slow) == []
    assert len(bursts(slow, persons=19)) == 1
    assert bursts(twenty_five, minutes=1) == []  # 6 people per minute at most


def test_looking_at_the_same_people_again_is_not_a_burst_and_actors_are_separate() -> None:
    same_people = [entry(jst(24, 10) + timedelta(seconds=k), who=k % 10) for k in range(100)]
    assert bursts(same_people) == []
    split = _spread("op-a", jst(24, 10), range(0, 15), timedelta(seconds=5)) + _spread(
        "op-b", jst(24, 10), range(15, 30), timedelta(seconds=5)
    )
    assert bursts(split) == []


def test_two_separate_bursts_are_two_findings() -> None:
    morning = _spread("op-a", jst(24, 10), range(25), timedelta(seconds=10))
    afternoon = _spread("op-a", jst(24, 15), range(100, 130), timedelta(seconds=10))
    assert [(b.first, b.persons) for b in bursts(morning + afternoon)] == [(jst(24, 10), 25), (jst(24, 15), 30)]


def test_repeated_lookups_of_one_person_are_counted_per_jst_day() -> None:
    six = [entry(jst(25, 11, 5 * k), actor="op-b", who=7) for k in range(6)]
    five = six[:5]
    assert repeated(five) == []
    [found] = repeated(six)
    assert (found.day, found.actor, found.subject, found.lookups) == (date(2026, 11, 25), "op-b", subject(7)[:8], 6)
    # 4 on one JST day and 3 on the next (15:00 UTC is midnight in Japan): not more than 5 a day
    around_midnight = [entry(jst(25, 20) + timedelta(hours=k), actor="op-b", who=7) for k in range(7)]
    assert repeated(around_midnight) == []
    assert repeated(six, limit=6) == []


def test_refusals_are_counted_per_rule_most_frequent_first() -> None:
    trail = [
        entry(jst(27, 14), action=APPLY, outcome="denied", reason="policy:role-not-allowed", who=None),
        entry(jst(27, 14, 1), action=APPLY, outcome="denied", reason="revocation:revoked", who=None),
        entry(jst(27, 14, 2), action=APPLY, outcome="denied", reason="policy:role-not-allowed", who=None),
        entry(jst(27, 14, 3), outcome="refused", reason="NO_RECORD"),
        entry(jst(27, 14, 4), outcome="error", reason="OperationalError"),
        entry(jst(27, 14, 5)),
    ]
    assert [(r.outcome, r.reason, r.count) for r in refusals_by_rule(trail)] == [
        ("denied", "policy:role-not-allowed", 2),
        ("denied", "revocation:revoked", 1),
        ("refused", "NO_RECORD", 1),
    ]


def test_lookups_per_operator_per_jst_day() -> None:
    trail = [
        entry(jst(24, 9), who=1),
        entry(jst(24, 9, 1), who=1, outcome="refused", reason="NO_RECORD"),
        entry(jst(24, 9, 2), who=2),
        entry(datetime(2026, 11, 24, 15, 0, tzinfo=UTC), who=3),  # 00:00 JST on the 25th
        entry(jst(24, 9, 3), actor="op-b", who=1),
        entry(jst(24, 9, 4), action=APPLY),
    ]
    assert [(d.day, d.actor, d.lookups, d.ok, d.persons) for d in lookups_per_actor_day(trail)] == [
        (date(2026, 11, 24), "op-a", 3, 2, 2),
        (date(2026, 11, 24), "op-b", 1, 1, 1),
        (date(2026, 11, 25), "op-a", 1, 1, 1),
    ]


def _trail_in_sqlite(events: list[tuple[datetime, AuditEvent]]) -> list[dict[str, object]]:
    """Entries written by the real AuditTrail (with a fixed clock) into a real SQLite schema."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn, NumberCipher(b"n" * 32))
    clock: list[datetime] = [datetime.now(UTC)]
    trail = AuditTrail(HASHER, now=lambda: clock[0])
    for when, event in events:
        clock[0] = when.astimezone(UTC)
        trail.append(conn, event)
    return list(iter_entries(conn))


def test_report_over_a_real_trail_with_known_answers() -> None:
    terminal = "spiffe://hirosaki.jukinet.test/terminal/terminal-01"

    def lookup(operator: str, who: int) -> AuditEvent:
        return AuditEvent(
            action=GET,
            outcome="ok",
            actor=Actor(spiffe_id=terminal, operator_id=operator),
            subject_juminhyo_code=person(who),
        )

    events = [(jst(24, 10) + timedelta(seconds=12 * k), lookup("op-a", k)) for k in range(25)]
    events += [(jst(25, 11, 5 * k), lookup("op-b", 1)) for k in range(7)]
    events += [(jst(26, 22), lookup("op-c", 2)), (jst(28, 10), lookup("op-d", 3))]
    events += [
        (jst(27, 14, k), AuditEvent(action=APPLY, outcome="denied", actor=Actor(spiffe_id=terminal), reason=rule))
        for k, rule in enumerate(["policy:role-not-allowed", "revocation:revoked", "policy:role-not-allowed"])
    ]
    events += [(jst(30, 10), lookup("op-e", 4))]  # Monday after: outside the period
    trail = _trail_in_sqlite(events)

    report = build_report(trail, date(2026, 11, 23), date(2026, 11, 29), ReportOptions())
    assert report.entries == 37 and report.outcomes == {"denied": 3, "ok": 34}
    assert [(b.actor, b.persons) for b in report.bursts] == [("op-a", 25)]
    assert [(x.actor, x.why) for x in report.off_hours] == [("op-c", "after-hours"), ("op-d", "weekend")]
    assert [(r.actor, r.subject, r.lookups) for r in report.repeated] == [("op-b", subject(1)[:8], 7)]
    assert [(r.reason, r.count) for r in report.refusals] == [("policy:role-not-allowed", 2), ("revocation:revoked", 1)]
    assert report.unusual == 4

    text, data = render_text(report), render_json(report)
    assert json.loads(data)["unusual"]["repeated"][0]["subject"] == subject(1)[:8]
    for rendered in (text, data):
        for i in range(25):
            assert subject(i) not in rendered and person(i) not in rendered
    assert "執務時間外の照会 / Lookups outside office hours (mon,tue,wed,thu,fri 08:30-17:15 JST)" in text
    assert "op-e" not in text


def test_an_empty_period_says_none() -> None:
    text = render_text(build_report([], date(2026, 11, 23), date(2026, 11, 29)))
    assert text.count("(なし / none)") == 5
