"""cs-gateway: an emulation of the 市町村CS of 住基ネット as a hardened gRPC gateway."""

__version__ = "0.1.0"
