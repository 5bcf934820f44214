"""How to build the audit trail, as plain data (so that a writer process can build its own)."""

from __future__ import annotations

from dataclasses import dataclass
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

    def build(self) -> AuditTrail:
        signer = None
        if self.signing_key is not None and self.signing_cert is not None:
            signer = CheckpointSigner.from_files(self.signing_key, self.signing_cert)
        return AuditTrail(SubjectHasher(self.hmac_key), signer, checkpoint_every=self.checkpoint_every)
