"""The CS as a client of the 都道府県サーバー (or of the 全国サーバー, which serves the same
PrefectureService) for the consistency check: the peer's copy over mTLS, after the same in-code
check of the server's certificate as the notifier (peer_check.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc

from ..config import GatewayConfig
from ..gen.jukinet.cs.v1 import prefecture_service_pb2 as pb
from ..gen.jukinet.cs.v1 import prefecture_service_pb2_grpc as pb_grpc
from ..security.certificate_gate import CertificateGate
from .peer_check import PeerVerdict, fetch_server_certificate, judge_peer

TIMEOUT_S = 120.0
CHUNK = 2000  # prefixes or codes per request (bounded messages)


class PeerRefusedError(Exception):
    """The peer's certificate is not acceptable: nothing was asked or sent."""

    def __init__(self, verdict: PeerVerdict) -> None:
        super().__init__(f"the peer was refused: {verdict.rule}")
        self.verdict = verdict


class PrefectureCopyClient:
    """app.consistency.PeerCopy over PrefectureService; counts the bytes it received."""

    def __init__(
        self, config: GatewayConfig, gate: CertificateGate, *, target: str, server_name: str, role: str = "prefecture"
    ) -> None:
        """``role``: the role the server must present (prefecture, or jlis for the 全国サーバー's copy)."""
        tls = config.tls
        leaf = fetch_server_certificate(target, server_name=server_name, ca=tls.ca, cert=tls.cert, key=tls.key)
        self.verdict = judge_peer(gate, leaf, role)
        if not self.verdict.ok:
            raise PeerRefusedError(self.verdict)
        credentials = grpc.ssl_channel_credentials(
            root_certificates=Path(tls.ca).read_bytes(),
            private_key=Path(tls.key).read_bytes(),
            certificate_chain=Path(tls.cert).read_bytes(),
        )
        self._channel = grpc.secure_channel(
            target,
            credentials,
            options=[("grpc.ssl_target_name_override", server_name), ("grpc.max_receive_message_length", 64 << 20)],
        )
        self._stub = pb_grpc.PrefectureServiceStub(self._channel)
        self.bytes_received = 0

    def close(self) -> None:
        self._channel.close()

    def nodes(self, prefixes: list[str], depth: int) -> dict[str, tuple[bytes, int]]:
        out: dict[str, tuple[bytes, int]] = {}
        for i in range(0, len(prefixes), CHUNK):
            reply = self._stub.TreeNodes(
                pb.TreeNodesRequest(prefixes=prefixes[i : i + CHUNK]),
                timeout=TIMEOUT_S,
                metadata=(("x-tree-depth", str(depth)),),
            )
            self.bytes_received += reply.ByteSize()
            out.update({n.prefix: (n.hash, n.count) for n in reply.nodes})
        return out

    def buckets(self, prefixes: list[str], depth: int) -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = []
        for i in range(0, len(prefixes), CHUNK):
            reply = self._stub.Buckets(
                pb.BucketRequest(prefixes=prefixes[i : i + CHUNK]),
                timeout=TIMEOUT_S,
                metadata=(("x-tree-depth", str(depth)),),
            )
            self.bytes_received += reply.ByteSize()
            out += [(e.juminhyo_code, e.record_hash) for e in reply.entries]
        return out

    def records(self, codes: list[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for i in range(0, len(codes), CHUNK):
            reply = self._stub.Records(pb.RecordsRequest(juminhyo_codes=codes[i : i + CHUNK]), timeout=TIMEOUT_S)
            self.bytes_received += reply.ByteSize()
            out.update({r.juminhyo_code: r.body for r in reply.records})
        return out

    def full_file(self) -> Iterator[tuple[str, bytes]]:
        for record in self._stub.FullFile(pb.FullFileRequest(), timeout=TIMEOUT_S):
            self.bytes_received += record.ByteSize()
            yield record.juminhyo_code, record.body
