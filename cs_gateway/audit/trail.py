"""The audit trail in the store's SQLite file: append inside the caller's transaction, verify.

Appending inside the same transaction as the data change is what makes auditing fail closed:
if the entry cannot be written, the transaction (and so the change) does not commit.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509

from ..domain.masking import mask_text
from .chain import CHAINED_FIELDS, GENESIS, SubjectHasher, entry_hash
from .event import AuditEvent
from .signing import CheckpointSigner, checkpoint_message, signature_valid

ENTRY_COLUMNS: tuple[str, ...] = (*CHAINED_FIELDS, "prev_hash", "entry_hash")
# The 依頼管理番号 is the one item of an entry the caller chooses freely. Entries keep it only when it
# has the format a request id must have (1-64 printable ASCII, no space): a refused request with a
# megabyte of id, or terminal escapes in it, must not reach the trail, nor an auditor's screen.
# The same holds for the operator and terminal ids a caller names in its request. An id that is kept
# still has every 11- or 12-digit run masked like the operational log: a 既存住基 system that builds
# its request ids from a 住民票コード or 個人番号 must not put them in the trail in clear.
_REQUEST_ID = re.compile(r"[\x21-\x7e]{0,64}")
INVALID_REQUEST_ID = "<not kept: not a valid request id>"  # has spaces: no valid id looks like it
INVALID_ACTOR_ID = "<not kept: not a valid id>"


def _kept(text: str, marker: str) -> str:
    if not _REQUEST_ID.fullmatch(text):
        return marker
    return text if len(text) < 11 else mask_text(text)  # shorter: no identifier fits in it


_COLUMNS = ", ".join(ENTRY_COLUMNS)
_FIELDS = ENTRY_COLUMNS


class AuditWriteError(Exception):
    """An audit entry could not be written; the operation must not be performed."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def head(conn: sqlite3.Connection) -> tuple[int, str]:
    """(seq, entry_hash) of the last entry, or of the anchor left by a prune, or genesis."""
    row = conn.execute("SELECT seq, entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    if row is not None:
        return int(row[0]), str(row[1])
    anchor = conn.execute("SELECT last_seq, last_hash FROM audit_anchor ORDER BY last_seq DESC LIMIT 1").fetchone()
    if anchor is not None:
        return int(anchor[0]), str(anchor[1])
    return 0, GENESIS


class AuditTrail:
    def __init__(
        self,
        hasher: SubjectHasher,
        signer: CheckpointSigner | None = None,
        *,
        checkpoint_every: int = 1000,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._hasher = hasher
        self._signer = signer
        self._checkpoint_every = checkpoint_every
        self._now = now

    @property
    def hasher(self) -> SubjectHasher:
        return self._hasher

    def append(self, conn: sqlite3.Connection, event: AuditEvent) -> int:
        """Write one entry in conn's open transaction; returns its seq."""
        return self.append_after(conn, event, head(conn))[0]

    def append_after(self, conn: sqlite3.Connection, event: AuditEvent, prev: tuple[int, str]) -> tuple[int, str]:
        """Write one entry after ``prev`` = (seq, hash), the head as the caller knows it inside
        its transaction (the store reads it once per batch); returns the new head."""
        last_seq, last_hash = prev
        try:
            seq = last_seq + 1
            actor = event.actor
            fields = {
                "seq": seq,
                "at": self._now().isoformat(timespec="microseconds"),
                "action": event.action,
                "outcome": event.outcome,
                "reason": event.reason,
                "spiffe_id": actor.spiffe_id,
                "cert_fingerprint": actor.cert_fingerprint,
                "peer": actor.peer,
                "operator_id": _kept(actor.operator_id, INVALID_ACTOR_ID),
                "terminal_id": _kept(actor.terminal_id, INVALID_ACTOR_ID),
                "subject_code_hmac": self._hasher.juminhyo_code(event.subject_juminhyo_code),
                "subject_number_hmac": self._hasher.individual_number(event.subject_individual_number),
                "request_id": _kept(event.request_id, INVALID_REQUEST_ID),
                "update_seq": event.update_seq,
                "detail": event.detail,
            }
            digest = entry_hash(last_hash, fields)
            conn.execute(
                f"INSERT INTO audit_log ({_COLUMNS}) VALUES ({', '.join('?' * len(_FIELDS))})",  # noqa: S608
                (*fields.values(), last_hash, digest),
            )
            if self._signer is not None and seq % self._checkpoint_every == 0:
                self._write_checkpoint(conn, seq, digest)
        except sqlite3.Error as err:
            raise AuditWriteError(f"audit entry not written: {err}") from err
        return seq, digest

    def checkpoint(self, conn: sqlite3.Connection) -> int | None:
        """Sign the current head now (e.g. at shutdown); returns its seq."""
        if self._signer is None:
            return None
        seq, digest = head(conn)
        if seq == 0 or conn.execute("SELECT 1 FROM audit_checkpoints WHERE seq = ?", (seq,)).fetchone():
            return None
        self._write_checkpoint(conn, seq, digest)
        return seq

    def _write_checkpoint(self, conn: sqlite3.Connection, seq: int, digest: str) -> None:
        assert self._signer is not None
        signed_at = self._now().isoformat(timespec="seconds")
        signature = self._signer.sign(checkpoint_message(seq, digest, signed_at))
        conn.execute(
            "INSERT INTO audit_checkpoints (seq, entry_hash, signed_at, key_fingerprint, signature) "
            "VALUES (?, ?, ?, ?, ?)",
            (seq, digest, signed_at, self._signer.key_fingerprint, signature),
        )


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries: int
    checkpoints: int
    first_bad_seq: int | None = None
    problem: str = ""
    unsigned: int = 0  # entries after the last signed checkpoint (or anchor)
    last_signed: tuple[int, str] | None = None  # (seq, entry hash) of the last signed checkpoint

    def describe(self) -> str:
        if self.ok:
            text = (
                f"audit trail OK: {self.entries} entries, {self.checkpoints} signed checkpoints, "
                f"{self.unsigned} entries after the last one"
            )
            if self.last_signed is not None:
                # Kept outside this file (a notebook, a ticket), it shows a later rollback of the
                # file: the trail then ends before this entry, or holds another hash at it.
                text += f"; last signed: entry {self.last_signed[0]}, hash {self.last_signed[1]}"
            return text
        return f"audit trail BROKEN at entry {self.first_bad_seq}: {self.problem}"


def iter_entries(conn: sqlite3.Connection) -> Iterator[dict[str, object]]:
    for row in conn.execute(f"SELECT {_COLUMNS} FROM audit_log ORDER BY rowid"):  # noqa: S608
        yield dict(zip(_FIELDS, row, strict=True))


def verify(
    conn: sqlite3.Connection, certificates: list[x509.Certificate], *, checkpoint_every: int | None = None
) -> VerifyReport:
    """Recompute the chain and check every checkpoint signature; name the first bad entry.

    Rows are read in storage order (rowid), so a reordering shows as a seq or link break. With
    ``checkpoint_every`` (the configured interval: the trail signs every entry whose seq is a
    multiple of it), at least that many entries after the last signed checkpoint mean that
    checkpoints were removed, and the entries after them could have been rewritten: broken.
    """
    anchor = conn.execute("SELECT last_seq, last_hash FROM audit_anchor ORDER BY last_seq DESC LIMIT 1").fetchone()
    expected_seq, prev = (int(anchor[0]) + 1, str(anchor[1])) if anchor else (1, GENESIS)
    hashes: dict[int, str] = {}
    count = 0
    for entry in iter_entries(conn):
        seq = entry["seq"]
        if seq != expected_seq:
            return VerifyReport(False, count, 0, expected_seq, f"expected entry {expected_seq}, found {seq}")
        if entry["prev_hash"] != prev:
            return VerifyReport(False, count, 0, expected_seq, "link to the previous entry is broken")
        if entry_hash(prev, entry) != entry["entry_hash"]:
            return VerifyReport(False, count, 0, expected_seq, "entry content does not match its hash")
        prev = str(entry["entry_hash"])
        hashes[expected_seq] = prev
        expected_seq += 1
        count += 1
    by_fingerprint = {c.fingerprint(_sha256()).hex(): c for c in certificates}
    if anchor:
        problem = anchor_problem(conn, int(anchor[0]), str(anchor[1]), by_fingerprint)
        if problem:
            return VerifyReport(False, count, 0, int(anchor[0]), problem)
    checkpoints = 0
    last_signed = int(anchor[0]) if anchor else 0
    last_signed_hash = ""
    for seq, digest, signed_at, fingerprint, signature in conn.execute(
        "SELECT seq, entry_hash, signed_at, key_fingerprint, signature FROM audit_checkpoints ORDER BY seq"
    ):
        if anchor and seq <= int(anchor[0]):
            continue  # pruned: the archive holds it
        cert = by_fingerprint.get(fingerprint)
        if cert is None:
            return VerifyReport(False, count, checkpoints, seq, "checkpoint signed by an unknown key")
        if not signature_valid(cert, checkpoint_message(seq, digest, signed_at), bytes(signature)):
            return VerifyReport(False, count, checkpoints, seq, "checkpoint signature is invalid")
        if hashes.get(seq) != digest:
            return VerifyReport(False, count, checkpoints, seq, "entry differs from its signed checkpoint")
        checkpoints += 1
        last_signed, last_signed_hash = seq, str(digest)
    unsigned = expected_seq - 1 - last_signed
    if checkpoint_every is not None and unsigned >= checkpoint_every:
        return VerifyReport(
            False,
            count,
            checkpoints,
            last_signed + 1,
            f"{unsigned} entries after the last signed checkpoint, where the trail signs every "
            f"{checkpoint_every}: signed checkpoints are missing",
        )
    signed = (last_signed, last_signed_hash) if last_signed_hash else None
    return VerifyReport(True, count, checkpoints, unsigned=unsigned, last_signed=signed)


def anchor_problem(
    conn: sqlite3.Connection, last_seq: int, last_hash: str, by_fingerprint: dict[str, x509.Certificate]
) -> str | None:
    """A prune leaves an anchor; it must match a checkpoint signed with a CS key at its seq (the
    prune signs one), or deleting the oldest entries and writing an anchor would go unnoticed."""
    row = conn.execute(
        "SELECT entry_hash, signed_at, key_fingerprint, signature FROM audit_checkpoints WHERE seq = ?", (last_seq,)
    ).fetchone()
    if row is None:
        return f"the anchor at entry {last_seq} has no signed checkpoint"
    digest, signed_at, fingerprint, signature = row
    cert = by_fingerprint.get(fingerprint)
    if cert is None or not signature_valid(cert, checkpoint_message(last_seq, digest, signed_at), bytes(signature)):
        return f"the checkpoint of the anchor at entry {last_seq} is not validly signed"
    if digest != last_hash:
        return f"the anchor at entry {last_seq} differs from its signed checkpoint"
    return None


def _sha256():  # noqa: ANN202
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()
