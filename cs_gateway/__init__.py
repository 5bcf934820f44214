"""cs-gateway: an emulation of the 市町村CS of 住基ネット as a hardened gRPC gateway."""

from .tls_ciphers import pin_cipher_suites

pin_cipher_suites()  # before any module of the package imports grpc

__version__ = "0.1.0"
