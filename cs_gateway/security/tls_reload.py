"""Certificate rotation without restart, for the gateway's port and for its outbound channels.

Server side: ``reloading_server_credentials`` builds ``grpc.dynamic_ssl_server_credentials``.
grpc calls the fetcher before every new TLS handshake; the fetcher stats the certificate chain,
key and CA bundle files and, only when one of them changed ((st_mtime_ns, st_size, st_ino)),
reads and validates them and hands grpc a new configuration. New connections then use the new
certificate and trust bundle; connections already open keep the session they negotiated (a
TLS session is never re-authenticated), until they close (the server's max_connection_age
bounds that).

New material is only accepted when it is consistent: the chain and bundle parse, the key
matches the first certificate of the chain, and that certificate is within its validity period.
Otherwise the old configuration stays in force and one warning is logged naming the files and a
reason code: never file contents or key material. Replace files with os.replace (or ``mv``): a
rotation that replaces key and certificate one after the other is seen as "inconsistent" in
between and picked up once both are in place.

Client side: ``ReloadingChannelCredentials`` rebuilds ``grpc.ssl_channel_credentials`` when the
files change, and ``ReloadingChannel`` hands out a fresh channel built from them. LIMITATION: an
open grpc channel keeps the credentials it was created with (and its connections keep their TLS
sessions): a rotated client certificate is only used by channels created after the change, so a
long-lived caller must ask ``ReloadingChannel.get()`` for its channel before each call (cheap: a
few stats) and close the channels it retires.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from ..logging_setup import get_logger

log = get_logger("cs_gateway.security.tls_reload")

CLOCK_SKEW = timedelta(minutes=5)

StatKey = tuple[int, int, int]


class TlsMaterialError(Exception):
    """Certificate, key or CA bundle files unusable; `reason` is a code safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TlsMaterial:
    """Validated PEM bytes, ready for grpc; `serial`/`not_after` describe the leaf (safe to log)."""

    cert_chain: bytes
    key: bytes
    ca_bundle: bytes
    serial: int
    not_after: datetime

    def __repr__(self) -> str:  # never show the key
        return f"TlsMaterial(serial={self.serial:x}, not_after={self.not_after.isoformat()})"


def _stat_key(path: Path) -> StatKey | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def load_tls_material(cert_path: Path, key_path: Path, ca_path: Path, *, now: datetime | None = None) -> TlsMaterial:
    """Read and validate the three files; raise TlsMaterialError (reason code only) if unusable."""
    try:
        cert_chain = Path(cert_path).read_bytes()
        key_pem = Path(key_path).read_bytes()
        ca_bundle = Path(ca_path).read_bytes()
    except OSError as err:
        raise TlsMaterialError("FILE_UNREADABLE") from err
    try:
        chain = x509.load_pem_x509_certificates(cert_chain)
    except ValueError as err:
        raise TlsMaterialError("CERT_UNPARSABLE") from err
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise TlsMaterialError("KEY_UNPARSABLE") from None  # no chaining: keep key parsing details out of logs
    try:
        anchors = x509.load_pem_x509_certificates(ca_bundle)
    except ValueError as err:
        raise TlsMaterialError("CA_BUNDLE_UNPARSABLE") from err
    if not anchors:
        raise TlsMaterialError("CA_BUNDLE_EMPTY")
    leaf = chain[0]
    if key.public_key() != leaf.public_key():
        raise TlsMaterialError("KEY_DOES_NOT_MATCH_CERT")
    moment = now or datetime.now(UTC)
    if leaf.not_valid_after_utc < moment:
        raise TlsMaterialError("CERT_EXPIRED")
    if leaf.not_valid_before_utc > moment + CLOCK_SKEW:
        raise TlsMaterialError("CERT_NOT_YET_VALID")
    return TlsMaterial(
        cert_chain=cert_chain,
        key=key_pem,
        ca_bundle=ca_bundle,
        serial=leaf.serial_number,
        not_after=leaf.not_valid_after_utc,
    )


class _Watched:
    """Three files, their last seen stat keys and the last material accepted from them."""

    def __init__(self, cert_path: Path, key_path: Path, ca_path: Path, what: str) -> None:
        self.paths = (Path(cert_path), Path(key_path), Path(ca_path))
        self.what = what
        self.lock = threading.Lock()
        self.seen = self.keys()
        self.material = load_tls_material(*self.paths)  # refuse to start with unusable files
        self.generation = 0

    def keys(self) -> tuple[StatKey | None, ...]:
        return tuple(_stat_key(p) for p in self.paths)

    def poll(self) -> TlsMaterial | None:
        """New material if the files changed and are consistent, else None (old material stays)."""
        keys = self.keys()
        if keys == self.seen:
            return None
        with self.lock:
            if keys == self.seen:
                return None
            self.seen = keys  # also after a failure: retry only on the next change
            try:
                material = load_tls_material(*self.paths)
            except TlsMaterialError as err:
                log.warning(
                    "tls_reload_rejected",
                    what=self.what,
                    reason=err.reason,
                    cert=str(self.paths[0]),
                    key=str(self.paths[1]),
                    ca=str(self.paths[2]),
                    serving_serial=format(self.material.serial, "x"),
                )
                return None
            if material.cert_chain == self.material.cert_chain and material.key == self.material.key:
                if material.ca_bundle == self.material.ca_bundle:
                    return None  # touched, not changed
            self.material = material
            self.generation += 1
            log.info(
                "tls_reloaded",
                what=self.what,
                serial=format(material.serial, "x"),
                not_after=material.not_after.isoformat(),
                generation=self.generation,
            )
            return material


def _server_configuration(material: TlsMaterial) -> grpc.ServerCertificateConfiguration:
    return grpc.ssl_server_certificate_configuration(
        [(material.key, material.cert_chain)], root_certificates=material.ca_bundle
    )


class ServerCertificateReloader:
    """The fetcher behind reloading_server_credentials (callable, never raises)."""

    def __init__(self, cert_path: Path, key_path: Path, ca_path: Path) -> None:
        self._watched = _Watched(cert_path, key_path, ca_path, "server")

    @property
    def initial_configuration(self) -> grpc.ServerCertificateConfiguration:
        return _server_configuration(self._watched.material)

    @property
    def serial(self) -> int:
        """Serial of the certificate handed to grpc last."""
        return self._watched.material.serial

    @property
    def generation(self) -> int:
        """How many times new material was handed to grpc."""
        return self._watched.generation

    def __call__(self) -> grpc.ServerCertificateConfiguration | None:
        try:
            material = self._watched.poll()
        except Exception:  # noqa: BLE001 - an exception escaping into grpc core would fail the handshake
            log.warning("tls_reload_failed", what="server")
            return None
        return None if material is None else _server_configuration(material)


def reloading_server_credentials(cert_path: Path, key_path: Path, ca_path: Path) -> grpc.ServerCredentials:
    """mTLS server credentials (client certificate required) that follow the files on disk.

    Raises TlsMaterialError if the files are unusable at start.
    """
    reloader = ServerCertificateReloader(cert_path, key_path, ca_path)
    return grpc.dynamic_ssl_server_credentials(
        reloader.initial_configuration,
        reloader,
        require_client_authentication=True,
    )


class ReloadingChannelCredentials:
    """``grpc.ssl_channel_credentials`` for an outbound mTLS client, rebuilt when the files change.

    Each call to ``credentials()`` costs three stats when nothing changed. Unusable new files
    keep the previous credentials (logged once per change). See the module docstring for the
    limitation: open channels keep the credentials they were built with.
    """

    def __init__(self, cert_path: Path, key_path: Path, ca_path: Path) -> None:
        self._watched = _Watched(cert_path, key_path, ca_path, "client")
        self._credentials = self._build(self._watched.material)

    @staticmethod
    def _build(material: TlsMaterial) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=material.ca_bundle,
            private_key=material.key,
            certificate_chain=material.cert_chain,
        )

    @property
    def generation(self) -> int:
        return self._watched.generation

    @property
    def serial(self) -> int:
        return self._watched.material.serial

    def credentials(self) -> grpc.ChannelCredentials:
        material = self._watched.poll()
        if material is not None:
            self._credentials = self._build(material)
        return self._credentials


ChannelFactory = Callable[..., Any]  # (target, credentials, options=...) -> channel


class ReloadingChannel:
    """One secure channel to `target`, replaced by a new one when the credentials change.

    ``get()`` returns the current channel (new after a rotation). The replaced channel is not
    closed here, so its in-flight calls can finish: take it with ``retire()`` and close it
    (``channel.close()``, or ``await channel.close(grace)`` for grpc.aio). For grpc.aio pass
    ``factory=grpc.aio.secure_channel``. Each channel gets a local subchannel pool so that a
    new channel really makes a new connection (and handshake) instead of sharing an old one.
    """

    def __init__(
        self,
        target: str,
        credentials: ReloadingChannelCredentials,
        *,
        options: Sequence[tuple[str, Any]] = (),
        factory: ChannelFactory = grpc.secure_channel,
    ) -> None:
        self._target = target
        self._credentials = credentials
        self._options = [*options, ("grpc.use_local_subchannel_pool", 1)]
        self._factory = factory
        self._lock = threading.Lock()
        self._retired: list[Any] = []
        self._generation = credentials.generation
        self._channel = factory(target, credentials.credentials(), options=self._options)

    def get(self) -> Any:
        with self._lock:
            credentials = self._credentials.credentials()
            if self._credentials.generation != self._generation:
                self._retired.append(self._channel)
                self._channel = self._factory(self._target, credentials, options=self._options)
                self._generation = self._credentials.generation
            return self._channel

    def retire(self) -> list[Any]:
        """The channels replaced since the last call, for the caller to close."""
        with self._lock:
            retired, self._retired = self._retired, []
        return retired

    def close(self) -> None:
        """Close the current and the retired channels (synchronous grpc channels only)."""
        for channel in [*self.retire(), self._channel]:
            channel.close()
