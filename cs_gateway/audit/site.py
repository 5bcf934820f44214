"""What the audit commands know of the gateway they work on: the store's file, the trail's
settings, the CS certificate and key. The gateway's configuration (config.GatewayConfig) has
this shape; the audit package depends on the shape, never on the configuration module."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class AuditSettings(Protocol):
    @property
    def hmac_key(self) -> Path: ...

    @property
    def checkpoint_every(self) -> int: ...

    @property
    def retention_years(self) -> int: ...


class CsKeyFiles(Protocol):
    @property
    def cert(self) -> Path: ...

    @property
    def key(self) -> Path: ...


class AuditSite(Protocol):
    @property
    def store_path(self) -> Path: ...

    @property
    def audit(self) -> AuditSettings: ...

    @property
    def tls(self) -> CsKeyFiles: ...
