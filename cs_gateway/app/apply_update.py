"""Use case: apply one update from the 既存住基システム.

Format checks run first (no state needed); the logic checks run inside the store's write
transaction, against the state the update will be applied to.
"""

from __future__ import annotations

from concurrent.futures import Future

from ..clock import Today
from ..domain.format_checks import FormatContext, check_command
from ..domain.logic_checks import Accepted, decide
from ..domain.record import UpdateCommand
from ..domain.registry import RegistryView
from ..domain.violations import Violation
from ..store.interface import UpdateStore, WriteRequest, WriteResult


def refused(violation: Violation) -> Future[WriteResult]:
    future: Future[WriteResult] = Future()
    future.set_result(WriteResult(record=None, violation=violation))
    return future


class ApplyUpdate:
    def __init__(self, store: UpdateStore, *, municipality_code: str, today: Today) -> None:
        self._store = store
        self._municipality_code = municipality_code
        self._today = today

    def submit(self, cmd: UpdateCommand) -> Future[WriteResult]:
        """Queue the update; the future resolves once it is durably stored or refused."""
        today = self._today()
        found = check_command(cmd, FormatContext(today=today, municipality_code=self._municipality_code))
        if found is not None:
            return refused(found)

        def decide_in_tx(view: RegistryView) -> Accepted | Violation:
            return decide(cmd, view, today)

        return self._store.submit(
            WriteRequest(request_id=cmd.request_id, fingerprint=cmd.fingerprint(), decide=decide_in_tx)
        )
