"""The operator's surface over real connections: the gRPC health service on the mTLS port
(behind the guard and the policy), and the Prometheus metrics on their own loopback listener,
scraped over HTTP after a known load."""

from __future__ import annotations

import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clients.synthetic import tennyu_request
from tests.conftest import InProcessGateway
from tests.grpc_helpers import error_info
from tests.metrics_helpers import scrape, value, with_name

UPDATE_SERVICE = "jukinet.cs.v1.UpdateService"
APPLY = "/jukinet.cs.v1.UpdateService/Apply"
APPLY_STREAM = "/jukinet.cs.v1.UpdateService/ApplyStream"
SERVING = health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("role", ["kizon-juki", "terminal", "prefecture", "jlis", "cs"])
def test_every_authenticated_role_gets_serving_from_the_health_service(gateway: InProcessGateway, role: str) -> None:
    stub = health_pb2_grpc.HealthStub(gateway.channel(role))
    for service in ("", UPDATE_SERVICE):
        assert stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status == SERVING
    with pytest.raises(grpc.RpcError) as caught:
        stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_health_watch_streams_the_current_status(gateway: InProcessGateway) -> None:
    stub = health_pb2_grpc.HealthStub(gateway.channel("kizon-juki"))
    watch = stub.Watch(health_pb2.HealthCheckRequest(service=UPDATE_SERVICE), timeout=10)
    assert next(watch).status == SERVING
    watch.cancel()


def test_health_refuses_the_in_house_system_like_any_other_rpc(gateway: InProcessGateway) -> None:
    stub = health_pb2_grpc.HealthStub(gateway.channel("atena"))
    with pytest.raises(grpc.RpcError) as caught:
        stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_info(caught.value).reason == "ACCESS_DENIED"


def _metrics_address(gateway: InProcessGateway) -> tuple[str, int]:
    listener = gateway.running.metrics_listener
    assert listener is not None
    assert listener.host == "127.0.0.1"  # loopback by default
    return listener.host, listener.port


def test_a_scrape_after_a_known_load_shows_its_counts(gateway: InProcessGateway) -> None:
    stub = gateway.stub()
    for i in range(20):
        stub.Apply(tennyu_request(i), timeout=10)
    for i in range(3):  # already resident: ALREADY_EXISTS / ALREADY_RESIDENT
        with pytest.raises(grpc.RpcError):
            stub.Apply(tennyu_request(i, request_prefix="again"), timeout=10)
    stream = [tennyu_request(i) for i in range(100, 108)] + [tennyu_request(i, request_prefix="dup") for i in (0, 1)]
    results = list(stub.ApplyStream(iter(stream), timeout=30))
    assert [r.WhichOneof("outcome") for r in results].count("refusal") == 2
    terminal = gateway.stub("terminal")
    for i in range(2):
        with pytest.raises(grpc.RpcError):
            terminal.Apply(tennyu_request(200 + i), timeout=10)

    # A call is counted as it ends on the server, which may be just after its caller got the
    # status (a denial: abort sends it, then the handler ends): wait for the last one's count.
    deadline = time.monotonic() + 5
    samples = scrape(*_metrics_address(gateway))
    while value(samples, "cs_gateway_rpcs_total", method=APPLY, code="PERMISSION_DENIED") < 2:
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
        samples = scrape(*_metrics_address(gateway))
    assert value(samples, "cs_gateway_rpcs_total", method=APPLY, code="OK") == 20
    assert value(samples, "cs_gateway_rpcs_total", method=APPLY, code="ALREADY_EXISTS") == 3
    assert value(samples, "cs_gateway_rpcs_total", method=APPLY, code="PERMISSION_DENIED") == 2
    assert value(samples, "cs_gateway_rpcs_total", method=APPLY_STREAM, code="OK") == 1
    assert value(samples, "cs_gateway_refusals_total", reason="ALREADY_RESIDENT") == 5
    assert value(samples, "cs_gateway_refusals_total", reason="policy:role-not-allowed") == 2
    jobs = 20 + 3 + 10 + 2  # updates and refusals, each with its audit entry; the two denials' entries
    assert value(samples, "cs_gateway_store_batch_size_sum") == jobs
    batches = value(samples, "cs_gateway_store_batch_size_count")
    assert 1 <= batches <= jobs
    assert value(samples, "cs_gateway_store_batch_commit_seconds_count") == batches
    assert value(samples, "cs_gateway_store_batch_commit_seconds_sum") > 0
    assert value(samples, "cs_gateway_audit_entries_total") == jobs
    assert value(samples, "cs_gateway_outbox_backlog") == 28  # nothing drains the outbox yet
    assert 0 <= value(samples, "cs_gateway_outbox_oldest_age_seconds") < 600
    assert value(samples, "cs_gateway_crl_usable") == 1
    assert 0 <= value(samples, "cs_gateway_crl_age_seconds") < 3600
    assert value(samples, "cs_gateway_crl_next_update_seconds") > 0
    expiry = with_name(samples, "cs_gateway_certificate_expiry_days")
    files = {dict(labels)["file"] for labels in expiry}
    assert files == {"tls.cert", "tls.ca", "tls.crl_issuer"}
    assert all(days > 1 for days in expiry.values())


def test_metrics_carry_no_identifier(gateway: InProcessGateway) -> None:
    gateway.stub().Apply(tennyu_request(7), timeout=10)
    samples = scrape(*_metrics_address(gateway))
    text = repr(samples)
    assert tennyu_request(7).entry.juminhyo_code not in text
