"""How to build the audit trail, as plain data (so that a writer process can build its own)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .chain import SubjectHasher
from .signing import CheckpointSigner
from .trail import AuditTrail


@dataclass(frozen=True)
class AuditSpec:
    hmac_key: bytes
    signing_key: Path | None  # the CS key that signs checkpoints (None: no checkpoints)
    signing_cert: Path | None
    checkpoint_every: int = 1000
    now: Callable[[], datetime] | None = None  # the entries' clock (picklable; tests fix it), default UTC now

    def build(self) -> AuditTrail:
        signer = None
        if self.signing_key is not None and self.signing_cert is not None:
            signer = CheckpointSigner.from_files(self.signing_key, self.signing_cert)
        hasher = SubjectHasher(self.hmac_key)
        if self.now is None:
            return AuditTrail(hasher, signer, checkpoint_every=self.checkpoint_every)
        return AuditTrail(hasher, signer, checkpoint_every=self.checkpoint_every, now=self.now)
