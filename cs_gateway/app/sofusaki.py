"""送付先情報 in the CS's store: received from 既存住基 (stored exactly as it arrived, with its
SHA-256 digest and audit entry, in one transaction) and marked forwarded once the 機構 has
acknowledged it (peers/jlis_forwarder.py). Both are commands of the store's writer."""

from __future__ import annotations

from dataclasses import dataclass

from ..audit.event import OK, Actor, AuditEvent
from ..store.port import Transaction

RECEIVED_ACTION = "/jukinet.cs.v1.SofusakiService/Submit"
FORWARDED_ACTION = "peers.jlis.sofusaki_forwarded"


@dataclass(frozen=True, slots=True)
class StoreSofusaki:
    body: bytes  # the SofusakiInfo bytes exactly as received (format already checked)
    digest: bytes  # SHA-256(body)
    actor: Actor  # 既存住基 as its certificate named it

    def __repr__(self) -> str:  # the body holds a 個人番号: never in a log line
        return f"StoreSofusaki(digest={self.digest.hex()[:16]}…, {len(self.body)} bytes)"


@dataclass(frozen=True, slots=True)
class MarkSofusakiForwarded:
    seqs: tuple[int, ...]  # acknowledged by the 機構, in order
    peer: Actor


def store_sofusaki(tx: Transaction, command: StoreSofusaki) -> int:
    """Handler of StoreSofusaki: the stored 送付先情報's number (the forwarding order)."""
    seq = tx.store_sofusaki(command.body, command.digest)
    tx.append_audit(
        AuditEvent(
            action=RECEIVED_ACTION,
            outcome=OK,
            actor=command.actor,
            detail=f"送付先情報 {seq} stored ({len(command.body)} bytes)",
        )
    )
    return seq


def mark_sofusaki_forwarded(tx: Transaction, command: MarkSofusakiForwarded) -> int:
    seqs = command.seqs
    if not seqs:
        return 0
    marked = tx.mark_sofusaki_forwarded(seqs)
    tx.append_audit(
        AuditEvent(
            action=FORWARDED_ACTION,
            outcome=OK,
            actor=command.peer,
            detail=f"送付先情報 {seqs[0]}..{seqs[-1]} acknowledged by the 機構, newly marked {marked}",
        )
    )
    return marked


SOFUSAKI_HANDLERS = {StoreSofusaki: store_sofusaki, MarkSofusakiForwarded: mark_sofusaki_forwarded}
