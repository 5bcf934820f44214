"""Change notices acknowledged by the 都道府県サーバー: marked delivered, durably, with their audit
entry in the same transaction (a command of the store's writer like any other write).

A notice leaves the outbox only through this command, and only for the 更新順番号 that the
prefecture acknowledged (peers/notifier.py); a redelivery after a crash marks nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..audit.event import OK, Actor, AuditEvent
from ..store.port import Transaction

ACTION = "peers.prefecture.notices_delivered"


@dataclass(frozen=True, slots=True)
class MarkDelivered:
    update_seqs: tuple[int, ...]  # acknowledged by the prefecture, in 更新順番号 order
    peer: Actor  # the prefecture server as its certificate named it


def mark_delivered(tx: Transaction, command: MarkDelivered) -> int:
    """Handler of MarkDelivered: the notices newly marked (0 if all were marked before)."""
    seqs = command.update_seqs
    if not seqs:
        return 0
    marked = tx.mark_delivered(seqs)
    tx.append_audit(
        AuditEvent(
            action=ACTION,
            outcome=OK,
            actor=command.peer,
            update_seq=seqs[-1],
            detail=f"acknowledged {len(seqs)} notices {seqs[0]}..{seqs[-1]}, newly marked {marked}",
        )
    )
    return marked
