"""The attacks of ``cs-gateway-probe`` (see clients/probe.py): attack material made at run time
from the dev PKI, one function per attack, and the judgement of what the gateway answered.

Every attack is a black-box client of a RUNNING gateway. It either expects the TLS handshake to
be refused (the client sees UNAVAILABLE; the gateway's guard never runs, so nothing reaches the
audit trail) or one uniform ``PERMISSION_DENIED`` / ``ACCESS_DENIED`` from the guard (audited).
A call that the guard should refuse is built so that, if the guard let it through, the service
would still change nothing (a read of a malformed 住民票コード, or an Apply whose
change_reason_detail is over the format limit) and the probe would see the service's answer.

An answer FAILs when it is anything but the expected refusal, or when a refusal tells more than
"access denied": a number shaped like a 住民票コード/個人番号, a service or method name, the rule
that refused, a stack trace, or any response message.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import ssl
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from clients.synthetic import tennyu_request
from cs_gateway.gen.jukinet.cs.v1 import terminal_service_pb2 as tpb
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2 as upb
from cs_gateway.process import DEV_MUNICIPALITY_NAME
from pki.crl import revoke
from pki.dev_pki import CertificateAuthority, DevPki, create_ca, parse_spiffe_id, spiffe_id, write_file
from pki.off_profile import Defect, issue_leaf

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"

UPDATE = "/jukinet.cs.v1.UpdateService/"
APPLY = UPDATE + "Apply"
GET_RECORD = UPDATE + "GetRecord"
TERMINAL_LOOKUP = "/jukinet.cs.v1.TerminalService/LookupByJuminhyoCode"  # no such method
TERMINAL = "/jukinet.cs.v1.TerminalService/"
SESSION_METADATA = "x-cs-session"
SESSION_REQUIRED = "SESSION_REQUIRED"
LOGIN_FAILED = "LOGIN_FAILED"
REFLECTION = (
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
)
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
HEALTH_SERVING = b"\x08\x01"  # HealthCheckResponse{status: SERVING}, hand-encoded

ACCESS_DENIED = "ACCESS_DENIED"
# GetRecord of a code that fails the format check: answered INVALID_ARGUMENT by the service
# (proof that the guard let the call through) and never touches a record.
PROBE_READ = upb.GetRecordRequest(juminhyo_code="probe").SerializeToString()
# The service's answers that prove a call got past the guard.
SERVED = frozenset({grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND})
OVERSIZED_BYTES = 200 * 1024
FLOOD_HEADERS = 512  # x ~120 bytes: ~60 KiB of metadata, far over the 8 KiB limit (16 KiB hard)
# ServerReflectionRequest{list_services: ""} (field 7, length-delimited), hand-encoded: the probe
# needs no grpcio-reflection.
LIST_SERVICES = b"\x3a\x00"
SESSION_ACCEPTED = "TLS session accepted"
REVOCATION_WAIT_S = 3.0  # the gateway re-stats the CRL at most once per second
EXPIRY_IN_S = 3  # expired-on-open-channel: the certificate's remaining life when issued

_LEAKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\d{10,}"), "a number shaped like a 住民票コード or 個人番号"),
    (re.compile(r"jukinet|UpdateService|TerminalService|ServerReflection|grpc\.health|/\w[\w.]*/\w+"), "a method name"),
    (re.compile(r"revocation:|network:|policy:|identity:|REVOKED|segment|\bmac\b|\brole\b", re.I), "the refusing rule"),
    (re.compile(r"Traceback|Exception|File \""), "a stack trace"),
)


# ---------------------------------------------------------------- results


@dataclass
class GuardCall:
    """A call that must reach the gateway's guard and be refused there (so be audited once)."""

    method: str
    fingerprint: str  # SHA-256 of the client certificate, lowercase hex (as in the audit trail)
    rule: str = ""  # the rule the trail must name, when the attack knows it

    def to_json(self) -> dict[str, str]:
        return {"method": self.method, "fingerprint": self.fingerprint, "rule": self.rule}


@dataclass
class Outcome:
    attack: str
    expected: str
    observed: str
    verdict: str  # PASS | FAIL | SKIP
    note: str = ""
    guard_calls: list[GuardCall] = field(default_factory=list)
    fingerprints: list[str] = field(default_factory=list)  # every certificate the attack presented
    refusals: list[str] = field(default_factory=list)  # bodies of its PERMISSION_DENIEDs, compared across attacks

    def to_json(self) -> dict[str, object]:
        return {
            "attack": self.attack,
            "expected": self.expected,
            "observed": self.observed,
            "verdict": self.verdict,
            "note": self.note,
            "guard_calls": [c.to_json() for c in self.guard_calls],
            "fingerprints": list(self.fingerprints),
            "refusals": list(self.refusals),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Outcome:
        calls = [
            GuardCall(str(c["method"]), str(c["fingerprint"]), str(c.get("rule", "")))  # type: ignore[index, union-attr]
            for c in data.get("guard_calls", [])  # type: ignore[union-attr]
        ]
        return cls(
            attack=str(data["attack"]),
            expected=str(data["expected"]),
            observed=str(data["observed"]),
            verdict=str(data["verdict"]),
            note=str(data.get("note", "")),
            guard_calls=calls,
            fingerprints=[str(f) for f in data.get("fingerprints", [])],  # type: ignore[union-attr]
            refusals=[str(r) for r in data.get("refusals", [])],  # type: ignore[union-attr]
        )


@dataclass
class Reply:
    """What one call got back, in the terms the probe judges."""

    code: grpc.StatusCode
    details: str = ""
    reason: str = ""  # google.rpc.ErrorInfo.reason
    domain: str = ""  # google.rpc.ErrorInfo.domain
    texts: tuple[str, ...] = ()  # every string of the status and its details
    responses: int = 0  # response messages received

    @property
    def observed(self) -> str:
        return self.code.name + (f" {self.reason}" if self.reason else "")

    @property
    def body(self) -> str:
        return "|".join((self.code.name, self.details, self.reason, self.domain, *sorted(self.texts)))


def _reply_of(err: grpc.RpcError, responses: int = 0) -> Reply:
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN  # type: ignore[attr-defined]
    details = (err.details() if hasattr(err, "details") else "") or ""  # type: ignore[attr-defined]
    reason, domain, texts = "", "", [details]
    try:
        status = rpc_status.from_call(err)  # type: ignore[arg-type]
    except ValueError:  # trailers that contradict the status: itself a finding, kept in texts
        status, texts = None, [*texts, "inconsistent grpc-status-details-bin"]
    if status is not None:
        texts.append(status.message)
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, domain = info.reason, info.domain  # the domain is a constant: not scanned
                texts += [info.reason, *(f"{k}={v}" for k, v in info.metadata.items())]
            elif detail.Is(error_details_pb2.LocalizedMessage.DESCRIPTOR):
                message = error_details_pb2.LocalizedMessage()
                detail.Unpack(message)
                texts.append(message.message)
            else:
                texts.append(f"{detail.type_url}:{detail.value!r}")
    return Reply(code=code, details=details, reason=reason, domain=domain, texts=tuple(texts), responses=responses)


def leak_in(reply: Reply) -> str | None:
    """What a refusal tells that it should not, or None."""
    if reply.responses:
        return f"{reply.responses} response message(s) came with the refusal"
    for text in reply.texts:
        for pattern, what in _LEAKS:
            if pattern.search(text):
                return f"the status names {what}"
    return None


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------- material


@dataclass(frozen=True)
class Credential:
    """A client certificate chain (leaf first) and its key."""

    label: str
    chain_pem: bytes
    key_pem: bytes

    @cached_property
    def fingerprint(self) -> str:
        return x509.load_pem_x509_certificates(self.chain_pem)[0].fingerprint(hashes.SHA256()).hex()


def probe_host(purpose: str) -> str:
    """A host label that no real device has: probe-<purpose>-<random>."""
    return f"probe-{purpose}-{secrets.token_hex(3)}"


def self_signed(role: str, host: str, trust_domain: str) -> Credential:
    """A client leaf that signs itself, with a perfectly plausible SPIFFE ID."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, host), x509.NameAttribute(NameOID.ORGANIZATION_NAME, role)]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(spiffe_id(trust_domain, role, host))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Credential("self-signed", cert.public_bytes(serialization.Encoding.PEM), key_pem)


def trust_domain_of(pki: DevPki) -> str | None:
    """The trust domain of the PKI's kizon-juki certificate (its SPIFFE URI SAN), if readable."""
    try:
        cert = x509.load_pem_x509_certificates(pki.cert_path("kizon-juki").read_bytes())[0]
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
        return parse_spiffe_id(uris[0])[0]
    except (OSError, ValueError, IndexError, x509.ExtensionNotFound):
        return None


@dataclass(frozen=True)
class OperatorLogin:
    """A test operator's credentials (read from a file or the environment, never printed)."""

    operator_id: str
    password: str = field(repr=False)
    totp_secret: str = field(repr=False)


@dataclass(frozen=True)
class CardMaterial:
    """An emulated マイナンバーカード file (pki/card.py) and its PIN (never printed)."""

    path: Path
    pin: str = field(repr=False)


# ---------------------------------------------------------------- the probe's view of the gateway


@dataclass
class Probe:
    """Everything an attack needs: where the gateway is and the PKI to make material from."""

    target: str
    pki: DevPki
    trust_domain: str
    server_name: str = "localhost"  # a name on the gateway's certificate (the target may be an IP)
    timeout: float = 5.0
    outside_role: str = "kizon-juki"  # a role whose segment excludes the namespace address
    mac_role: str = "prefecture"  # a role on the namespace's segment (mac_check = "required")
    mac_host: str = "probe-mac-01"  # a host of that role whose MAC list lacks the namespace MAC
    flood_calls: int = 150  # denied calls of the audit-flood attack (over the gateway's bound, 100 by default)
    operator: OperatorLogin | None = None  # a test operator (the terminal attacks that need a session)
    card: CardMaterial | None = None  # a card file and its PIN (the card-check attacks)
    second_terminal: Credential | None = None  # another terminal certificate (stolen-token); default: issued
    mass_lookups: int = 100  # lookups of the mass-lookup attack (over the gateway's per-minute limit)
    municipality_name: str = DEV_MUNICIPALITY_NAME  # the gateway's gateway.municipality_name (one-item-search)
    state: dict[str, object] = field(default_factory=dict)  # what one terminal attack leaves to the next
    _issuing: CertificateAuthority | None = None
    _root: CertificateAuthority | None = None

    @cached_property
    def ca_pem(self) -> bytes:
        return self.pki.ca_cert_path.read_bytes()

    def issuing(self) -> CertificateAuthority:
        if self._issuing is None:
            self._issuing = self.pki.load_ca()
        return self._issuing

    def root(self) -> CertificateAuthority:
        if self._root is None:
            self._root = self.pki.load_root()
        return self._root

    def role(self, role: str) -> Credential:
        """The PKI's shared certificate of a role (never revoked or changed by the probe)."""
        return Credential(role, self.pki.cert_path(role).read_bytes(), self.pki.key_path(role).read_bytes())

    def issue(self, label: str, role: str, host: str, **dates: datetime) -> Credential:
        issued = self.issuing().issue(role, host, trust_domain=self.trust_domain, **dates)
        return Credential(label, issued.cert_pem, issued.key_pem)

    def channel(self, credential: Credential | None) -> grpc.Channel:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=self.ca_pem,
            private_key=credential.key_pem if credential else None,
            certificate_chain=credential.chain_pem if credential else None,
        )
        options = [
            ("grpc.ssl_target_name_override", self.server_name),
            ("grpc.use_local_subchannel_pool", 1),  # no connection shared with another attack
            ("grpc.enable_retries", 0),
        ]
        return grpc.secure_channel(self.target, credentials, options=options)

    def unary(
        self,
        credential: Credential | None,
        method: str,
        request: bytes,
        *,
        metadata: Sequence[tuple[str, str]] | None = None,
        channel: grpc.Channel | None = None,
    ) -> Reply:
        own = channel is None
        channel = channel or self.channel(credential)
        try:
            call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
            call(request, timeout=self.timeout, metadata=metadata)
            return Reply(grpc.StatusCode.OK, responses=1)
        except grpc.RpcError as err:
            return _reply_of(err)
        finally:
            if own:
                channel.close()

    def stream(self, credential: Credential, method: str, requests: Sequence[bytes]) -> Reply:
        channel = self.channel(credential)
        received = 0
        try:
            call = channel.stream_stream(method, request_serializer=None, response_deserializer=None)
            for _ in call(iter(requests), timeout=self.timeout):
                received += 1
            return Reply(grpc.StatusCode.OK, responses=received)
        except grpc.RpcError as err:
            return _reply_of(err, received)
        finally:
            channel.close()

    def served(self, credential: Credential) -> Reply:
        """A read that only the service answers (INVALID_ARGUMENT): is the gateway serving?"""
        return self.unary(credential, GET_RECORD, PROBE_READ)


# ---------------------------------------------------------------- judgements


def expect_handshake_refused(
    attack: str, expected: str, reply: Reply, credential: Credential | None, *, alert: str = ""
) -> Outcome:
    fingerprints = [credential.fingerprint] if credential else []
    if alert == SESSION_ACCEPTED:
        verdict, note = FAIL, "the gateway completed a TLS session with this client"
    elif reply.code == grpc.StatusCode.UNAVAILABLE and not reply.responses:
        verdict, note = PASS, alert or f"TLS: {_tls_hint(reply.details)}"
    elif reply.code == grpc.StatusCode.PERMISSION_DENIED:
        verdict, note = FAIL, "the handshake was accepted; only the guard refused the call"
    else:
        verdict, note = FAIL, f"the call got through: {_short(reply.details)}"
    return Outcome(attack, expected, reply.observed, verdict, note, fingerprints=fingerprints)


def _tls_hint(details: str) -> str:
    for pattern in (
        r"(CERTIFICATE_REQUIRED|UNKNOWN_CA|CERTIFICATE_EXPIRED|BAD_CERTIFICATE|HANDSHAKE_FAILURE|"
        r"CERTIFICATE_UNKNOWN|DECRYPT_ERROR|UNSUPPORTED_CERTIFICATE|WRONG_VERSION_NUMBER)",
        r"(Ssl handshake failed|Socket closed|Connection reset by peer|Connection refused|Deadline Exceeded)",
    ):
        match = re.search(pattern, details, re.I)
        if match:
            return match.group(1).lower().replace("_", " ")
    return _short(details, 40) or "refused"


def tls_alert(probe: Probe, credential: Credential | None) -> str:
    """What the gateway's TLS stack says to this client certificate, seen with Python's ssl (a
    second client, so the refusal is shown to happen in the handshake, and why)."""
    host, _, port = probe.target.rpartition(":")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=probe.ca_pem.decode("ascii"))
    context.set_alpn_protocols(["h2"])
    with tempfile.TemporaryDirectory(prefix="cs-gateway-probe-") as tmp:
        if credential is not None:
            cert, key = Path(tmp) / "client.crt", Path(tmp) / "client.key"
            cert.write_bytes(credential.chain_pem)
            key.write_bytes(credential.key_pem)
            context.load_cert_chain(cert, key)
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=probe.timeout) as raw:
                with context.wrap_socket(raw, server_hostname=probe.server_name) as tls:
                    # TLS 1.3: the client's handshake ends before the server has judged its
                    # certificate; the verdict comes with the first read.
                    tls.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
                    if tls.recv(1):
                        return SESSION_ACCEPTED
                    return "no TLS session: the gateway closed the connection"
        except ssl.SSLCertVerificationError as err:
            return f"(probe cannot verify the gateway: {_short(str(err.verify_message), 40)})"
        except ssl.SSLError as err:
            return "no TLS session: alert " + _short(str(err.reason or err).lower().replace("_", " "), 48)
        except OSError as err:
            return f"no TLS session: {_short(str(err), 48)}"


def expect_denied(
    attack: str, expected: str, reply: Reply, credential: Credential, method: str, *, note: str = ""
) -> Outcome:
    """PERMISSION_DENIED / ACCESS_DENIED, with nothing else said; the guard saw the call."""
    outcome = Outcome(attack, expected, reply.observed, FAIL, fingerprints=[credential.fingerprint])
    if reply.code != grpc.StatusCode.PERMISSION_DENIED:
        if reply.code in SERVED:
            outcome.note = f"reached the service: {_short(reply.details) or 'answered'}"
        elif reply.code == grpc.StatusCode.UNIMPLEMENTED:
            outcome.note = "UNIMPLEMENTED tells which methods exist"
        else:
            outcome.note = _short(reply.details)
        return outcome
    outcome.guard_calls = [GuardCall(method, credential.fingerprint)]
    outcome.refusals = [reply.body]
    if reply.reason != ACCESS_DENIED:
        outcome.note = f"ErrorInfo reason {reply.reason or 'missing'}, not {ACCESS_DENIED}"
        return outcome
    leak = leak_in(reply)
    if leak:
        outcome.note = leak
        return outcome
    outcome.verdict, outcome.note = PASS, note or "uniform refusal, nothing revealed"
    return outcome


def combine(attack: str, expected: str, parts: Sequence[Outcome], note: str = "") -> Outcome:
    """One row for an attack made of several calls: PASS only if every call passed."""
    failed = [p for p in parts if p.verdict == FAIL]
    observed = ", ".join(dict.fromkeys(p.observed for p in parts))
    return Outcome(
        attack,
        expected,
        observed,
        FAIL if failed else PASS,
        "; ".join(p.note for p in failed) if failed else note,
        guard_calls=[c for p in parts for c in p.guard_calls],
        fingerprints=list(dict.fromkeys(f for p in parts for f in p.fingerprints)),
        refusals=[r for p in parts for r in p.refusals],
    )


def skip(attack: str, expected: str, reason: str) -> Outcome:
    return Outcome(attack, expected, "-", SKIP, reason)


# ---------------------------------------------------------------- the attacks

HANDSHAKE = "handshake refused: UNAVAILABLE"
DENIED = "PERMISSION_DENIED ACCESS_DENIED"
HEALTH_EXPECTED = "SERVING; atena " + DENIED


def baseline(probe: Probe) -> Outcome:
    """Control: kizon-juki reads a malformed code. Without it a refused handshake cannot be told
    from a gateway that is down."""
    reply = probe.served(probe.role("kizon-juki"))
    expected = "served (INVALID_ARGUMENT)"
    if reply.code in SERVED:
        return Outcome("baseline", expected, reply.observed, PASS, "kizon-juki reaches the service")
    return Outcome("baseline", expected, reply.observed, FAIL, f"gateway not serving: {_short(reply.details)}")


def no_client_cert(probe: Probe) -> Outcome:
    reply = probe.unary(None, GET_RECORD, PROBE_READ)
    return expect_handshake_refused("no-client-cert", HANDSHAKE, reply, None, alert=tls_alert(probe, None))


def _handshake_with(probe: Probe, attack: str, credential: Credential) -> Outcome:
    reply = probe.served(credential)
    return expect_handshake_refused(attack, HANDSHAKE, reply, credential, alert=tls_alert(probe, credential))


def self_signed_cert(probe: Probe) -> Outcome:
    credential = self_signed("kizon-juki", probe_host("selfsigned"), probe.trust_domain)
    return _handshake_with(probe, "self-signed", credential)


def other_ca(probe: Probe) -> Outcome:
    foreign = create_ca("cs-gateway-probe foreign CA")
    issued = foreign.issue("kizon-juki", "kizon-juki-01", trust_domain=probe.trust_domain)
    return _handshake_with(probe, "other-ca", Credential("other-ca", issued.cert_pem, issued.key_pem))


def expired(probe: Probe) -> Outcome:
    now = datetime.now(UTC)
    credential = probe.issue(
        "expired",
        "kizon-juki",
        probe_host("expired"),
        not_before=now - timedelta(days=30),
        not_after=now - timedelta(days=1),
    )
    return _handshake_with(probe, "expired", credential)


def not_yet_valid(probe: Probe) -> Outcome:
    now = datetime.now(UTC)
    credential = probe.issue(
        "not-yet-valid",
        "kizon-juki",
        probe_host("future"),
        not_before=now + timedelta(days=1),
        not_after=now + timedelta(days=30),
    )
    return _handshake_with(probe, "not-yet-valid", credential)


def revoked(probe: Probe) -> Outcome:
    """A fresh kizon-juki certificate (a re-issue for the policy's host kizon-juki-01, with a serial
    of its own): served, revoked via pki.crl.revoke, then refused on the same connection once the
    gateway has re-read the CRL. The dev certificate of that host is not touched."""
    attack = "revoked"
    credential = probe.issue(attack, "kizon-juki", "kizon-juki-01")
    channel = probe.channel(credential)
    try:
        before = probe.unary(credential, GET_RECORD, PROBE_READ, channel=channel)
        if before.code not in SERVED:
            outcome = Outcome(attack, DENIED, before.observed, FAIL, fingerprints=[credential.fingerprint])
            outcome.note = f"a fresh certificate was not served before revocation: {_short(before.details)}"
            return outcome
        with tempfile.TemporaryDirectory(prefix="cs-gateway-probe-") as tmp:
            leaf = Path(tmp) / "revoked.crt"
            leaf.write_bytes(credential.chain_pem)
            revoke(probe.pki.directory, leaf, "cessation_of_operation")
        started = time.monotonic()
        while True:
            reply = probe.unary(credential, GET_RECORD, PROBE_READ, channel=channel)
            waited = time.monotonic() - started
            if reply.code != grpc.StatusCode.INVALID_ARGUMENT or waited >= REVOCATION_WAIT_S:
                break
            time.sleep(0.2)
    finally:
        channel.close()
    if reply.code in SERVED:
        outcome = Outcome(attack, DENIED, reply.observed, FAIL, fingerprints=[credential.fingerprint])
        outcome.note = f"still served {waited:.1f} s after revocation (CRL not reloaded?)"
        return outcome
    return expect_denied(
        attack, DENIED, reply, credential, GET_RECORD, note=f"served before, refused {waited:.1f} s after revocation"
    )


def _harmless_apply() -> bytes:
    """A 転入 that is valid except for its change_reason_detail (over the 100-char limit): even a
    gateway that wrongly let it through would store nothing."""
    request = tennyu_request(0, request_prefix="probe")
    request.change_reason_detail = "cs-gateway-probe: must never be stored " * 4
    return request.SerializeToString()


def terminal_apply(probe: Probe) -> Outcome:
    credential = probe.role("terminal")
    return expect_denied("terminal-apply", DENIED, probe.unary(credential, APPLY, _harmless_apply()), credential, APPLY)


def kizon_juki_terminal_rpc(probe: Probe) -> Outcome:
    """TerminalService does not exist yet: deny by default must say PERMISSION_DENIED, not UNIMPLEMENTED."""
    credential = probe.role("kizon-juki")
    reply = probe.unary(credential, TERMINAL_LOOKUP, b"")
    return expect_denied(
        "kizon-juki-terminal-rpc", DENIED, reply, credential, TERMINAL_LOOKUP, note="not UNIMPLEMENTED: no enumeration"
    )


def terminal_no_session(probe: Probe) -> Outcome:
    """A terminal's Lookup without an operator session, then with a forged token: both refused
    UNAUTHENTICATED / SESSION_REQUIRED with one body (a forged token looks like none at all)."""
    credential = probe.role("terminal")
    method = TERMINAL + "Lookup"
    request = tpb.LookupRequest(juminhyo_code="10000000001", purpose=tpb.PURPOSE_IDENTITY_CHECK).SerializeToString()
    none = probe.unary(credential, method, request)
    forged = probe.unary(credential, method, request, metadata=[(SESSION_METADATA, secrets.token_urlsafe(32))])
    outcome = Outcome(
        "terminal-no-session",
        "UNAUTHENTICATED SESSION_REQUIRED x2",
        f"{none.observed} / {forged.observed}",
        FAIL,
        fingerprints=[credential.fingerprint],
    )
    if any(r.code != grpc.StatusCode.UNAUTHENTICATED or r.reason != SESSION_REQUIRED for r in (none, forged)):
        outcome.note = _short(none.details if none.reason != SESSION_REQUIRED else forged.details) or "not refused"
        return outcome
    outcome.guard_calls = [
        GuardCall(method, credential.fingerprint, "session:missing"),
        GuardCall(method, credential.fingerprint, "session:unknown"),
    ]
    if none.body != forged.body:
        outcome.note = "a forged token is answered differently from none"
        return outcome
    leak = leak_in(none)
    outcome.verdict, outcome.note = (FAIL, leak) if leak else (PASS, "no session, no data; one answer")
    return outcome


def login_brute_force(probe: Probe) -> Outcome:
    """Password guessing against likely operator ids: every attempt gets the one LOGIN_FAILED
    answer (an unknown id, a wrong password and a locked account look alike)."""
    credential = probe.role("terminal")
    method = TERMINAL + "Login"
    replies = [
        probe.unary(
            credential,
            method,
            tpb.LoginRequest(operator_id=operator_id, password=f"guess-{i}", totp_code="000000").SerializeToString(),
        )
        for i, operator_id in enumerate(("admin", "admin", "operator1", "root", "sato", "admin") * 2)
    ]
    bodies = {r.body for r in replies}
    expected = f"{LOGIN_FAILED}, one answer"
    outcome = Outcome("login-brute-force", expected, replies[0].observed, FAIL, fingerprints=[credential.fingerprint])
    if any(r.code != grpc.StatusCode.UNAUTHENTICATED or r.reason != LOGIN_FAILED for r in replies):
        outcome.note = "an attempt was answered otherwise"
    elif len(bodies) != 1:
        outcome.note = f"{len(bodies)} different answers: an account oracle"
    else:
        outcome.verdict, outcome.note = PASS, f"{len(replies)} attempts, one answer"
    return outcome


def atena(probe: Probe) -> Outcome:
    """The 宛名管理システム has a valid certificate and must still get nothing."""
    credential = probe.role("atena")
    parts = [
        expect_denied("atena", DENIED, probe.unary(credential, APPLY, _harmless_apply()), credential, APPLY),
        expect_denied("atena", DENIED, probe.unary(credential, GET_RECORD, PROBE_READ), credential, GET_RECORD),
    ]
    return combine("atena", DENIED + " x2", parts, "Apply and GetRecord refused")


def _source_address(target: str) -> str:
    host, _, port = target.rpartition(":")
    host = host.strip("[]")
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect((host, int(port)))  # UDP: no packet is sent; the kernel picks the route
            return str(sock.getsockname()[0])
    except (OSError, ValueError):
        return "?"


def _own_macs() -> str:
    macs = []
    for link in sorted(Path("/sys/class/net").glob("*")):
        if link.name == "lo":
            continue
        try:
            macs.append((link / "address").read_text(encoding="ascii").strip())
        except OSError:
            continue
    return ",".join(macs) or "?"


def outside_segment(probe: Probe) -> Outcome:
    """Run inside the namespace: a role whose segment (loopback only) does not hold this address."""
    credential = probe.role(probe.outside_role)
    reply = probe.served(credential)
    note = f"{probe.outside_role} from {_source_address(probe.target)}"
    return expect_denied("outside-segment", DENIED, reply, credential, GET_RECORD, note=note)


def unknown_mac(probe: Probe) -> Outcome:
    """Run inside the namespace: a certificate whose host's MAC list lacks this namespace's MAC."""
    credential = probe.issue("unknown-mac", probe.mac_role, probe.mac_host)
    reply = probe.served(credential)
    note = f"{probe.mac_role}/{probe.mac_host} from {_source_address(probe.target)} mac {_own_macs()}"
    return expect_denied("unknown-mac", DENIED, reply, credential, GET_RECORD, note=note)


def oversized_message(probe: Probe) -> Outcome:
    request = tennyu_request(0, request_prefix="probe")
    request.change_reason_detail = "x" * OVERSIZED_BYTES
    credential = probe.role("kizon-juki")
    reply = probe.unary(credential, APPLY, request.SerializeToString())
    expected = "RESOURCE_EXHAUSTED"
    outcome = Outcome("oversized-message", expected, reply.observed, FAIL, fingerprints=[credential.fingerprint])
    if reply.code in SERVED:
        outcome.note = f"a {OVERSIZED_BYTES // 1024} KiB message was read: {_short(reply.details)}"
    elif reply.code != grpc.StatusCode.RESOURCE_EXHAUSTED:
        outcome.note = _short(reply.details)
    elif leak := leak_in(reply):
        outcome.note = leak
    else:
        outcome.verdict, outcome.note = PASS, f"{len(request.SerializeToString()) // 1024} KiB refused before decoding"
    return outcome


def metadata_flood(probe: Probe) -> Outcome:
    credential = probe.role("kizon-juki")
    flood = [(f"x-probe-flood-{i:04d}", "f" * 100) for i in range(FLOOD_HEADERS)]
    reply = probe.unary(credential, GET_RECORD, PROBE_READ, metadata=flood)
    after = probe.served(credential)
    expected = "refused, gateway stays up"
    outcome = Outcome("metadata-flood", expected, reply.observed, FAIL, fingerprints=[credential.fingerprint])
    refused = {grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE}
    size = sum(len(k) + len(v) for k, v in flood) // 1024
    if reply.code in SERVED:
        outcome.note = f"{size} KiB of metadata accepted: {_short(reply.details)}"
    elif reply.code not in refused:
        outcome.note = _short(reply.details)
    elif after.code not in SERVED:
        outcome.note = f"the gateway stopped serving afterwards: {after.observed}"
    elif leak := leak_in(reply):
        outcome.note = leak
    else:
        limit = re.search(r"exceeds (\w+ limit)", reply.details)
        told = f" ({limit.group(1)})" if limit else ""
        outcome.verdict, outcome.note = PASS, f"{size} KiB refused{told}; next call served"
    return outcome


def reflection(probe: Probe) -> Outcome:
    credential = probe.role("kizon-juki")
    parts = [
        expect_denied("reflection", DENIED, probe.stream(credential, m, [LIST_SERVICES]), credential, m)
        for m in REFLECTION
    ]
    return combine("reflection", DENIED + ", no list", parts, "v1alpha and v1: no service list")


def plaintext(probe: Probe) -> Outcome:
    channel = grpc.insecure_channel(probe.target, options=[("grpc.use_local_subchannel_pool", 1)])
    try:
        reply = probe.unary(None, GET_RECORD, PROBE_READ, channel=channel)
    finally:
        channel.close()
    expected = "refused"
    outcome = Outcome("plaintext", expected, reply.observed, FAIL)
    if reply.code != grpc.StatusCode.UNAVAILABLE:
        outcome.note = f"a cleartext call got an answer: {_short(reply.details)}"
        return outcome
    speaks_h2 = _raw_h2_preface(probe.target)
    if speaks_h2:
        outcome.note = speaks_h2
    else:
        outcome.verdict, outcome.note = PASS, "no HTTP/2 in clear (raw preface got no frames)"
    return outcome


def _raw_h2_preface(target: str) -> str | None:
    """Send the cleartext HTTP/2 preface and an empty SETTINGS frame; a TLS-only port answers
    with a TLS alert or closes. Returns what went wrong, or None."""
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=3) as sock:
            sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
            sock.settimeout(3)
            try:
                answer = sock.recv(64)
            except (TimeoutError, ConnectionResetError):
                return None
    except OSError as err:
        return f"cannot connect for the raw check: {err}"
    if len(answer) >= 9 and answer[3] == 0x04:
        return "the port speaks HTTP/2 without TLS (SETTINGS frame in clear)"
    return None


# ---------------------------------------------------------------- the certificate itself (issue 10)


def _off_profile(probe: Probe, attack: str, issuer: CertificateAuthority, defect: Defect = "none") -> Outcome:
    """A kizon-juki leaf for the policy's host kizon-juki-01, perfect but for one thing: it must
    be refused by the guard (the handshake lets it through), audited with that thing's rule."""
    leaf = issue_leaf(issuer, "kizon-juki", "kizon-juki-01", trust_domain=probe.trust_domain, defect=defect)
    credential = Credential(attack, leaf.cert_pem, leaf.key_pem)
    return expect_denied(attack, DENIED, probe.unary(credential, APPLY, _harmless_apply()), credential, APPLY)


def sibling_ca(probe: Probe) -> Outcome:
    """Another intermediate under the same root (as the 機構 would make for another municipality)
    mints the writer's SPIFFE ID."""
    sibling = probe.root().issue_intermediate(f"cs-gateway-probe sibling CA {secrets.token_hex(3)}")
    return _off_profile(probe, "sibling-ca", sibling)


def root_signed(probe: Probe) -> Outcome:
    return _off_profile(probe, "root-signed", probe.root())


def ca_true_leaf(probe: Probe) -> Outcome:
    return _off_profile(probe, "ca-true-leaf", probe.issuing(), "ca-true")


def no_client_auth(probe: Probe) -> Outcome:
    return _off_profile(probe, "no-client-auth", probe.issuing(), "no-client-auth")


def rsa_1024(probe: Probe) -> Outcome:
    return _off_profile(probe, "rsa-1024", probe.issuing(), "rsa-1024")


def sha1_signature(probe: Probe) -> Outcome:
    if shutil.which("openssl") is None:  # cryptography refuses to sign with SHA-1
        return skip("sha1-signature", DENIED, "needs the openssl command to sign with SHA-1")
    return _off_profile(probe, "sha1-signature", probe.issuing(), "sha1")


def expired_on_open_channel(probe: Probe) -> Outcome:
    """A certificate valid for a few more seconds: served, then, once expired, refused on the
    same connection (grpc checks validity at the handshake only)."""
    attack = "expired-on-open-channel"
    now = datetime.now(UTC)
    end = now + timedelta(seconds=EXPIRY_IN_S)
    credential = probe.issue(
        attack, "kizon-juki", "kizon-juki-01", not_before=now - timedelta(minutes=1), not_after=end
    )
    channel = probe.channel(credential)
    try:
        before = probe.unary(credential, GET_RECORD, PROBE_READ, channel=channel)
        if before.code not in SERVED:
            return Outcome(
                attack, DENIED, before.observed, FAIL, f"not served while valid: {_short(before.details)}",
                fingerprints=[credential.fingerprint],
            )  # fmt: skip
        time.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds()) + 1.2)
        reply = probe.unary(credential, GET_RECORD, PROBE_READ, channel=channel)
    finally:
        channel.close()
    if reply.code in SERVED:
        return Outcome(
            attack, DENIED, reply.observed, FAIL, "still served on its open connection after it expired",
            fingerprints=[credential.fingerprint],
        )  # fmt: skip
    return expect_denied(attack, DENIED, reply, credential, GET_RECORD, note="served, then refused once expired")


def _poll(probe: Probe, credential: Credential, channel: grpc.Channel, until: Callable[[Reply], bool]) -> list[Reply]:
    """Calls until `until` holds or the gateway had time to re-read its CRL; every reply."""
    replies = []
    started = time.monotonic()
    while True:
        replies.append(probe.unary(credential, GET_RECORD, PROBE_READ, channel=channel))
        if until(replies[-1]) or time.monotonic() - started >= REVOCATION_WAIT_S:
            return replies
        time.sleep(0.2)


def crl_rollback(probe: Probe) -> Outcome:
    """The CRL file from before a revocation is put back: the gateway must refuse everyone (fail
    closed) rather than serve the revoked certificate again; the newest CRL is then restored and
    the gateway must serve again. (Changes the PKI's crl.pem for a few seconds; restores it.)"""
    attack = "crl-rollback"
    rule = "revocation:CRL_ROLLED_BACK"
    witness = probe.issue(attack, "kizon-juki", "kizon-juki-01")
    victim = probe.issue(attack + "-victim", "kizon-juki", "kizon-juki-01")
    crl_path = probe.pki.crl_path
    before = crl_path.read_bytes()
    channel = probe.channel(witness)
    calls: list[GuardCall] = []
    fingerprints = [witness.fingerprint, victim.fingerprint]
    try:
        served = probe.unary(witness, GET_RECORD, PROBE_READ, channel=channel)
        if served.code not in SERVED:
            return Outcome(
                attack, DENIED, served.observed, FAIL, "the witness was not served", fingerprints=fingerprints
            )
        victim_channel = probe.channel(victim)
        try:
            if probe.unary(victim, GET_RECORD, PROBE_READ, channel=victim_channel).code not in SERVED:
                return Outcome(attack, DENIED, "-", FAIL, "the victim was not served", fingerprints=fingerprints)
            revoke(probe.pki.directory, x509.load_pem_x509_certificates(victim.chain_pem)[0].serial_number)
            # the gateway must have taken the newer CRL, or there is nothing to roll back from
            revoked = _poll(probe, victim, victim_channel, lambda r: r.code == grpc.StatusCode.PERMISSION_DENIED)
        finally:
            victim_channel.close()
        calls += [
            GuardCall(GET_RECORD, victim.fingerprint, "revocation:REVOKED") for r in revoked if r.code not in SERVED
        ]
        if revoked[-1].code != grpc.StatusCode.PERMISSION_DENIED:
            return Outcome(
                attack, DENIED, revoked[-1].observed, FAIL, "revocation not applied", fingerprints=fingerprints
            )
        newest = crl_path.read_bytes()
        write_file(crl_path, before, 0o644, overwrite=True)  # the rollback
        try:
            rolled = _poll(probe, witness, channel, lambda r: r.code == grpc.StatusCode.PERMISSION_DENIED)
            victim_reply = probe.unary(victim, GET_RECORD, PROBE_READ)
        finally:
            write_file(crl_path, newest, 0o644, overwrite=True)  # whatever happened: the newest CRL back
        restored = _poll(probe, witness, channel, lambda r: r.code in SERVED)
    finally:
        channel.close()
    for reply in rolled + restored:
        if reply.code == grpc.StatusCode.PERMISSION_DENIED:
            calls.append(GuardCall(GET_RECORD, witness.fingerprint, rule))
    if victim_reply.code == grpc.StatusCode.PERMISSION_DENIED:
        calls.append(GuardCall(GET_RECORD, victim.fingerprint, rule))
    outcome = Outcome(attack, DENIED, rolled[-1].observed, FAIL, fingerprints=fingerprints, guard_calls=calls)
    if victim_reply.code in SERVED:
        outcome.note = "the certificate revoked after that CRL was served again"
    elif rolled[-1].code != grpc.StatusCode.PERMISSION_DENIED:
        outcome.note = f"the old CRL was taken: still served {REVOCATION_WAIT_S:g} s after the rollback"
    elif restored[-1].code not in SERVED:
        outcome.note = "not served again after the newest CRL was restored"
    elif leak := leak_in(rolled[-1]):
        outcome.note = leak
    else:
        outcome.verdict = PASS
        outcome.note = "old CRL refused (everyone, fail closed); served again once the newest was back"
        outcome.refusals = [rolled[-1].body]
    return outcome


def audit_flood(probe: Probe) -> Outcome:
    """One certificate makes many denied calls: the gateway must cut it off (its trail bounded),
    visible from outside as a refusal even of a call it may make. Run last: it is cut off for the
    gateway's window (60 s by default)."""
    attack = "audit-flood"
    credential = probe.issue(attack, "kizon-juki", "kizon-juki-01")
    channel = probe.channel(credential)
    try:
        replies = [probe.unary(credential, TERMINAL_LOOKUP, b"", channel=channel) for _ in range(probe.flood_calls)]
        after = probe.unary(credential, GET_RECORD, PROBE_READ, channel=channel)
    finally:
        channel.close()
    expected = "cut off after the bound"
    outcome = Outcome(attack, expected, after.observed, FAIL, fingerprints=[credential.fingerprint])
    odd = [r for r in replies if r.code != grpc.StatusCode.PERMISSION_DENIED]
    if odd:
        outcome.note = f"{len(odd)} flood call(s) not refused: {odd[0].observed}"
    elif after.code in SERVED:
        outcome.note = f"not cut off: {probe.flood_calls} denials, each an audit entry, and still served"
    elif after.code != grpc.StatusCode.PERMISSION_DENIED or leak_in(after):
        outcome.note = leak_in(after) or _short(after.details)
    else:
        outcome.verdict = PASS
        outcome.note = f"{probe.flood_calls} denied calls, then cut off (even its own GetRecord refused)"
        outcome.refusals = [after.body]
    return outcome


def health(probe: Probe) -> Outcome:
    """The standard health service answers an authenticated role the policy lists (SERVING), and
    refuses the 宛名 system like any other RPC (its segment does not reach the CS)."""
    credential = probe.role("kizon-juki")
    channel = probe.channel(credential)
    answer: bytes | None = None
    try:
        call = channel.unary_unary(HEALTH_CHECK, request_serializer=None, response_deserializer=None)
        answer = call(b"", timeout=probe.timeout)
        observed = "SERVING" if answer == HEALTH_SERVING else f"OK {answer!r}"
    except grpc.RpcError as err:
        observed = _reply_of(err).observed
    finally:
        channel.close()
    served = Outcome("health", "SERVING", observed, FAIL, fingerprints=[credential.fingerprint])
    if answer == HEALTH_SERVING:
        served.verdict = PASS
    else:
        served.note = f"kizon-juki got {observed}, not SERVING"
    atena_credential = probe.role("atena")
    reply = probe.unary(atena_credential, HEALTH_CHECK, b"")
    refused = expect_denied("health", DENIED, reply, atena_credential, HEALTH_CHECK)
    return combine("health", HEALTH_EXPECTED, [served, refused], "kizon-juki: SERVING; atena: uniform refusal")


@dataclass(frozen=True)
class Attack:
    name: str
    run: Callable[[Probe], Outcome]
    expected: str
    in_netns: bool = False  # must run inside the namespace (--netns)
    needs_baseline: bool = False  # a refusal it expects looks like an outage


BASE_ATTACKS: tuple[Attack, ...] = (
    Attack("baseline", baseline, "served (INVALID_ARGUMENT)"),
    Attack("no-client-cert", no_client_cert, HANDSHAKE, needs_baseline=True),
    Attack("self-signed", self_signed_cert, HANDSHAKE, needs_baseline=True),
    Attack("other-ca", other_ca, HANDSHAKE, needs_baseline=True),
    Attack("expired", expired, HANDSHAKE, needs_baseline=True),
    Attack("not-yet-valid", not_yet_valid, HANDSHAKE, needs_baseline=True),
    Attack("revoked", revoked, DENIED),
    Attack("sibling-ca", sibling_ca, DENIED),
    Attack("root-signed", root_signed, DENIED),
    Attack("ca-true-leaf", ca_true_leaf, DENIED),
    Attack("no-client-auth", no_client_auth, DENIED),
    Attack("rsa-1024", rsa_1024, DENIED),
    Attack("sha1-signature", sha1_signature, DENIED),
    Attack("expired-on-open-channel", expired_on_open_channel, DENIED),
    Attack("crl-rollback", crl_rollback, DENIED),
    Attack("terminal-apply", terminal_apply, DENIED),
    Attack("kizon-juki-terminal-rpc", kizon_juki_terminal_rpc, DENIED),
    Attack("terminal-no-session", terminal_no_session, "UNAUTHENTICATED SESSION_REQUIRED x2"),
    Attack("login-brute-force", login_brute_force, f"{LOGIN_FAILED}, one answer"),
    Attack("atena", atena, DENIED + " x2"),
    Attack("outside-segment", outside_segment, DENIED, in_netns=True),
    Attack("unknown-mac", unknown_mac, DENIED, in_netns=True),
    Attack("oversized-message", oversized_message, "RESOURCE_EXHAUSTED"),
    Attack("metadata-flood", metadata_flood, "refused, gateway stays up", needs_baseline=True),
    Attack("reflection", reflection, DENIED + ", no list"),
    Attack("plaintext", plaintext, "refused", needs_baseline=True),
    Attack("health", health, HEALTH_EXPECTED),
    Attack("audit-flood", audit_flood, "cut off after the bound"),  # last: the certificate stays cut off
)


def uniform_refusals(outcomes: Sequence[Outcome]) -> Outcome | None:
    """Every PERMISSION_DENIED must have the same body, whatever rule refused (identity,
    revocation, network, policy): a different body would tell the caller which rule fired."""
    bodies: dict[str, list[str]] = {}
    for outcome in outcomes:
        for body in outcome.refusals:
            bodies.setdefault(body, []).append(outcome.attack)
    count = sum(len(v) for v in bodies.values())
    if count < 2:
        return None
    expected = "one refusal body for all rules"
    if len(bodies) == 1:
        return Outcome("uniform-refusal", expected, "identical", PASS, f"{count} refusals, one body")
    odd = sorted(bodies.values(), key=len)[0]
    return Outcome("uniform-refusal", expected, f"{len(bodies)} bodies", FAIL, f"differs: {', '.join(odd)}")


def environment_for_child() -> dict[str, str]:
    """The environment of the probe re-invoked inside a namespace: this checkout importable."""
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env
