"""The operator hears of failing writes (a full or failing disk) and of their end, without a
line per failed batch."""

from __future__ import annotations

from structlog.testing import capture_logs

from cs_gateway.store.interface import StoreError
from cs_gateway.store.sqlite_store import _WriteHealth


def test_failing_batches_are_reported_at_most_every_ten_seconds_and_the_recovery_once() -> None:
    now = [100.0]
    health = _WriteHealth(clock=lambda: now[0])
    failure = StoreError("commit failed: OperationalError")
    with capture_logs() as logs:
        health.batch_done([object()], 3, stored_update=True)  # fine: nothing to say
        for step in range(25):  # 25 failed batches over 12 s
            now[0] = 100.0 + step * 0.5
            health.batch_done(failure, 4, stored_update=False)
            # audit entries alone may still fit on a full disk: that is no recovery
            health.batch_done([object()], 1, stored_update=False)
        now[0] = 113.0
        health.batch_done([object()], 2, stored_update=True)
        health.batch_done([object()], 2, stored_update=True)
    events = [(e["event"], e.get("batches"), e.get("batches_since_last_line")) for e in logs]
    assert events == [
        ("store_writes_failing", 1, None),  # at once
        ("store_writes_failing", 20, None),  # 10 s later, with the count since
        ("store_writes_resumed", None, 4),  # once, when an update is stored again
    ]
    assert logs[0]["error"] == "commit failed: OperationalError"
    assert (logs[1]["jobs"], logs[2]["jobs_since_last_line"]) == (80, 16)
    assert logs[2]["failed_for_s"] == 13.0
