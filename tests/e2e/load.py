"""Load for the fault tests: the 既存住基 side streaming 転入 updates until the gateway fails."""

from __future__ import annotations

import threading

import grpc

from clients.synthetic import tennyu_request
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2_grpc
from pki.dev_pki import DevPki
from tests.conftest import channel_for


def stream_until_failure(
    pki: DevPki, port: int, total: int, acked: dict[str, int], progress: threading.Event, *, signal_after: int
) -> None:
    """ApplyStream of tennyu_request(0 .. total-1); every acknowledged request id -> 更新順番号 in
    ``acked``; ``progress`` is set once ``signal_after`` are acknowledged (or the stream ended)."""
    stub = update_service_pb2_grpc.UpdateServiceStub(channel_for(pki, "kizon-juki", port))
    try:
        for result in stub.ApplyStream((tennyu_request(i) for i in range(total)), timeout=120):
            assert result.WhichOneof("outcome") == "record", result.refusal.reason
            acked[result.request_id] = result.record.update_seq
            if len(acked) >= signal_after:
                progress.set()
    except grpc.RpcError:
        pass  # the gateway failed under us: expected
    finally:
        progress.set()
