"""GetRecord / GetHistory read through the store's read port, awaited on the event loop: no
thread is parked waiting for the audit entry (asyncio.to_thread(...).result(30) before)."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from clients.synthetic import tennyu_request
from cs_gateway.api.convert import update_from_proto
from cs_gateway.app.read_records import get_history, get_record
from cs_gateway.domain.record import IdentityRecord, UpdateCommand
from tests.conftest import TEST_ACTOR, AuditedApply, new_store

SERVICE = "/jukinet.cs.v1.UpdateService/"


class NoThreads(ThreadPoolExecutor):
    """The loop's default executor, refusing work: a read that needs to_thread fails."""

    def submit(self, fn, /, *args, **kwargs) -> Future:  # noqa: ANN001, ANN002, ANN003
        raise AssertionError("a read went to the loop's default executor")


def test_many_concurrent_reads_are_awaited_without_the_loops_thread_pool(tmp_path: Path) -> None:
    store = new_store(tmp_path / "cs.sqlite3")
    try:
        apply = AuditedApply(store)
        codes = []
        for i in range(1, 6):
            cmd = update_from_proto(tennyu_request(i))
            assert isinstance(cmd, UpdateCommand)
            assert apply.submit(cmd).result(30).record is not None
            codes.append(cmd.entry.juminhyo_code)

        async def reads() -> list[object]:
            asyncio.get_running_loop().set_default_executor(NoThreads(1))
            calls = [
                use(store.reads, store, code, actor=TEST_ACTOR, action=SERVICE + name)
                for code in codes * 20
                for use, name in ((get_record, "GetRecord"), (get_history, "GetHistory"))
            ]
            return await asyncio.gather(*calls)

        found = asyncio.run(reads())
        assert len(found) == 200
        records = found[0::2]
        histories = found[1::2]
        assert all(isinstance(r, IdentityRecord) for r in records)
        assert [r.juminhyo_code for r in records[:5]] == codes  # type: ignore[union-attr]
        assert all(isinstance(h, list) and len(h) == 1 for h in histories)
        entries = store.last_update_seq()
        assert entries == 5
    finally:
        store.close()
