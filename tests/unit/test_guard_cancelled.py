"""A call cancelled before the guard ran has no peer address any more: that is not a network
violation to record (a false alert in the audit trail), unless the call is still alive."""

from __future__ import annotations

import asyncio

import pytest

from cs_gateway.api.guard import Guard
from cs_gateway.security.certificate_gate import CertificateGate, IssuerFiles
from cs_gateway.security.identity import AUTH_CONTEXT_CERT_KEY
from cs_gateway.security.network import NetworkGate
from cs_gateway.security.policy_file import default_policy_file, load_policy
from cs_gateway.security.revocation import RevocationChecker
from pki.dev_pki import DevPki
from pki.profiles import ROLES


class AbortedError(Exception):
    pass


class Context:
    def __init__(self, pem: bytes, peer: str, cancelled: bool) -> None:
        self._pem, self._peer, self._cancelled = pem, peer, cancelled

    def auth_context(self) -> dict[str, list[bytes]]:
        return {AUTH_CONTEXT_CERT_KEY: [self._pem]}

    def peer(self) -> str:
        return self._peer

    def cancelled(self) -> bool:
        return self._cancelled

    async def abort_with_status(self, _status: object) -> None:
        raise AbortedError


def _guard(pki: DevPki, recorded: list[tuple[str, str]]) -> Guard:
    async def record(method: str, _peer: str, outcome: str, rule: str, _identity: object, **_: object) -> None:
        recorded.append((outcome, rule))

    policy = load_policy(default_policy_file())
    return Guard(
        policy,
        network=NetworkGate(policy),
        certificates=CertificateGate(
            [IssuerFiles(pki.intermediate_cert_path, pki.crl_path, default=True)],
            pki.ca_cert_path,
            policy.issuer_pins(),
            trust_domain=pki.trust_domain,
            known_roles=frozenset(ROLES),
            revocation_for=lambda files: RevocationChecker(files.crl, files.cert),
        ),
        on_refusal=record,
    )


def test_a_cancelled_call_without_a_peer_is_not_recorded_as_a_network_denial(dev_pki: DevPki) -> None:
    recorded: list[tuple[str, str]] = []
    guard = _guard(dev_pki, recorded)
    pem = dev_pki.cert_path("kizon-juki").read_bytes()
    method = "/jukinet.cs.v1.UpdateService/Apply"
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(guard.check(method, Context(pem, "", cancelled=True)))
    assert recorded == []
    # a live call without a usable address is still refused, and recorded
    with pytest.raises(AbortedError):
        asyncio.run(guard.check(method, Context(pem, "", cancelled=False)))
    assert recorded == [("denied", "network:unparsable-peer")]
    asyncio.run(guard.check(method, Context(pem, "ipv4:127.0.0.1:5", cancelled=False)))  # and a good one passes
