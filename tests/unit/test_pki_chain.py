"""The two-level hierarchy over real grpc mTLS handshakes: peers trust only the root (ca.crt)
and build the path from the intermediate that every <role>.crt carries after its leaf."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from pki.dev_pki import CertificateAuthority, DevPki, create_hierarchy, init_dev_pki
from pki.testing import channel_credentials, echo, echo_server, secure_channel, server_certificate


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return init_dev_pki(tmp_path_factory.mktemp("pki") / "dev")


@pytest.fixture(scope="module")
def port(pki: DevPki) -> Iterator[int]:
    """The cs role serving <cs.crt = leaf + intermediate>, requiring client certs chaining to ca.crt."""
    credentials = grpc.ssl_server_credentials(
        [(pki.key_path("cs").read_bytes(), pki.cert_path("cs").read_bytes())],
        root_certificates=pki.ca_cert_path.read_bytes(),
        require_client_auth=True,
    )
    with echo_server(credentials) as bound:
        yield bound


def _call(pki: DevPki, port: int, *, chain: bytes, key: bytes) -> bytes:
    channel = secure_channel(port, channel_credentials(pki.ca_cert_path.read_bytes(), chain, key))
    try:
        return echo(channel, b"chain")
    finally:
        channel.close()


@pytest.mark.parametrize("role", ["kizon-juki", "terminal", "prefecture"])
def test_leaf_plus_intermediate_is_accepted_both_ways_with_only_the_root_trusted(
    pki: DevPki, port: int, role: str
) -> None:
    assert len(x509.load_pem_x509_certificates(pki.ca_cert_path.read_bytes())) == 1
    assert _call(pki, port, chain=pki.cert_path(role).read_bytes(), key=pki.key_path(role).read_bytes()) == b"chain"


def test_server_presents_its_chain_to_a_non_grpc_tls_client(pki: DevPki, port: int) -> None:
    leaf = server_certificate(
        port,
        ca_path=pki.ca_cert_path,
        cert_path=pki.cert_path("kizon-juki"),
        key_path=pki.key_path("kizon-juki"),
    )
    assert leaf == x509.load_pem_x509_certificate(pki.cert_path("cs").read_bytes())


def test_client_leaf_without_its_intermediate_is_refused(pki: DevPki, port: int) -> None:
    leaf = x509.load_pem_x509_certificate(pki.cert_path("kizon-juki").read_bytes())
    with pytest.raises(grpc.RpcError) as caught:
        _call(
            pki, port, chain=leaf.public_bytes(serialization.Encoding.PEM), key=pki.key_path("kizon-juki").read_bytes()
        )
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_leaf_of_another_roots_intermediate_is_refused(pki: DevPki, port: int) -> None:
    _, other = create_hierarchy(pki.trust_domain)
    foreign = other.issue("kizon-juki", "kizon-juki-01", trust_domain=pki.trust_domain)
    assert len(x509.load_pem_x509_certificates(foreign.cert_pem)) == 2  # full chain, still refused
    with pytest.raises(grpc.RpcError) as caught:
        _call(pki, port, chain=foreign.cert_pem, key=foreign.key_pem)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_intermediate_forged_under_our_intermediates_name_is_refused(pki: DevPki, port: int) -> None:
    other_root, _ = create_hierarchy(pki.trust_domain)
    ours = pki.load_ca().cert
    forged_ca = CertificateAuthority(cert=ours, key=other_root.key)  # our intermediate's name, another key
    leaf = forged_ca.issue("kizon-juki", "kizon-juki-01", trust_domain=pki.trust_domain)
    with pytest.raises(grpc.RpcError) as caught:
        _call(pki, port, chain=leaf.cert_pem, key=leaf.key_pem)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_client_refuses_a_server_of_another_root(pki: DevPki, tmp_path: Path) -> None:
    other = init_dev_pki(tmp_path / "other")
    credentials = grpc.ssl_server_credentials(
        [(other.key_path("cs").read_bytes(), other.cert_path("cs").read_bytes())],
        root_certificates=pki.ca_cert_path.read_bytes(),
        require_client_auth=True,
    )
    with echo_server(credentials) as other_port, pytest.raises(grpc.RpcError) as caught:
        _call(
            pki, other_port, chain=pki.cert_path("kizon-juki").read_bytes(), key=pki.key_path("kizon-juki").read_bytes()
        )
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
