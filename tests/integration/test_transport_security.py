"""mTLS only, roles from certificates, deny by default, hardening limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest

from clients.synthetic import synthetic_entry, tennyu_request
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2 as upb
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2_grpc
from pki.dev_pki import IssuedCertificate, create_ca
from tests.conftest import InProcessGateway
from tests.grpc_helpers import error_info

OTHER_ROLES = ("cs", "terminal", "prefecture", "jlis", "atena")


def _calls(stub: update_service_pb2_grpc.UpdateServiceStub) -> dict[str, object]:
    code = synthetic_entry(1).juminhyo_code
    return {
        "Apply": lambda: stub.Apply(tennyu_request(1), timeout=10),
        "ApplyStream": lambda: list(stub.ApplyStream(iter([tennyu_request(1)]), timeout=10)),
        "GetRecord": lambda: stub.GetRecord(upb.GetRecordRequest(juminhyo_code=code), timeout=10),
        "GetHistory": lambda: stub.GetHistory(upb.GetHistoryRequest(juminhyo_code=code), timeout=10),
    }


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_only_kizon_juki_may_call_update_service(gateway: InProcessGateway, role: str) -> None:
    stub = gateway.stub(role)
    for name, call in _calls(stub).items():
        with pytest.raises(grpc.RpcError) as caught:
            call()  # type: ignore[operator]
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED, (role, name)
        assert error_info(caught.value).reason == "ACCESS_DENIED"
    assert gateway.running.store.last_update_seq() == 0


def test_refusal_is_the_same_whether_or_not_the_resident_exists(gateway: InProcessGateway) -> None:
    gateway.stub().Apply(tennyu_request(1), timeout=10)
    stub = gateway.stub("terminal")
    details = []
    for i in (1, 2):  # 1 exists, 2 does not
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetRecord(upb.GetRecordRequest(juminhyo_code=synthetic_entry(i).juminhyo_code), timeout=10)
        details.append((caught.value.code(), caught.value.details(), error_info(caught.value).reason))
    assert details[0] == details[1]


def _apply_with(gateway: InProcessGateway, issued: IssuedCertificate) -> pytest.ExceptionInfo[grpc.RpcError]:
    """One Apply with a client certificate made by the test; it must fail."""
    credentials = grpc.ssl_channel_credentials(
        root_certificates=gateway.pki.ca_cert_path.read_bytes(),
        private_key=issued.key_pem,
        certificate_chain=issued.cert_pem,
    )
    stub = update_service_pb2_grpc.UpdateServiceStub(grpc.secure_channel(f"localhost:{gateway.port}", credentials))
    with pytest.raises(grpc.RpcError) as caught:
        stub.Apply(tennyu_request(1), timeout=10)
    return caught


def test_client_without_certificate_cannot_connect(gateway: InProcessGateway) -> None:
    credentials = grpc.ssl_channel_credentials(root_certificates=gateway.pki.ca_cert_path.read_bytes())
    stub = update_service_pb2_grpc.UpdateServiceStub(grpc.secure_channel(f"localhost:{gateway.port}", credentials))
    with pytest.raises(grpc.RpcError) as caught:
        stub.Apply(tennyu_request(1), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert gateway.running.store.last_update_seq() == 0


def test_plaintext_connection_refused(gateway: InProcessGateway) -> None:
    stub = update_service_pb2_grpc.UpdateServiceStub(grpc.insecure_channel(f"localhost:{gateway.port}"))
    with pytest.raises(grpc.RpcError) as caught:
        stub.Apply(tennyu_request(1), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_certificate_from_another_ca_refused(gateway: InProcessGateway) -> None:
    rogue = create_ca("rogue CA").issue("kizon-juki", "kizon-juki-01", trust_domain=gateway.config.trust_domain)
    caught = _apply_with(gateway, rogue)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert gateway.running.store.last_update_seq() == 0


def test_expired_certificate_refused(gateway: InProcessGateway) -> None:
    now = datetime.now(UTC)
    expired = gateway.pki.load_ca().issue(
        "kizon-juki",
        "kizon-juki-01",
        trust_domain=gateway.config.trust_domain,
        not_before=now - timedelta(days=30),
        not_after=now - timedelta(days=1),
    )
    caught = _apply_with(gateway, expired)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_certificate_of_another_trust_domain_refused(gateway: InProcessGateway) -> None:
    foreign = gateway.pki.load_ca().issue("kizon-juki", "kizon-juki-01", trust_domain="aomori.jukinet.test")
    caught = _apply_with(gateway, foreign)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_unknown_method_refused_like_an_unauthorised_one(gateway: InProcessGateway) -> None:
    channel = gateway.channel()
    for method in (
        "/jukinet.cs.v1.UpdateService/DropTable",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    ):
        call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.RpcError) as caught:
            call(b"", timeout=10)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED, method


def test_oversized_message_refused(gateway: InProcessGateway) -> None:
    request = tennyu_request(1)
    request.change_reason_detail = "あ" * 100_000
    with pytest.raises(grpc.RpcError) as caught:
        gateway.stub().Apply(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert gateway.running.store.last_update_seq() == 0


def test_peer_outside_its_role_segment_refused_and_audited(tmp_path, dev_pki) -> None:  # noqa: ANN001
    """kizon-juki's segment is 198.51.100.0/24 here: the same valid certificate from loopback is refused."""
    import sqlite3

    from cs_gateway.config import load_config
    from cs_gateway.process import write_dev_config
    from cs_gateway.security.policy_file import default_policy_file
    from tests.conftest import in_process_gateway

    policy = default_policy_file().read_text(encoding="utf-8")
    head, sep, tail = policy.partition("[roles.kizon-juki]")
    moved = head + sep + tail.replace('segment = "loopback"', 'segment = "kizon-lan"', 1)
    assert moved != policy
    moved += '\n[segments.kizon-lan]\ncidrs = ["198.51.100.0/24"]\nreaches_cs = true\nmac_check = "required"\n'
    (tmp_path / "policy.toml").write_text(moved, encoding="utf-8")
    config_path = write_dev_config(tmp_path / "gw.toml", pki_dir=dev_pki.directory, store_path=tmp_path / "cs.sqlite3")
    config_path.write_text(config_path.read_text() + '\n[policy]\nfile = "policy.toml"\n')
    with in_process_gateway(load_config(config_path), dev_pki) as gw:
        with pytest.raises(grpc.RpcError) as caught:
            gw.stub().Apply(tennyu_request(1), timeout=10)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        conn = sqlite3.connect(f"file:{gw.config.store_path}?mode=ro", uri=True)
        rows = conn.execute("SELECT outcome, reason, peer FROM audit_log").fetchall()
        conn.close()
    assert rows == [("denied", "network:address-outside-segment", rows[0][2])]
    assert rows[0][2].startswith("ipv")
