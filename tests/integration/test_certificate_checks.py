"""What an outside tester broke in the certificate checks (issue 10), over real mTLS to a real
gateway process, each refusal checked in the audit trail it left:

- a leaf of a sibling intermediate under the same root, or of the root itself, with the writer's
  SPIFFE ID: refused (the issuer is pinned per role), and revocation is checked against the CRL
  of the leaf's actual issuer;
- a leaf that expires while its channel is open: refused on the next call;
- leaves off the profile (CA:TRUE, no clientAuth, RSA-1024, SHA-1): refused, each with its rule;
- a denied request that names a person carries the subject's HMAC (audit lookup finds it);
- grpc's metadata cap is exact (8 KiB), not between 8 and 16 KiB at random.

All certificates are made here, at test time.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from clients.synthetic import tennyu_request
from cs_gateway.audit.chain import SubjectHasher
from cs_gateway.audit.keys import load_or_create_hmac_key
from cs_gateway.config import load_config
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2 as upb
from cs_gateway.process import GatewayProcess, start_gateway_process, write_dev_config
from cs_gateway.security.spki import spki_sha256
from pki.crl import Revocation, build_crl
from pki.dev_pki import CertificateAuthority, DevPki, create_ca, init_dev_pki
from pki.off_profile import issue_leaf

REPO = Path(__file__).resolve().parents[2]
GET_RECORD = "/jukinet.cs.v1.UpdateService/GetRecord"
GET_HISTORY = "/jukinet.cs.v1.UpdateService/GetHistory"
APPLY = "/jukinet.cs.v1.UpdateService/Apply"
MALFORMED_READ = upb.GetRecordRequest(juminhyo_code="probe").SerializeToString()  # INVALID_ARGUMENT if served
A_CODE = "12345678901"  # a 住民票コード a caller without access asks about (format only; no such resident)


@dataclass
class Leaf:
    chain_pem: bytes
    key_pem: bytes

    @property
    def fingerprint(self) -> str:
        return x509.load_pem_x509_certificates(self.chain_pem)[0].fingerprint(hashes.SHA256()).hex()

    @property
    def serial(self) -> int:
        return x509.load_pem_x509_certificates(self.chain_pem)[0].serial_number


@dataclass
class Gateway:
    process: GatewayProcess
    pki: DevPki
    store: Path
    config: Path
    second: CertificateAuthority  # a second issuing CA, configured and pinned for kizon-juki only
    second_crl: Path

    def channel(self, leaf: Leaf) -> grpc.Channel:
        credentials = grpc.ssl_channel_credentials(self.pki.ca_cert_path.read_bytes(), leaf.key_pem, leaf.chain_pem)
        return grpc.secure_channel(
            self.process.target,
            credentials,
            options=[("grpc.ssl_target_name_override", "localhost"), ("grpc.use_local_subchannel_pool", 1)],
        )

    def call(
        self, leaf: Leaf, method: str = GET_RECORD, request: bytes = MALFORMED_READ, channel: grpc.Channel | None = None
    ) -> grpc.StatusCode:
        own = channel is None
        channel = channel or self.channel(leaf)
        try:
            channel.unary_unary(method)(request, timeout=10)
            return grpc.StatusCode.OK
        except grpc.RpcError as err:
            return err.code()  # type: ignore[attr-defined, no-any-return]
        finally:
            if own:
                channel.close()

    def denied(self, fingerprint: str) -> list[sqlite3.Row]:
        conn = sqlite3.connect(f"file:{self.store}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(
                "SELECT * FROM audit_log WHERE outcome = 'denied' AND cert_fingerprint = ? ORDER BY seq", (fingerprint,)
            ).fetchall()
        finally:
            conn.close()


def leaf_of(issued: object) -> Leaf:
    return Leaf(issued.cert_pem, issued.key_pem)  # type: ignore[attr-defined]


def _write_crl(ca: CertificateAuthority, path: Path, revoked: dict[int, Revocation], number: int) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    crl = build_crl(ca, revoked, this_update=now, next_update=now + timedelta(days=7), crl_number=number)
    path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))


def start(
    tmp: Path, pki: DevPki, *, policy_extra: str = "", config_extra: str = "", tls_extra: str = ""
) -> tuple[GatewayProcess, Path, Path]:
    store = tmp / "cs.sqlite3"
    config = write_dev_config(tmp / "gw.toml", pki_dir=pki.directory, store_path=store)
    policy = (REPO / "policy" / "default.toml").read_text(encoding="utf-8")
    if policy_extra:
        policy = policy.replace("[roles.kizon-juki]\n", f"[roles.kizon-juki]\n{policy_extra}\n", 1)
    (tmp / "policy.toml").write_text(policy, encoding="utf-8")
    text = config.read_text(encoding="utf-8").replace("\n[store]\n", f"{tls_extra}\n[store]\n", 1)
    config.write_text(text + f'\n[policy]\nfile = "{tmp / "policy.toml"}"\n{config_extra}', encoding="utf-8")
    with (tmp / "gateway.log").open("w", encoding="utf-8") as log:
        return start_gateway_process(config, stderr=log.fileno()), store, config


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("certchecks")
    pki = init_dev_pki(tmp / "pki")
    root = pki.load_root()
    second = root.issue_intermediate("cs-gateway test second issuing CA")
    (tmp / "second.crt").write_bytes(second.cert_pem)
    second_crl = tmp / "second-crl.pem"
    _write_crl(second, second_crl, {}, 1)
    pins = f'issuers = ["default", "{spki_sha256(second.cert)}"]'
    tls_extra = f'more_issuers = [{{cert = "{tmp / "second.crt"}", crl = "{second_crl}"}}]\n'
    process, store, config = start(tmp, pki, policy_extra=pins, tls_extra=tls_extra)
    try:
        yield Gateway(process, pki, store, config, second, second_crl)
    finally:
        process.stop()


def _assert_denied(gw: Gateway, leaf: Leaf, rule: str, method: str = GET_RECORD) -> sqlite3.Row:
    assert gw.call(leaf, method) == grpc.StatusCode.PERMISSION_DENIED
    rows = gw.denied(leaf.fingerprint)
    assert [r["reason"] for r in rows] == [rule], [dict(r) for r in rows]
    assert rows[0]["action"] == method and rows[0]["peer"].startswith("ipv4:127.0.0.1:")
    return rows[0]


# ---------------------------------------------------------------- 1. the issuer, pinned per role


def test_a_sibling_intermediate_cannot_mint_the_writer(gw: Gateway) -> None:
    sibling = gw.pki.load_root().issue_intermediate("another municipality's issuing CA")
    leaf = leaf_of(issue_leaf(sibling, "kizon-juki", "kizon-juki-01", trust_domain=gw.pki.trust_domain))
    row = _assert_denied(gw, leaf, "issuer:unknown-ca", APPLY)
    assert row["spiffe_id"].endswith("/kizon-juki/kizon-juki-01")


def test_the_root_cannot_mint_a_leaf(gw: Gateway) -> None:
    leaf = leaf_of(issue_leaf(gw.pki.load_root(), "kizon-juki", "kizon-juki-01", trust_domain=gw.pki.trust_domain))
    _assert_denied(gw, leaf, "issuer:root-signed", APPLY)


def test_a_ca_copying_the_issuing_cas_name_is_refused_on_its_signature(gw: Gateway) -> None:
    """Same subject name as the pinned intermediate, another key, under the same root."""
    real = gw.pki.load_ca()
    root = gw.pki.load_root()
    name = real.cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    forged_ca = root.issue_intermediate(str(name))
    assert forged_ca.cert.subject == real.cert.subject
    leaf = leaf_of(issue_leaf(forged_ca, "kizon-juki", "kizon-juki-01", trust_domain=gw.pki.trust_domain))
    _assert_denied(gw, leaf, "issuer:signature-invalid", APPLY)


def test_a_second_issuer_certifies_only_the_roles_pinned_to_it(gw: Gateway) -> None:
    writer = leaf_of(issue_leaf(gw.second, "kizon-juki", "kizon-juki-01", trust_domain=gw.pki.trust_domain))
    assert gw.call(writer) == grpc.StatusCode.INVALID_ARGUMENT  # served: kizon-juki is pinned to it
    terminal = leaf_of(issue_leaf(gw.second, "terminal", "terminal-01", trust_domain=gw.pki.trust_domain))
    _assert_denied(gw, terminal, "issuer:not-pinned-for-role")


def test_revocation_is_checked_against_the_crl_of_the_leafs_own_issuer(gw: Gateway) -> None:
    writer = leaf_of(issue_leaf(gw.second, "kizon-juki", "kizon-juki-01", trust_domain=gw.pki.trust_domain))
    channel = gw.channel(writer)
    try:
        assert gw.call(writer, channel=channel) == grpc.StatusCode.INVALID_ARGUMENT
        # the default issuer's CRL listing this serial means nothing for a leaf of the second CA
        from pki.crl import revoke

        revoke(gw.pki.directory, writer.serial, "key_compromise")
        time.sleep(1.5)
        assert gw.call(writer, channel=channel) == grpc.StatusCode.INVALID_ARGUMENT
        # ... its own issuer's CRL does
        record = Revocation(writer.serial, datetime.now(UTC).replace(microsecond=0), x509.ReasonFlags.key_compromise)
        _write_crl(gw.second, gw.second_crl, {writer.serial: record}, 2)
        deadline = time.monotonic() + 5
        while gw.call(writer, channel=channel) != grpc.StatusCode.PERMISSION_DENIED:
            assert time.monotonic() < deadline, "the second issuer's CRL was not applied"
            time.sleep(0.2)
    finally:
        channel.close()
    assert [r["reason"] for r in gw.denied(writer.fingerprint)] == ["revocation:REVOKED"]


# ---------------------------------------------------------------- 2. validity on every call


def test_a_leaf_that_expires_while_its_channel_is_open_is_refused_on_the_next_call(gw: Gateway) -> None:
    now = datetime.now(UTC)
    end = now + timedelta(seconds=3)
    issued = gw.pki.load_ca().issue(
        "kizon-juki",
        "kizon-juki-01",
        trust_domain=gw.pki.trust_domain,
        not_before=now - timedelta(minutes=1),
        not_after=end,
    )
    leaf = leaf_of(issued)
    channel = gw.channel(leaf)
    try:
        assert gw.call(leaf, channel=channel) == grpc.StatusCode.INVALID_ARGUMENT  # served while valid
        time.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds()) + 1.2)
        assert gw.call(leaf, channel=channel) == grpc.StatusCode.PERMISSION_DENIED  # same connection
    finally:
        channel.close()
    rows = gw.denied(leaf.fingerprint)
    assert [r["reason"] for r in rows] == ["validity:expired"]


# ---------------------------------------------------------------- 4. the client certificate profile


@pytest.mark.parametrize(
    ("defect", "rule"),
    [
        ("ca-true", "profile:ca-certificate"),
        ("no-client-auth", "profile:no-client-auth"),
        ("rsa-1024", "profile:rsa-key-too-short"),
        ("sha1", "profile:weak-signature"),
    ],
)
def test_a_leaf_off_the_profile_is_refused_with_its_own_rule(gw: Gateway, defect: str, rule: str) -> None:
    leaf = leaf_of(
        issue_leaf(gw.pki.load_ca(), "kizon-juki", "kizon-juki-01", trust_domain=gw.pki.trust_domain, defect=defect)  # type: ignore[arg-type]
    )
    _assert_denied(gw, leaf, rule)


def test_a_leaf_of_the_profile_from_the_same_helper_is_served(gw: Gateway) -> None:
    """The control: what the defects above differ from is accepted."""
    leaf = leaf_of(issue_leaf(gw.pki.load_ca(), "kizon-juki", "kizon-juki-01", trust_domain=gw.pki.trust_domain))
    assert gw.call(leaf) == grpc.StatusCode.INVALID_ARGUMENT
    assert gw.denied(leaf.fingerprint) == []


# ---------------------------------------------------------------- 5. the subject of a denied read


@pytest.mark.parametrize("method", [GET_RECORD, GET_HISTORY])
def test_a_denied_read_names_its_subject_in_the_trail(gw: Gateway, method: str) -> None:
    terminal = leaf_of(gw.pki.load_ca().issue("terminal", "terminal-01", trust_domain=gw.pki.trust_domain))
    request = (upb.GetRecordRequest if method == GET_RECORD else upb.GetHistoryRequest)(juminhyo_code=A_CODE)
    assert gw.call(terminal, method, request.SerializeToString()) == grpc.StatusCode.PERMISSION_DENIED
    (row,) = gw.denied(terminal.fingerprint)
    assert row["reason"] == "policy:role-not-allowed"
    hasher = SubjectHasher(load_or_create_hmac_key(load_config(gw.config).audit.hmac_key, may_create=False))
    assert row["subject_code_hmac"] == hasher.juminhyo_code(A_CODE)
    assert A_CODE not in " ".join(str(v) for v in dict(row).values())


def test_a_denied_apply_names_its_person_in_the_trail(gw: Gateway) -> None:
    terminal = leaf_of(gw.pki.load_ca().issue("terminal", "terminal-03", trust_domain=gw.pki.trust_domain))
    request = tennyu_request(3)
    assert gw.call(terminal, APPLY, request.SerializeToString()) == grpc.StatusCode.PERMISSION_DENIED
    (row,) = gw.denied(terminal.fingerprint)
    hasher = SubjectHasher(load_or_create_hmac_key(load_config(gw.config).audit.hmac_key, may_create=False))
    assert row["subject_code_hmac"] == hasher.juminhyo_code(request.entry.juminhyo_code)
    assert row["subject_number_hmac"] == hasher.individual_number(request.entry.individual_number)


def test_a_denied_request_that_does_not_parse_names_nobody(gw: Gateway) -> None:
    terminal = leaf_of(gw.pki.load_ca().issue("terminal", "terminal-02", trust_domain=gw.pki.trust_domain))
    assert gw.call(terminal, GET_RECORD, b"\xff\xff\xff") == grpc.StatusCode.PERMISSION_DENIED
    (row,) = gw.denied(terminal.fingerprint)
    assert row["subject_code_hmac"] == ""


# ---------------------------------------------------------------- 5. the metadata cap is exact


def _call_with_metadata(gw: Gateway, channel: grpc.Channel, size: int) -> grpc.StatusCode:
    per = 100
    metadata = [(f"x-pad-{i:04d}", "p" * (per - 32 - 10)) for i in range(size // per)]  # ~per bytes each (HPACK)
    try:
        channel.unary_unary(GET_RECORD)(MALFORMED_READ, timeout=10, metadata=metadata)
        return grpc.StatusCode.OK
    except grpc.RpcError as err:
        return err.code()  # type: ignore[attr-defined, no-any-return]


def test_metadata_over_the_cap_is_refused_every_time_and_under_it_never(gw: Gateway) -> None:
    leaf = Leaf(gw.pki.cert_path("kizon-juki").read_bytes(), gw.pki.key_path("kizon-juki").read_bytes())
    channel = gw.channel(leaf)
    try:
        under = {_call_with_metadata(gw, channel, 6 * 1024) for _ in range(10)}
        over = {_call_with_metadata(gw, channel, 9 * 1024) for _ in range(20)}
    finally:
        channel.close()
    assert under == {grpc.StatusCode.INVALID_ARGUMENT}  # served (the read is malformed on purpose)
    assert over == {grpc.StatusCode.RESOURCE_EXHAUSTED}  # soft limit alone: refused only now and then


def test_an_other_ca_is_still_refused_in_the_handshake(gw: Gateway) -> None:
    """Unchanged: a CA outside the trust anchors never gets a TLS session (nor an audit entry)."""
    foreign = create_ca("a foreign CA")
    leaf = leaf_of(foreign.issue("kizon-juki", "kizon-juki-01", trust_domain=gw.pki.trust_domain))
    assert gw.call(leaf) == grpc.StatusCode.UNAVAILABLE
    assert gw.denied(leaf.fingerprint) == []
