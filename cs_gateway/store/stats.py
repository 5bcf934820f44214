"""Read-only figures about the store for the operator's metrics (read at scrape time, never on
the request path): the outbox's backlog and its oldest notice, the audit trail's length."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class StoreStats:
    outbox_backlog: int  # change notices not yet delivered to the 都道府県サーバー
    oldest_notice_at: datetime | None  # recorded_at of the oldest undelivered notice's update
    audit_entries: int  # entries ever appended (the chain's last seq; a prune does not lower it)


def read_stats(path: Path) -> StoreStats | None:
    """The figures, from a read-only connection of its own; None when the file cannot be read."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error:
        return None
    try:
        conn.execute("PRAGMA query_only=ON")
        (backlog,) = conn.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()
        oldest = conn.execute(
            "SELECT h.recorded_at FROM outbox o JOIN history h ON h.update_seq = o.update_seq "
            "WHERE o.delivered_at IS NULL ORDER BY o.update_seq LIMIT 1"
        ).fetchone()
        (last_seq,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM audit_log").fetchone()
        (anchored,) = conn.execute("SELECT COALESCE(MAX(last_seq), 0) FROM audit_anchor").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return StoreStats(
        outbox_backlog=int(backlog),
        oldest_notice_at=datetime.fromisoformat(oldest[0]) if oldest else None,
        audit_entries=max(int(last_seq), int(anchored)),
    )
