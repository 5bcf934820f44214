"""The read port for the event loop (port.AsyncReadPort) on the SQLite file.

Each read runs on a reader thread of its own pool, on that thread's read-only connection (WAL:
readers never wait for the writer), and the caller awaits it: the event loop never blocks on a
query, and no thread waits on another one's result.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from ..domain.record import IdentityRecord
from ..domain.registry import StoredPerson
from .sqlite_tx import SqliteReader, open_reader

T = TypeVar("T")


class SqliteReads:
    def __init__(self, path: Path, *, threads: int = 2, number_key: Path | None = None) -> None:
        self._path = Path(path)
        self._number_key = number_key
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="store-read")
        self._local = threading.local()
        self._opened: list[SqliteReader] = []
        self._lock = threading.Lock()

    def _reader(self) -> SqliteReader:
        reader: SqliteReader | None = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._local.reader = open_reader(self._path, self._number_key)
            with self._lock:
                self._opened.append(reader)
        return reader

    async def _run(self, read: Callable[[SqliteReader], T]) -> T:
        return await asyncio.wrap_future(self._pool.submit(lambda: read(self._reader())))

    async def find(self, juminhyo_code: str) -> StoredPerson | None:
        return await self._run(lambda reader: reader.find(juminhyo_code))

    async def history(self, juminhyo_code: str) -> list[IdentityRecord]:
        return await self._run(lambda reader: reader.history(juminhyo_code))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        with self._lock:
            for reader in self._opened:
                reader.close()
            self._opened.clear()
