"""The newest CRL seen of each issuing CA (its CRL number and thisUpdate), kept durably, so that
putting back an older CRL file (one from before a revocation) is noticed, also after a restart.

A CRL is admitted when its number is not lower, and its thisUpdate not older, than the highest
seen for its issuer (the issuer is named by the SHA-256 of its SubjectPublicKeyInfo, so a new
CA starts afresh). An admitted newer CRL raises the mark; the state file is replaced atomically
(temporary file, fsync, rename, fsync of the folder) before the CRL is used. The same CRL put
back again is admitted (same number and thisUpdate).

Where: a small JSON file next to the store (``<store>.crl-state.json``), not in the PKI folder
(whoever can put an old CRL there could put an old state file beside it) and not inside the
SQLite store (its writer process owns the database; this is read and written by the gateway's
revocation check, a few times a year). Someone who can write the store's folder can roll back
both; that is the store's own protection (and its backups) to give.

Fail closed: an unreadable or malformed state file, or one that cannot be written, refuses the
CRL (CRL_STATE_UNUSABLE). It deliberately does not import grpc.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

from ..logging_setup import get_logger

log = get_logger("cs_gateway.crl")

CRL_ROLLED_BACK: Final = "CRL_ROLLED_BACK"
CRL_STATE_UNUSABLE: Final = "CRL_STATE_UNUSABLE"
Admission = Literal["CRL_ROLLED_BACK", "CRL_STATE_UNUSABLE"]


@dataclass(frozen=True)
class Mark:
    crl_number: int | None
    this_update: datetime

    def to_json(self) -> dict[str, object]:
        return {"crl_number": self.crl_number, "this_update": self.this_update.isoformat()}


class CrlHighWater:
    """Highest CRL number and thisUpdate per issuer; durable when given a path (else in memory
    only, for tests and tools). Thread-safe."""

    def __init__(self, path: Path | None) -> None:
        self._path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._marks: dict[str, Mark] | None = None if self._path is not None else {}

    @property
    def path(self) -> Path | None:
        return self._path

    def admit(
        self, issuer_key: str, crl_number: int | None, this_update: datetime, *, crl: str = ""
    ) -> Admission | None:
        """None when this CRL of `issuer_key` may be used (the mark raised, durably, if newer)."""
        with self._lock:
            marks = self._load()
            if marks is None:
                return CRL_STATE_UNUSABLE
            seen = marks.get(issuer_key)
            if seen is not None:
                why = _older(seen, crl_number, this_update)
                if why:
                    log.error(
                        "crl_rolled_back",
                        crl=crl,
                        why=why,
                        crl_number=crl_number,
                        this_update=this_update.isoformat(),
                        highest_crl_number=seen.crl_number,
                        highest_this_update=seen.this_update.isoformat(),
                        action="every call is refused until a CRL at least as new is in place",
                    )
                    return CRL_ROLLED_BACK
                if seen.crl_number == crl_number and seen.this_update == this_update:
                    return None
            updated = {**marks, issuer_key: Mark(crl_number, this_update)}
            if not self._save(updated):
                return CRL_STATE_UNUSABLE
            self._marks = updated
            return None

    def _load(self) -> dict[str, Mark] | None:
        if self._marks is not None:
            return self._marks
        assert self._path is not None
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self._marks = {}
            return self._marks
        except (OSError, ValueError) as err:
            log.error("crl_state_unreadable", path=str(self._path), error=str(err))
            return None  # retried on the next load of a CRL
        try:
            marks = {
                str(key): Mark(
                    None if value["crl_number"] is None else int(value["crl_number"]),
                    datetime.fromisoformat(value["this_update"]),
                )
                for key, value in data.items()
            }
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            log.error("crl_state_unreadable", path=str(self._path), error=f"malformed: {err}")
            return None
        self._marks = marks
        return marks

    def _save(self, marks: dict[str, Mark]) -> bool:
        if self._path is None:
            return True
        text = json.dumps({k: m.to_json() for k, m in sorted(marks.items())}, indent=2) + "\n"
        try:
            _write_atomically(self._path, text.encode("utf-8"))
        except OSError as err:
            log.error("crl_state_not_saved", path=str(self._path), error=str(err))
            return False
        return True


def _older(seen: Mark, crl_number: int | None, this_update: datetime) -> str:
    """Why a CRL is older than the mark, or ''."""
    if seen.crl_number is not None and (crl_number is None or crl_number < seen.crl_number):
        return f"CRL number {crl_number} is lower than {seen.crl_number}, the highest seen"
    if this_update < seen.this_update:
        return f"thisUpdate {this_update.isoformat()} is older than {seen.this_update.isoformat()}, the newest seen"
    return ""


def _write_atomically(path: Path, data: bytes) -> None:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    staged = Path(name)
    try:
        with os.fdopen(fd, "wb") as sink:
            sink.write(data)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(staged, path)
    finally:
        staged.unlink(missing_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
