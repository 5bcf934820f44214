"""Who is at the other end, checked by the CS in code before anything is sent to it.

grpcio's Python client verifies the server's chain against the CA and its DNS name, but exposes
no hook to read the server's certificate. So before each stream the CS makes a TLS handshake of
its own to the same address (with its own client certificate, the same CA and server name), takes
the server's leaf and judges it with the gateway's CertificateGate (identity = one SPIFFE URI SAN,
profile, the issuer pinned for the role in the policy, validity now, revocation by the issuer's
CRL), and requires the expected role. Anything else: nothing is sent (the notifier audits it).
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..security.certificate_gate import CertificateGate
from ..security.identity import AUTH_CONTEXT_CERT_KEY, PeerIdentity

HANDSHAKE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class PeerVerdict:
    identity: PeerIdentity | None
    rule: str | None  # None: the peer may be sent data

    @property
    def ok(self) -> bool:
        return self.rule is None


def fetch_server_certificate(
    target: str, *, server_name: str, ca: Path, cert: Path, key: Path, timeout: float = HANDSHAKE_TIMEOUT_S
) -> bytes:
    """The server's leaf certificate (PEM) from a verified mTLS handshake; OSError/ssl.SSLError if none."""
    host, _, port = target.rpartition(":")
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the server presented no certificate")
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


def judge_peer(gate: CertificateGate, leaf_pem: bytes, expected_role: str) -> PeerVerdict:
    identity, rule = gate.check({AUTH_CONTEXT_CERT_KEY: [leaf_pem]})
    if rule is None and identity is not None and identity.role != expected_role:
        rule = f"role:{identity.role}-is-not-{expected_role}"
    return PeerVerdict(identity, rule)
