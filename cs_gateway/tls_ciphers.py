"""The TLS 1.2 cipher suites the gateway offers: ECDHE key exchange with AEAD ciphers only.

grpcio for Python has no API for this; grpc core reads the GRPC_SSL_CIPHER_SUITES environment
variable once, when grpc is first imported. cs_gateway/__init__.py pins it before anything in
the package imports grpc, so `cs-gateway serve` always runs with this list. TLS 1.3 suites are
all AEAD and cannot be narrowed through grpcio; the minimum version is grpc's own (TLS 1.2).
"""

from __future__ import annotations

import os

TLS12_CIPHER_SUITES = ":".join(
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-CHACHA20-POLY1305",
    )
)


def pin_cipher_suites() -> None:
    os.environ["GRPC_SSL_CIPHER_SUITES"] = TLS12_CIPHER_SUITES
