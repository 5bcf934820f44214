"""Who looked at my data? (a resident's question): every audit entry about one 住民票コード.

The trail holds subjects only as keyed HMACs, so the code is hashed with the configured key and
looked up in the index on subject_code_hmac. Answering is itself an operation on that person:
the ``audit.lookup`` entry (actor: the local OS user) is appended and committed in the same
transaction that reads the answer, and nothing is printed unless it committed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..domain.check_digit import is_valid_juminhyo_code
from ..domain.masking import mask_identifier, mask_text
from ..store.local import AppendingStore
from .chain import SubjectHasher
from .crosscheck import latest_anchor
from .event import OK, REFUSED, AuditEvent
from .local_ops import local_actor, rows_as_entries, select_entries, trail_for
from .report import jst, method_name, short_subject
from .site import AuditSite

ACTION = "audit.lookup"
# The partial index audit_by_subject covers subject_code_hmac != '' only: say so, so it is used.
QUERY = select_entries("WHERE subject_code_hmac = ? AND subject_code_hmac != ''")


class LookupRefusedError(Exception):
    """The lookup was refused (and that refusal audited); the message says why."""


@dataclass(frozen=True)
class LookupAnswer:
    subject: str  # short_subject of the HMAC
    masked_code: str
    entries: list[dict[str, Any]]
    audit_seq: int  # this lookup's own entry
    archived_before: int  # entries up to this seq were archived by a prune and are not searched


def who_looked(conn: sqlite3.Connection, hasher: SubjectHasher, juminhyo_code: str) -> list[dict[str, Any]]:
    """Every entry whose subject is this 住民票コード, oldest first."""
    return rows_as_entries(conn.execute(QUERY, (hasher.juminhyo_code(juminhyo_code),)))


def lookup_subject(config: AuditSite, juminhyo_code: str) -> LookupAnswer:
    trail = trail_for(config)
    event = AuditEvent(
        action=ACTION,
        outcome=OK,
        actor=local_actor(),
        subject_juminhyo_code=juminhyo_code,
        detail="who looked at this person",
    )
    with AppendingStore(config.store_path) as store:
        if not is_valid_juminhyo_code(juminhyo_code):
            with store.transaction() as conn:
                trail.append(conn, event.with_outcome(REFUSED, reason="INVALID_JUMINHYO_CODE"))
            raise LookupRefusedError("not a valid 住民票コード (11 digits with check digit)")
        with store.transaction() as conn:  # the entry and what it reports, in one transaction
            seq = trail.append(conn, event)
            entries = who_looked(conn, trail.hasher, juminhyo_code)
            anchor = latest_anchor(conn)
    return LookupAnswer(
        subject=short_subject(trail.hasher.juminhyo_code(juminhyo_code)),
        masked_code=mask_identifier(juminhyo_code),
        entries=entries,
        audit_seq=seq,
        archived_before=anchor[0] if anchor else 0,
    )


def describe_actor(entry: Mapping[str, Any]) -> str:
    parts = [str(entry["spiffe_id"]) or "(no certificate)"]
    parts += [f"{name}={entry[key]}" for key, name in (("operator_id", "operator"), ("terminal_id", "terminal"))]
    parts.append(f"peer={entry['peer']}")
    return " ".join(p for p in parts if not p.endswith("="))


def render_lookup(answer: LookupAnswer) -> str:
    rows: Sequence[tuple[str, ...]] = [
        (
            jst(e).strftime("%Y-%m-%d %H:%M:%S"),
            method_name(str(e["action"])),
            str(e["outcome"]) + (f" ({e['reason']})" if e["reason"] else ""),
            describe_actor(e),
        )
        for e in answer.entries
    ]
    header = ("時刻 time (JST)", "操作 action", "結果 outcome", "操作者 who (certificate / operator / terminal / peer)")
    lines = [
        f"住民票コード {answer.masked_code} の照会記録 / Who looked at this person (subject {answer.subject}…)",
        "  ".join(header),
        *("  ".join(mask_text(cell) for cell in row) for row in rows),
        f"{len(answer.entries)} 件 / entries (this lookup is entry {answer.audit_seq})",
    ]
    if answer.archived_before:
        lines.append(
            f"注: 記録 {answer.archived_before} 番までは保存期間を過ぎ、アーカイブ済み(未検索) / "
            f"entries up to {answer.archived_before} are archived (past retention) and not searched here"
        )
    return "\n".join(lines) + "\n"
