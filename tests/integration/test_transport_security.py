"""mTLS only, roles from certificates, deny by default, hardening limits."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

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


def test_oversized_message_refused_with_a_reason_and_audited(gateway: InProcessGateway) -> None:
    """Over the configured limit (64 KiB here), the gateway refuses the request itself, unparsed:
    RESOURCE_EXHAUSTED with MESSAGE_TOO_LARGE, in the audit trail, nothing stored."""
    request = tennyu_request(1)
    request.change_reason_detail = "あ" * 30_000  # ~90 KB: over the limit, under grpc's own cap
    with pytest.raises(grpc.RpcError) as caught:
        gateway.stub().Apply(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_info(caught.value).reason == "MESSAGE_TOO_LARGE"
    assert _audit_rows(gateway)[-1] == ("/jukinet.cs.v1.UpdateService/Apply", "refused", "MESSAGE_TOO_LARGE")
    assert gateway.running.store.last_update_seq() == 0


def test_a_message_over_the_transport_cap_is_cut_by_grpc(gateway: InProcessGateway) -> None:
    """Over 4x the limit grpc drops the message before the application sees it (bounded memory):
    still RESOURCE_EXHAUSTED, but without a reason and unaudited (README: what is not enforced)."""
    request = tennyu_request(1)
    request.change_reason_detail = "あ" * 100_000  # ~300 KB > 4 x 64 KiB
    before = len(_audit_rows(gateway))
    with pytest.raises(grpc.RpcError) as caught:
        gateway.stub().Apply(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert len(_audit_rows(gateway)) == before
    assert gateway.running.store.last_update_seq() == 0


def _audit_rows(gateway: InProcessGateway) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(gateway.config.store_path)
    try:
        return conn.execute("SELECT action, outcome, reason FROM audit_log ORDER BY seq").fetchall()
    finally:
        conn.close()


def _raw(gateway: InProcessGateway, role: str, method: str, payload: bytes) -> grpc.RpcError:
    call = gateway.channel(role).unary_unary(method, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as caught:
        call(payload, timeout=10)
    return caught.value


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_unparsable_bytes_meet_the_guard_before_any_parser(gateway: InProcessGateway, role: str) -> None:
    """grpc is given no request deserializer: a caller without access gets the uniform denial
    for garbage as for a valid request (no parse error names a method or a message type)."""
    code = synthetic_entry(1).juminhyo_code
    for method, valid in (
        ("/jukinet.cs.v1.UpdateService/GetRecord", upb.GetRecordRequest(juminhyo_code=code).SerializeToString()),
        ("/jukinet.cs.v1.UpdateService/GetHistory", upb.GetHistoryRequest(juminhyo_code=code).SerializeToString()),
        ("/jukinet.cs.v1.UpdateService/NoSuchMethod", b""),
    ):
        seen = set()
        for payload in (valid, b"\xff\xff\xff"):
            error = _raw(gateway, role, method, payload)
            seen.add((error.code(), error.details(), error_info(error).reason))
        assert seen == {(grpc.StatusCode.PERMISSION_DENIED, "access denied", "ACCESS_DENIED")}, (role, method)
    rows = _audit_rows(gateway)
    assert len(rows) == 6 and {outcome for _, outcome, _ in rows} == {"denied"}


def test_unparsable_bytes_from_an_allowed_caller_are_refused_and_audited(gateway: InProcessGateway) -> None:
    for method in ("/jukinet.cs.v1.UpdateService/GetRecord", "/jukinet.cs.v1.UpdateService/GetHistory"):
        error = _raw(gateway, "kizon-juki", method, b"\xff\xff\xff")
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_info(error).reason == "MALFORMED_REQUEST"
        assert "GetRecordRequest" not in error.details() and "Wire format" not in error.details()
        assert _audit_rows(gateway)[-1] == (method, "refused", "MALFORMED_REQUEST")


def test_no_handler_reaches_grpc_with_a_request_parser() -> None:
    """What GuardedServer hands to grpc: every method takes bytes (parsing happens after the guard)."""
    from cs_gateway.api.guard import GuardedServer
    from cs_gateway.api.update_servicer import UpdateServicer

    class Recorder:
        def __init__(self) -> None:
            self.handlers: dict[str, grpc.RpcMethodHandler] = {}

        def add_registered_method_handlers(self, _service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
            self.handlers.update(handlers)

        def add_generic_rpc_handlers(self, _handlers: object) -> None:
            pass

    recorder = Recorder()
    guarded = GuardedServer(recorder, guard=SimpleNamespace(check=print), max_request_bytes=1024)  # type: ignore[arg-type]
    UpdateServicer(store=None).register(guarded)  # type: ignore[arg-type]
    assert set(recorder.handlers) == {"Apply", "ApplyStream", "GetRecord", "GetHistory"}
    assert all(h.request_deserializer is None for h in recorder.handlers.values())
    assert recorder.handlers["GetRecord"].response_serializer is not None  # replies are still messages


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
