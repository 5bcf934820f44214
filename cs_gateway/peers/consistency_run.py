"""``cs-gateway consistency check --peer prefecture|jlis``: run the check, audit it, print the report.

The CS's side is read from the store file (one read transaction, read-only); the run is
appended to the audit trail (one entry for the run, one per differing 住民票コード with the code as
the trail keeps subjects: a keyed hash), like every local command. The printed report masks the
codes (domain/masking.py): the full codes are for the audit trail's protected fields only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from ..app.consistency import DIFFERS, MISSING_AT_PEER, CheckReport, check_by_tree, check_full
from ..audit.event import DENIED, OK, REFUSED, Actor, AuditEvent
from ..audit.local_ops import append_committed, local_actor, trail_for
from ..config import GatewayConfig
from ..domain.consistency_tree import HashTree
from ..domain.masking import mask_identifier
from ..domain.notice_encoding import encode_record
from ..security.certificate_gate import CertificateGate
from ..store.local import AppendingStore
from ..store.sqlite_tx import SqliteReader, open_reader
from .prefecture_client import PeerRefusedError, PrefectureCopyClient

ACTION = "consistency.check"
EXIT_AGREES, EXIT_DIFFERS, EXIT_REFUSED = 0, 1, 3
PEERS = ("prefecture", "jlis")


class StoreCopy:
    """The CS's file as the check reads it (app.consistency.LocalCopy), on a read-only reader
    of the store: the tree from the stored record digests, bodies only of the records asked for."""

    def __init__(self, reader: SqliteReader) -> None:
        self._reader = reader
        self._rows: list[tuple[bytes, bytes]] | None = None

    def _digest_rows(self) -> list[tuple[bytes, bytes]]:
        if self._rows is None:
            self._rows = self._reader.current_digest_rows()
        return self._rows

    def count(self) -> int:
        return len(self._digest_rows())

    def tree(self, depth: int) -> HashTree:
        return HashTree.from_rows(self._digest_rows(), depth)

    def records(self, codes: list[str]) -> dict[str, bytes]:
        return {code: encode_record(items) for code, items in self._reader.current_records_of(codes).items()}

    def full_file(self) -> Iterator[tuple[str, bytes]]:
        for code, items in self._reader.current_records():
            yield code, encode_record(items)


def render(report: CheckReport, peer: str, seconds: float, bytes_received: int) -> str:
    lines = [
        f"consistency check with the {peer}, mode {report.mode}: "
        + ("AGREES" if report.agrees else f"{len(report.differences)} DIFFERENCES"),
        f"  records: CS {report.local_records}, {peer} {report.peer_records}; "
        f"tree nodes compared {report.nodes_asked}; bytes received {bytes_received}; {seconds:.2f} s",
    ]
    for d in report.differences:
        how = {MISSING_AT_PEER: f"missing at the {peer}", DIFFERS: "differs: " + ", ".join(d.items)}.get(
            d.kind, "missing at the CS"
        )
        lines.append(f"  {mask_identifier(d.juminhyo_code)}  {how}")
    return "\n".join(lines)


def run_check(
    config: GatewayConfig,
    gate: CertificateGate,
    *,
    mode: str = "tree",
    peer: str = "prefecture",
    echo: Callable[[str], None] = print,
) -> int:
    """Check against ``peer``: the 都道府県サーバー ([prefecture]) or the 機構's 全国サーバー
    ([jlis], which must present role jlis from its pinned issuer)."""
    if peer not in PEERS:
        raise ValueError(f"unknown peer {peer!r}: one of {', '.join(PEERS)}")
    peer_config = config.prefecture if peer == "prefecture" else config.jlis
    if peer_config is None:
        raise ValueError(f"no [{peer}] section in the configuration: nothing to check against")
    actor = local_actor()
    with AppendingStore(config.store_path) as store:
        trail = trail_for(config)
        try:
            client = PrefectureCopyClient(
                config, gate, target=peer_config.target, server_name=peer_config.server_name, role=peer
            )
        except PeerRefusedError as err:
            identity = err.verdict.identity
            who = Actor(
                spiffe_id=identity.spiffe_id if identity else "",
                cert_fingerprint=identity.fingerprint_sha256 if identity else "",
                peer=peer_config.target,
                operator_id=actor.spiffe_id,
            )
            append_committed(
                store, trail, AuditEvent(action=ACTION, outcome=DENIED, actor=who, reason=str(err.verdict.rule))
            )
            echo(f"consistency check refused: the peer's certificate fails {err.verdict.rule}; nothing was asked")
            return EXIT_REFUSED
        try:
            started = time.monotonic()
            reader = open_reader(config.store_path, config.number_key)
            try:
                local = StoreCopy(reader)
                report = check_by_tree(local, client) if mode == "tree" else check_full(local, client)
            finally:
                reader.close()
            seconds = time.monotonic() - started
        finally:
            client.close()
        detail = (
            f"peer {peer} {peer_config.target}; mode {report.mode}; CS {report.local_records} records, "
            f"peer {report.peer_records}; {len(report.differences)} differences; {client.bytes_received} bytes"
        )
        append_committed(
            store,
            trail,
            AuditEvent(
                action=ACTION,
                outcome=OK if report.agrees else REFUSED,
                actor=actor,
                detail=detail,
                reason="" if report.agrees else "COPIES_DIFFER",
            ),
        )
        for d in report.differences:
            append_committed(
                store,
                trail,
                AuditEvent(
                    action=ACTION + ".difference",
                    outcome=REFUSED,
                    actor=actor,
                    reason=d.kind.upper(),
                    subject_juminhyo_code=d.juminhyo_code,
                    detail=", ".join(d.items),
                ),
            )
    echo(render(report, peer, seconds, client.bytes_received))
    return EXIT_AGREES if report.agrees else EXIT_DIFFERS
