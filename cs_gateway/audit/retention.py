"""Retention (seed III(1)-3: the trail is kept seven years): export, sign, then prune.

Entries older than ``audit.retention_years`` are first written to a signed archive beside the
store, ``audit-archive/audit-<first>-<last>.jsonl`` (one entry per line, every column, so the
chain can be recomputed from the file alone), with

- ``<archive>.sig``: an ECDSA signature with the CS key (CheckpointSigner) over
  ``archive_message``, which binds the file's SHA-256, its seq range, the hash it chains from
  and its last hash;
- ``audit-<first>-<last>.manifest.json``: the same facts for a human, plus the key fingerprint.

Only once the files are fsynced and the archive checks out (signature, internal chain, the last
hash equal to the trail's entry) are the entries deleted, in ONE transaction: the prune token
lifts the delete trigger, the entries go, the anchor (last seq, last hash, archive) is written,
a checkpoint binding the anchor is signed, the token goes, and an ``audit.export`` entry records
what went where. Checkpoints older than the anchor stay.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from ..store.local import AppendingStore
from .chain import GENESIS, entry_hash
from .crosscheck import EXPORT_ACTION, check_anchor, covered_updates, export_detail, is_update_entry, latest_anchor
from .event import OK, AuditEvent
from .local_ops import (
    ENTRY_COLUMNS,
    cs_certificates,
    local_actor,
    select_entries,
    signer_for,
    trail_for,
)
from .report import parse_at
from .signing import CheckpointSigner, checkpoint_message, signature_valid
from .site import AuditSite
from .trail import verify

ARCHIVE_DIR = "audit-archive"
ARCHIVE_FORMAT = "cs-gateway-audit-archive/1"


class RetentionError(Exception):
    """Nothing was pruned; the message says why."""


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar moment `years` earlier (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def archive_message(sha256: str, first_seq: int, last_seq: int, first_prev_hash: str, last_hash: str) -> bytes:
    return f"cs-gateway audit archive\n{sha256}\n{first_seq}\n{last_seq}\n{first_prev_hash}\n{last_hash}".encode(
        "ascii"
    )


def archive_names(first_seq: int, last_seq: int) -> tuple[str, str, str]:
    stem = f"audit-{first_seq}-{last_seq}"
    return f"{stem}.jsonl", f"{stem}.jsonl.sig", f"{stem}.manifest.json"


def signature_path(archive: Path) -> Path:
    return archive.with_name(archive.name + ".sig")


def manifest_path(archive: Path) -> Path:
    return archive.with_name(archive.name.removesuffix(".jsonl") + ".manifest.json")


@dataclass(frozen=True)
class ArchiveFacts:
    """What an archive file holds, recomputed from its lines."""

    first_seq: int
    last_seq: int
    first_prev_hash: str
    last_hash: str
    count: int
    sha256: str
    max_update_seq: int  # the newest update whose own audit entry is in the archive (0: none)


@dataclass(frozen=True)
class ArchiveCheck:
    ok: bool
    problem: str = ""
    facts: ArchiveFacts | None = None

    def describe(self, name: str) -> str:
        if self.ok and self.facts is not None:
            f = self.facts
            return f"archive OK: {name}: entries {f.first_seq}-{f.last_seq} ({f.count}), last hash {f.last_hash[:16]}…"
        return f"archive BROKEN: {name}: {self.problem}"


def _write_durably(path: Path, data: bytes) -> None:
    """Write a new 0600 file through a temporary name, fsync it, move it in place."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_archive(path: Path) -> tuple[ArchiveFacts | None, str]:
    """Recompute the chain of an archive file; (facts, "") or (None, the first problem)."""
    digest = hashlib.sha256()
    first_seq = last_seq = count = max_update = 0
    first_prev = prev = ""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            digest.update(raw)
            try:
                entry = json.loads(raw)
            except ValueError:
                return None, f"line {number} is not JSON"
            if not isinstance(entry, dict) or set(entry) != set(ENTRY_COLUMNS):
                return None, f"line {number} is not an audit entry"
            seq = entry["seq"]
            if count == 0:
                first_seq, first_prev, prev = seq, entry["prev_hash"], entry["prev_hash"]
                if seq == 1 and first_prev != GENESIS:
                    return None, "entry 1 does not start from the genesis hash"
            elif seq != last_seq + 1:
                return None, f"expected entry {last_seq + 1}, found {seq}"
            if entry["prev_hash"] != prev:
                return None, f"entry {seq}: link to the previous entry is broken"
            if entry_hash(prev, entry) != entry["entry_hash"]:
                return None, f"entry {seq}: content does not match its hash"
            prev, last_seq, count = entry["entry_hash"], seq, count + 1
            if (
                entry["outcome"] == OK
                and entry["update_seq"] is not None
                and is_update_entry(entry["action"], entry["detail"])
            ):
                max_update = max(max_update, int(entry["update_seq"]))
    if count == 0:
        return None, "the archive is empty"
    return ArchiveFacts(first_seq, last_seq, first_prev, prev, count, digest.hexdigest(), max_update), ""


def check_archive(path: Path, certificates: list[x509.Certificate]) -> ArchiveCheck:
    """The archive's own chain and its detached signature by one of the CS certificates."""
    path = Path(path)
    if not path.is_file():
        return ArchiveCheck(False, "no such archive file")
    facts, problem = read_archive(path)
    if facts is None:
        return ArchiveCheck(False, problem)
    sig = signature_path(path)
    if not sig.is_file():
        return ArchiveCheck(False, f"the signature file {sig.name} is missing", facts)
    message = archive_message(facts.sha256, facts.first_seq, facts.last_seq, facts.first_prev_hash, facts.last_hash)
    signature = sig.read_bytes()
    if not any(signature_valid(cert, message, signature) for cert in certificates):
        return ArchiveCheck(False, "the signature does not match the archive (or was not made with a CS key)", facts)
    return ArchiveCheck(True, "", facts)


def check_archive_against_store(
    path: Path, certificates: list[x509.Certificate], conn: sqlite3.Connection
) -> ArchiveCheck:
    """check_archive, and: the store's anchor for this range has the archive's last hash, and the
    archive chains from the previous anchor (or from genesis)."""
    checked = check_archive(path, certificates)
    if not checked.ok or checked.facts is None:
        return checked
    facts = checked.facts
    row = conn.execute("SELECT last_hash FROM audit_anchor WHERE last_seq = ?", (facts.last_seq,)).fetchone()
    if row is None:
        return ArchiveCheck(False, f"the store has no anchor at entry {facts.last_seq}", facts)
    if row[0] != facts.last_hash:
        return ArchiveCheck(
            False, f"the archive's last hash differs from the store's anchor at {facts.last_seq}", facts
        )
    before = conn.execute(
        "SELECT last_seq, last_hash FROM audit_anchor WHERE last_seq < ? ORDER BY last_seq DESC LIMIT 1",
        (facts.last_seq,),
    ).fetchone()
    expected_first, expected_prev = (int(before[0]) + 1, str(before[1])) if before else (1, GENESIS)
    if (facts.first_seq, facts.first_prev_hash) != (expected_first, expected_prev):
        return ArchiveCheck(False, f"the archive should start at entry {expected_first} chained to the anchor", facts)
    return checked


# -- the prune -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PruneResult:
    pruned: int  # entries deleted (0: nothing was due)
    cutoff: datetime
    archive: Path | None = None
    first_seq: int = 0
    last_seq: int = 0
    export_seq: int = 0  # the audit.export entry

    def describe(self) -> str:
        if not self.pruned:
            return f"nothing to prune: no audit entry older than {self.cutoff.isoformat(timespec='seconds')}"
        return (
            f"archived and pruned audit entries {self.first_seq}-{self.last_seq} ({self.pruned}) older than "
            f"{self.cutoff.isoformat(timespec='seconds')} to {self.archive}; audit entry {self.export_seq} records it"
        )


def _export(
    store: AppendingStore, folder: Path, cutoff: datetime, anchor_seq: int, signer: CheckpointSigner
) -> tuple[Path, ArchiveFacts] | None:
    """Write the due entries (a prefix of the trail, in seq order) to a durable signed archive."""
    tmp = folder / f"audit-export-{os.getpid()}.jsonl.tmp"
    count = first = last = 0
    try:
        # one read snapshot; the gateway keeps appending meanwhile
        with (
            store.snapshot() as conn,
            os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out,
        ):
            for row in conn.execute(select_entries("WHERE seq > ?"), (anchor_seq,)):
                entry = dict(zip(ENTRY_COLUMNS, row, strict=True))
                if parse_at(str(entry["at"])) >= cutoff:
                    break  # the oldest prefix only: the archive and the trail stay contiguous
                out.write(json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode())
                out.write(b"\n")
                first, last, count = first or int(entry["seq"]), int(entry["seq"]), count + 1
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if count == 0:
        tmp.unlink()
        return None
    facts, problem = read_archive(tmp)
    if facts is None or (facts.first_seq, facts.last_seq) != (first, last):
        tmp.unlink()
        raise RetentionError(f"the export does not check out: {problem}")
    name, sig_name, manifest_name = archive_names(first, last)
    target = folder / name
    if target.exists():
        existing, _ = read_archive(target)
        if existing != facts:  # the same range left by an earlier run whose prune failed is fine
            tmp.unlink()
            raise RetentionError(f"{target} exists with other content; move it away first")
    os.replace(tmp, target)
    message = archive_message(facts.sha256, facts.first_seq, facts.last_seq, facts.first_prev_hash, facts.last_hash)
    _write_durably(folder / sig_name, signer.sign(message))
    manifest = {
        "format": ARCHIVE_FORMAT,
        "archive": name,
        **asdict(facts),
        "signature": sig_name,
        "key_fingerprint": signer.key_fingerprint,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _write_durably(folder / manifest_name, (json.dumps(manifest, indent=2) + "\n").encode())
    _fsync_dir(folder)
    return target, facts


def _sign_anchor(conn: sqlite3.Connection, signer: CheckpointSigner, seq: int, digest: str) -> None:
    """A checkpoint at the anchor's seq, unless one is there already (verify checks it matches)."""
    if conn.execute("SELECT 1 FROM audit_checkpoints WHERE seq = ?", (seq,)).fetchone():
        return
    signed_at = datetime.now(UTC).isoformat(timespec="seconds")
    conn.execute(
        "INSERT INTO audit_checkpoints (seq, entry_hash, signed_at, key_fingerprint, signature) VALUES (?, ?, ?, ?, ?)",
        (seq, digest, signed_at, signer.key_fingerprint, signer.sign(checkpoint_message(seq, digest, signed_at))),
    )


def prune(config: AuditSite, *, now: datetime | None = None, certificates: list[Path] | None = None) -> PruneResult:
    """Archive and delete the entries older than the retention period. `now` moves the cutoff
    only (for tests and drills); the audit.export entry is stamped with the real clock and says
    that the clock was overridden. `certificates`: earlier CS certificates (after a rotation)
    whose checkpoint signatures the trail must still verify against."""
    overridden = now is not None
    now = now if now is not None else datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    cutoff = years_before(now, config.audit.retention_years)
    signer = signer_for(config)
    certificate = signer.certificate
    trail = trail_for(config)
    folder = config.store_path.parent / ARCHIVE_DIR
    store = AppendingStore(config.store_path)
    try:
        with store.snapshot() as conn:
            known = cs_certificates(config, certificates)
            before = verify(conn, known)
            anchor = latest_anchor(conn)
            anchor_problem = check_anchor(conn, known)
        if not before.ok:
            raise RetentionError(f"the trail does not verify, nothing is pruned: {before.describe()}")
        if anchor_problem is not None:
            raise RetentionError(
                f"the last prune's anchor does not verify, nothing is pruned: {anchor_problem.problem}"
            )
        anchor_seq = anchor[0] if anchor else 0
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            exported = _export(store, folder, cutoff, anchor_seq, signer)
        except OSError as err:
            raise RetentionError(f"the export to {folder} failed, nothing is pruned: {err}") from err
        if exported is None:
            return PruneResult(0, cutoff)
        path, facts = exported
        checked = check_archive(path, [certificate])
        if not checked.ok:
            raise RetentionError(f"the archive does not check out, nothing is pruned: {checked.problem}")
        relative = f"{ARCHIVE_DIR}/{path.name}"
        with store.transaction() as conn:
            if latest_anchor(conn) != anchor:
                raise RetentionError("another prune ran meanwhile; nothing is pruned")
            first, last = conn.execute(
                "SELECT MIN(seq), (SELECT entry_hash FROM audit_log WHERE seq = ?) FROM audit_log", (facts.last_seq,)
            ).fetchone()
            if first != facts.first_seq or last != facts.last_hash:
                raise RetentionError("the trail changed under the export; nothing is pruned")
            covered = max(covered_updates(conn), facts.max_update_seq)
            conn.execute("INSERT INTO audit_prune_token (token) VALUES (1)")
            deleted = conn.execute("DELETE FROM audit_log WHERE seq <= ?", (facts.last_seq,)).rowcount
            if deleted != facts.count:
                raise RetentionError(f"expected to delete {facts.count} entries, would delete {deleted}")
            conn.execute(
                "INSERT INTO audit_anchor (last_seq, last_hash, archive, pruned_at) VALUES (?, ?, ?, ?)",
                (facts.last_seq, facts.last_hash, relative, datetime.now(UTC).isoformat(timespec="seconds")),
            )
            _sign_anchor(conn, signer, facts.last_seq, facts.last_hash)
            conn.execute("DELETE FROM audit_prune_token")
            detail = export_detail(facts.first_seq, facts.last_seq, str(path.resolve()), facts.sha256, covered)
            if overridden:
                detail += f" clock-override={now.isoformat(timespec='seconds')}"
            export_seq = trail.append(
                conn, AuditEvent(action=EXPORT_ACTION, outcome=OK, actor=local_actor(), detail=detail)
            )
            trail.checkpoint(conn)  # the export entry says what the archive covers: signed at once
        return PruneResult(deleted, cutoff, path, facts.first_seq, facts.last_seq, export_seq)
    finally:
        store.close()
