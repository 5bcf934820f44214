"""Test support for the PKI: a tiny mTLS echo server and a TLS probe that reads the server's certificate.

Used by the PKI, revocation and rotation tests; not by the gateway.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from pathlib import Path

import grpc
from cryptography import x509

ECHO_METHOD = "/pki.testing.Echo/Echo"
CallCheck = Callable[[grpc.ServicerContext], tuple[grpc.StatusCode, str] | None]


class EchoHandler(grpc.GenericRpcHandler):
    """Answers every unary method with the request bytes, after an optional per-call check."""

    def __init__(self, check: CallCheck | None = None) -> None:
        self._check = check

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        check = self._check

        def echo(request: bytes, context: grpc.ServicerContext) -> bytes:
            refusal = check(context) if check is not None else None
            if refusal is not None:
                context.abort(*refusal)
            return request

        return grpc.unary_unary_rpc_method_handler(echo)


@contextmanager
def echo_server(credentials: grpc.ServerCredentials, *, check: CallCheck | None = None) -> Iterator[int]:
    """A synchronous grpc server on 127.0.0.1:0 with `credentials`; yields the port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers([EchoHandler(check)])
    port = server.add_secure_port("127.0.0.1:0", credentials)
    if port == 0:
        raise OSError("could not bind a loopback port")
    server.start()
    try:
        yield port
    finally:
        server.stop(0).wait(5)


def channel_credentials(
    ca: bytes, cert_chain: bytes | None = None, key: bytes | None = None
) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert_chain)


def secure_channel(port: int, credentials: grpc.ChannelCredentials) -> grpc.Channel:
    """A channel to localhost:port with its own subchannel pool (a new channel = a new connection)."""
    return grpc.secure_channel(f"localhost:{port}", credentials, options=[("grpc.use_local_subchannel_pool", 1)])


def echo(channel: grpc.Channel, payload: bytes = b"ping", *, timeout: float = 5.0) -> bytes:
    return channel.unary_unary(ECHO_METHOD)(payload, timeout=timeout)


def server_certificate(
    port: int,
    *,
    ca_path: Path,
    cert_path: Path,
    key_path: Path,
    server_hostname: str = "localhost",
    timeout: float = 5.0,
) -> x509.Certificate:
    """Handshake with python's ssl module (mTLS, ALPN h2, verifying with `ca_path` only) and
    return the leaf certificate the server presented on this new connection."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_path))
    context.load_cert_chain(certfile=str(cert_path), keyfile=str(key_path))
    context.set_alpn_protocols(["h2"])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if der is None:
        raise ssl.SSLError("the server presented no certificate")
    return x509.load_der_x509_certificate(der)
