"""The security officer's periodic check of the audit trail (seed III(1)-3): pure functions over
audit entries (dicts with the audit_log columns), so that each finding is testable with a known
answer, and renderers for a Japanese + English text report or JSON.

Times in the trail are UTC ISO strings; every day, hour and office-hours rule here is in JST.
A subject appears only as the first 8 hex characters of its HMAC; no plaintext identifier is
ever in the trail, so none can be in the report.
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ..clock import JST
from ..domain.masking import mask_text
from .local_ops import rows_as_entries, select_entries

Entry = Mapping[str, Any]

LOOKUP_PREFIXES = ("Get", "Search", "Verify", "Lookup")
REFUSAL_OUTCOMES = ("refused", "denied")
SUBJECT_PREFIX_LEN = 8
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# -- the vocabulary ----------------------------------------------------------------------------


def method_name(action: str) -> str:
    """The RPC method name after the last '/', or the command itself (audit.lookup)."""
    return action.rsplit("/", 1)[-1]


def is_lookup(action: str) -> bool:
    """A lookup of identity data: an RPC whose method starts with Get, Search, Verify or Lookup."""
    return "/" in action and method_name(action).startswith(LOOKUP_PREFIXES)


def actor_label(entry: Entry) -> str:
    """Who, for the officer: the operator if one is named, else the certificate identity."""
    return str(entry.get("operator_id") or entry.get("spiffe_id") or entry.get("peer") or "(unknown)")


def short_subject(subject_hmac: str) -> str:
    """A recognisable but not reversible reference to a subject: the HMAC's first 8 hex chars."""
    return subject_hmac[:SUBJECT_PREFIX_LEN] if subject_hmac else ""


def parse_at(value: str) -> datetime:
    """The trail's timestamp (UTC ISO string) as an aware datetime."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def jst(entry: Entry) -> datetime:
    return parse_at(str(entry["at"])).astimezone(JST)


def jst_day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[first 00:00 JST, the day after last 00:00 JST) in UTC."""
    start = datetime.combine(first, time(0), JST).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), JST).astimezone(UTC)
    return start, end


def in_period(entries: Iterable[Entry], first: date, last: date) -> list[Entry]:
    start, end = jst_day_bounds(first, last)
    return [e for e in entries if start <= parse_at(str(e["at"])) < end]


def lookups(entries: Iterable[Entry]) -> list[Entry]:
    """Lookup entries in time order (whatever the outcome: an attempt is a look too)."""
    return sorted((e for e in entries if is_lookup(str(e["action"]))), key=lambda e: (parse_at(str(e["at"])), e["seq"]))


@dataclass(frozen=True)
class OfficeHours:
    """Office hours in JST: [start, end) on the given weekdays (0 = Monday), except holidays."""

    start: time = time(8, 30)
    end: time = time(17, 15)
    weekdays: frozenset[int] = frozenset(range(5))
    holidays: frozenset[date] = frozenset()

    def outside(self, moment: datetime) -> str | None:
        """None within office hours, else why not: holiday, weekend, before-hours, after-hours."""
        local = moment.astimezone(JST)
        if local.date() in self.holidays:
            return "holiday"
        if local.weekday() not in self.weekdays:
            return "weekend"
        if local.time() < self.start:
            return "before-hours"
        if local.time() >= self.end:
            return "after-hours"
        return None

    def describe(self) -> str:
        days = ",".join(WEEKDAY_NAMES[d] for d in sorted(self.weekdays))
        return f"{days} {self.start:%H:%M}-{self.end:%H:%M} JST" + (
            f", {len(self.holidays)} holiday(s)" if self.holidays else ""
        )


@dataclass(frozen=True)
class ReportOptions:
    burst_persons: int = 20  # (a) more than this many distinct residents ...
    burst_minutes: int = 10  # ... by one actor within this many minutes
    repeat_limit: int = 5  # (c) more than this many lookups of one person by one actor in one JST day
    office: OfficeHours = field(default_factory=OfficeHours)  # (b)


# -- findings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DailyLookups:
    day: date
    actor: str
    lookups: int
    ok: int
    persons: int  # distinct subjects


@dataclass(frozen=True)
class Burst:
    actor: str
    first: datetime
    last: datetime
    persons: int  # distinct subjects between first and last
    lookups: int


@dataclass(frozen=True)
class OffHours:
    day: date
    actor: str
    why: str  # holiday | weekend | before-hours | after-hours
    lookups: int
    first: datetime
    last: datetime


@dataclass(frozen=True)
class Repeated:
    day: date
    actor: str
    subject: str  # short_subject()
    lookups: int
    first: datetime
    last: datetime


@dataclass(frozen=True)
class RefusalCount:
    outcome: str
    reason: str
    count: int


def lookups_per_actor_day(entries: Iterable[Entry]) -> list[DailyLookups]:
    total: Counter[tuple[date, str]] = Counter()
    ok: Counter[tuple[date, str]] = Counter()
    persons: dict[tuple[date, str], set[str]] = defaultdict(set)
    for e in lookups(entries):
        key = (jst(e).date(), actor_label(e))
        total[key] += 1
        ok[key] += e["outcome"] == "ok"
        if e["subject_code_hmac"]:
            persons[key].add(str(e["subject_code_hmac"]))
    return [DailyLookups(*key, lookups=n, ok=ok[key], persons=len(persons[key])) for key, n in sorted(total.items())]


def bursts(entries: Iterable[Entry], *, persons: int = 20, minutes: int = 10) -> list[Burst]:
    """(a) One actor looks up more than `persons` distinct residents within `minutes` minutes.

    A sliding window per actor; overlapping alerting windows merge into one finding, reported
    with its first and last lookup and the distinct residents over the whole stretch.
    """
    window = timedelta(minutes=minutes)
    by_actor: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for e in lookups(entries):
        if e["subject_code_hmac"]:
            by_actor[actor_label(e)].append((parse_at(str(e["at"])), str(e["subject_code_hmac"])))
    found: list[Burst] = []
    for actor, seen in sorted(by_actor.items()):
        stretches: list[list[datetime]] = []  # [first, last] of merged alerting windows
        held: deque[tuple[datetime, str]] = deque()
        counts: Counter[str] = Counter()
        for moment, subject in seen:
            held.append((moment, subject))
            counts[subject] += 1
            while moment - held[0][0] > window:
                _, gone = held.popleft()
                counts[gone] -= 1
                if not counts[gone]:
                    del counts[gone]
            if len(counts) > persons:
                start = held[0][0]
                if stretches and start <= stretches[-1][1]:
                    stretches[-1][1] = moment
                else:
                    stretches.append([start, moment])
        for first, last in stretches:
            inside = [s for m, s in seen if first <= m <= last]
            found.append(Burst(actor, first.astimezone(JST), last.astimezone(JST), len(set(inside)), len(inside)))
    return found


def off_hours(entries: Iterable[Entry], office: OfficeHours | None = None) -> list[OffHours]:
    """(b) Lookups outside office hours, per actor, JST day and kind (weekend, after-hours, ...)."""
    office = office or OfficeHours()
    groups: dict[tuple[date, str, str], list[datetime]] = defaultdict(list)
    for e in lookups(entries):
        moment = jst(e)
        why = office.outside(moment)
        if why is not None:
            groups[(moment.date(), actor_label(e), why)].append(moment)
    return [OffHours(day, actor, why, len(t), min(t), max(t)) for (day, actor, why), t in sorted(groups.items())]


def repeated(entries: Iterable[Entry], *, limit: int = 5) -> list[Repeated]:
    """(c) One actor looks up the same person more than `limit` times in one JST day."""
    groups: dict[tuple[date, str, str], list[datetime]] = defaultdict(list)
    for e in lookups(entries):
        if e["subject_code_hmac"]:
            moment = jst(e)
            groups[(moment.date(), actor_label(e), str(e["subject_code_hmac"]))].append(moment)
    return [
        Repeated(day, actor, short_subject(subject), len(t), min(t), max(t))
        for (day, actor, subject), t in sorted(groups.items())
        if len(t) > limit
    ]


def refusals_by_rule(entries: Iterable[Entry]) -> list[RefusalCount]:
    """Refused (a domain rule) and denied (identity, network, policy) operations, per rule."""
    counts = Counter(
        (str(e["outcome"]), str(e["reason"]) or "(none)") for e in entries if e["outcome"] in REFUSAL_OUTCOMES
    )
    return [RefusalCount(o, r, n) for (o, r), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


@dataclass(frozen=True)
class AuditReport:
    first_day: date
    last_day: date
    options: ReportOptions
    entries: int
    outcomes: dict[str, int]
    daily: list[DailyLookups]
    bursts: list[Burst]
    off_hours: list[OffHours]
    repeated: list[Repeated]
    refusals: list[RefusalCount]

    @property
    def unusual(self) -> int:
        return len(self.bursts) + len(self.off_hours) + len(self.repeated)


def build_report(
    entries: Iterable[Entry], first_day: date, last_day: date, options: ReportOptions | None = None
) -> AuditReport:
    """Every finding for the JST days first_day..last_day (inclusive)."""
    options = options or ReportOptions()
    chosen = in_period(entries, first_day, last_day)
    return AuditReport(
        first_day=first_day,
        last_day=last_day,
        options=options,
        entries=len(chosen),
        outcomes=dict(sorted(Counter(str(e["outcome"]) for e in chosen).items())),
        daily=lookups_per_actor_day(chosen),
        bursts=bursts(chosen, persons=options.burst_persons, minutes=options.burst_minutes),
        off_hours=off_hours(chosen, options.office),
        repeated=repeated(chosen, limit=options.repeat_limit),
        refusals=refusals_by_rule(chosen),
    )


# -- rendering ---------------------------------------------------------------------------------


def _t(moment: datetime) -> str:
    return moment.astimezone(JST).strftime("%H:%M:%S")


def _dt(moment: datetime) -> str:
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")


def _safe(text: str) -> str:
    """Defence in depth: an operator or certificate name never carries a resident identifier."""
    return mask_text(text)


def _width(text: str) -> int:
    """Columns on a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(header: Sequence[str], rows: Sequence[Sequence[object]], indent: str = "    ") -> list[str]:
    if not rows:
        return [f"{indent}(なし / none)"]
    cells = [[str(c) for c in header], *[[_safe(str(c)) for c in row] for row in rows]]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(header))]
    return [
        indent + "  ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]


def render_text(report: AuditReport) -> str:
    o = report.options
    outcomes = ", ".join(f"{k} {v}" for k, v in report.outcomes.items()) or "-"
    lines = [
        "監査証跡点検レポート / Audit trail report",
        f"期間 / Period: {report.first_day} – {report.last_day} (JST)",
        f"記録数 / Entries: {report.entries} ({outcomes})",
        f"要確認事項 / Findings to review: {report.unusual}",
        "",
        "1. 操作者別・日別の照会件数 / Lookups per operator per day",
        *_table(
            ("日付 day", "操作者 operator", "照会 lookups", "成功 ok", "対象者 persons"),
            [(d.day, d.actor, d.lookups, d.ok, d.persons) for d in report.daily],
        ),
        "",
        "2. 注意を要するアクセス / Unusual patterns",
        f"  (a) 短時間に多数の住民を照会 / Many residents in a short window"
        f" (> {o.burst_persons} persons within {o.burst_minutes} min)",
        *_table(
            ("操作者 operator", "開始 from", "終了 to", "対象者 persons", "照会 lookups"),
            [(b.actor, _dt(b.first), _t(b.last), b.persons, b.lookups) for b in report.bursts],
        ),
        f"  (b) 執務時間外の照会 / Lookups outside office hours ({o.office.describe()})",
        *_table(
            ("日付 day", "操作者 operator", "区分 kind", "照会 lookups", "時刻 times"),
            [(x.day, x.actor, x.why, x.lookups, f"{_t(x.first)}–{_t(x.last)}") for x in report.off_hours],
        ),
        f"  (c) 同一人物の繰り返し照会 / Repeated lookups of one person (> {o.repeat_limit} per day)",
        *_table(
            ("日付 day", "操作者 operator", "対象 subject", "照会 lookups", "時刻 times"),
            [(r.day, r.actor, f"{r.subject}…", r.lookups, f"{_t(r.first)}–{_t(r.last)}") for r in report.repeated],
        ),
        "",
        "3. 規則別の拒否 / Refusals and denials by rule",
        *_table(("結果 outcome", "規則 rule", "件数 count"), [(r.outcome, r.reason, r.count) for r in report.refusals]),
        "",
        "対象者は鍵付きハッシュの先頭8桁のみ表示 / subjects: first 8 hex digits of their keyed hash only",
    ]
    return "\n".join(lines) + "\n"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(JST).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(_jsonable(v) for v in value)
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str):
        return _safe(value)
    return value


def report_to_json(report: AuditReport) -> dict[str, Any]:
    data = {
        "period": {"from": report.first_day, "to": report.last_day, "timezone": "Asia/Tokyo"},
        "options": asdict(report.options),
        "entries": report.entries,
        "outcomes": report.outcomes,
        "lookups_per_actor_day": [asdict(d) for d in report.daily],
        "unusual": {
            "bursts": [asdict(b) for b in report.bursts],
            "off_hours": [asdict(x) for x in report.off_hours],
            "repeated": [asdict(r) for r in report.repeated],
        },
        "refusals": [asdict(r) for r in report.refusals],
    }
    return _jsonable(data)


def render_json(report: AuditReport) -> str:
    return json.dumps(report_to_json(report), ensure_ascii=False, indent=2) + "\n"


# -- reading the trail -------------------------------------------------------------------------


def load_period(conn: sqlite3.Connection, first_day: date, last_day: date) -> list[dict[str, Any]]:
    """Entries of the JST days first_day..last_day, using the index on `at` (a day of margin each
    side for timestamps not written in UTC; build_report filters exactly)."""
    start, end = jst_day_bounds(first_day, last_day)
    margin = timedelta(days=1)
    cursor = conn.execute(
        select_entries("WHERE at >= ? AND at < ?"),
        ((start - margin).isoformat(timespec="microseconds"), (end + margin).isoformat(timespec="microseconds")),
    )
    return rows_as_entries(cursor)
