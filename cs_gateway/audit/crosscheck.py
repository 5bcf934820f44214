"""The trail against the data: every stored update has its audit entry, and no entry claims an
update that is not there. And a prune's anchor is bound by a signature with the CS key.

The hash chain proves that the trail was not edited; it cannot prove that the trail is complete
(an empty or truncated trail is a valid chain). The history table can: each 更新順番号 in
``history`` was written in the same transaction as exactly one audit entry with outcome ok and
that update_seq. Lookups (GetRecord, ...) and replays also carry an update_seq (the version they
returned); they must point at a stored update, but they do not count as the update's own entry.

The 初期移行 (``cs-gateway store import``) stores a whole file of persons with one entry,
``store.import``, whose detail names the 更新順番号 it stored (``updates=FIRST-LAST``): that
entry is the own entry of each of them.

After a retention prune the oldest entries are in the archive; the prune's ``audit.export`` entry
(itself chained) says up to which update_seq the archive covers (``updates<=N``).
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from .event import REPLAYED
from .report import is_lookup
from .trail import anchor_problem

EXPORT_ACTION = "audit.export"
IMPORT_ACTION = "store.import"
_IMPORTED = re.compile(r"\bupdates=(\d+)-(\d+)\b")
_COVERED = re.compile(r"\bupdates<=(\d+)\b")
_RANGE = re.compile(r"\bseq=(\d+)-(\d+)\b")


@dataclass(frozen=True)
class Mismatch:
    update_seq: int | None
    problem: str
    audit_seqs: tuple[int, ...] = ()

    def describe(self) -> str:
        where = f"update_seq {self.update_seq}" if self.update_seq is not None else "anchor"
        seqs = f" (audit entries {', '.join(map(str, self.audit_seqs))})" if self.audit_seqs else ""
        return f"{where}: {self.problem}{seqs}"


@dataclass(frozen=True)
class CrossCheckReport:
    updates: int  # updates checked (those not covered by an archive)
    covered_by_archive: int  # updates up to this update_seq are covered by an archive
    problems: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        archived = f" (updates up to {self.covered_by_archive} archived)" if self.covered_by_archive else ""
        if self.ok:
            return f"updates cross-check OK: {self.updates} updates, each with exactly one audit entry{archived}"
        first = self.problems[0].describe()
        more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"updates cross-check FAILED at {first}{more}"


def is_update_entry(action: str, detail: str) -> bool:
    """The entry written with an update (not a lookup of it, not a replay, not a local command)."""
    return "/" in action and not is_lookup(action) and detail != REPLAYED


def export_detail(first: int, last: int, where: str, sha256: str, covered: int) -> str:
    """What and where to, for the audit.export entry (parsed back by covered_updates)."""
    return f"exported audit entries seq={first}-{last} to {where} sha256={sha256} updates<={covered}"


def import_detail(first: int, last: int) -> str:
    """The part of a store.import entry's detail that says which updates it stored."""
    return f"updates={first}-{last}"


def latest_anchor(conn: sqlite3.Connection) -> tuple[int, str, str, str] | None:
    row = conn.execute(
        "SELECT last_seq, last_hash, archive, pruned_at FROM audit_anchor ORDER BY last_seq DESC LIMIT 1"
    ).fetchone()
    return (int(row[0]), str(row[1]), str(row[2]), str(row[3])) if row else None


def latest_export(conn: sqlite3.Connection) -> tuple[int, int, int] | None:
    """(first seq, last seq, updates covered) of the newest audit.export entry still in the trail."""
    row = conn.execute(
        "SELECT detail FROM audit_log WHERE action = ? AND outcome = 'ok' ORDER BY seq DESC LIMIT 1", (EXPORT_ACTION,)
    ).fetchone()
    if row is None:
        return None
    covered, span = _COVERED.search(row[0]), _RANGE.search(row[0])
    if covered is None or span is None:
        return None
    return int(span.group(1)), int(span.group(2)), int(covered.group(1))


def _export_signed(conn: sqlite3.Connection) -> bool:
    """Is the newest audit.export entry at or before a signed checkpoint (verify checks those)?"""
    (signed,) = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM audit_checkpoints WHERE seq >= "
        "(SELECT MAX(seq) FROM audit_log WHERE action = ? AND outcome = 'ok'))",
        (EXPORT_ACTION,),
    ).fetchone()
    return bool(signed)


def covered_updates(conn: sqlite3.Connection) -> int:
    """update_seq up to which updates have their audit entries in an archive (0: none pruned)."""
    found = latest_export(conn)
    return found[2] if found else 0


def check_anchor(conn: sqlite3.Connection, certificates: list[x509.Certificate]) -> Mismatch | None:
    """The newest anchor must match a checkpoint signed with a CS key at its seq (the prune signs
    one): without it, deleting the oldest entries and writing an anchor would go unnoticed."""
    anchor = latest_anchor(conn)
    if anchor is None:
        return None
    last_seq, last_hash, _archive, _at = anchor
    by_fingerprint = {c.fingerprint(hashes.SHA256()).hex(): c for c in certificates}
    problem = anchor_problem(conn, last_seq, last_hash, by_fingerprint)
    return Mismatch(None, problem) if problem else None


def crosscheck_updates(conn: sqlite3.Connection) -> CrossCheckReport:
    """Each update_seq in history: exactly one ok update entry; each ok entry: a stored update."""
    anchor = latest_anchor(conn)
    covered = 0
    problems: list[Mismatch] = []
    if anchor is not None:
        export = latest_export(conn)
        if export is None:
            problems.append(Mismatch(None, "the trail was pruned but has no audit.export entry saying what"))
        else:
            covered = export[2]
            if export[1] != anchor[0]:
                problems.append(Mismatch(None, f"the last export ends at entry {export[1]}, the anchor at {anchor[0]}"))
            if not _export_signed(conn):
                # the prune signs a checkpoint right after it: an unsigned one may be forged
                problems.append(Mismatch(None, "the audit.export entry saying what is archived is not signed"))
    history = {int(seq) for (seq,) in conn.execute("SELECT update_seq FROM history WHERE update_seq > ?", (covered,))}
    below = {int(seq) for (seq,) in conn.execute("SELECT update_seq FROM history WHERE update_seq <= ?", (covered,))}
    own: dict[int, list[int]] = defaultdict(list)
    for seq, action, detail, update_seq in conn.execute(
        "SELECT seq, action, detail, update_seq FROM audit_log WHERE outcome = 'ok' AND update_seq IS NOT NULL"
    ):
        update_seq = int(update_seq)
        if update_seq not in history and update_seq not in below:
            problems.append(Mismatch(update_seq, "an audit entry points at an update that is not stored", (seq,)))
        elif is_update_entry(action, detail):
            own[update_seq].append(int(seq))
    for seq, detail in conn.execute(
        "SELECT seq, detail FROM audit_log WHERE action = ? AND outcome = 'ok'", (IMPORT_ACTION,)
    ):
        span = _IMPORTED.search(detail)
        if span is not None:
            for update_seq in range(int(span.group(1)), int(span.group(2)) + 1):
                own[update_seq].append(int(seq))
    for update_seq in sorted(history):
        entries = own.get(update_seq, [])
        if not entries:
            problems.append(Mismatch(update_seq, "stored update has no audit entry with outcome ok"))
        elif len(entries) > 1:
            problems.append(Mismatch(update_seq, f"stored update has {len(entries)} ok audit entries", tuple(entries)))
    for update_seq in sorted(set(own) & below):
        problems.append(Mismatch(update_seq, "update is both archived and in the live trail", tuple(own[update_seq])))
    problems.sort(key=lambda m: (m.update_seq is not None, m.update_seq or 0))
    return CrossCheckReport(updates=len(history), covered_by_archive=covered, problems=problems)
