"""``cs-gateway store import FILE``: the 初期移行 (initial data migration) of a CS being commissioned.

The 既存住基システム exports its 本人確認情報 as JSON Lines, one person per line, each line the
記載 of that person as an update would carry it (domain/import_line.py: the UpdateRequest's items,
a creating 異動事由 such as 転入, 出生, 職権記載). Every line goes through the update's own
checks: the format checks (domain/format_checks.py) and the logic checks of its 異動事由 against
an empty file (domain/logic_checks.decide, which also builds the stored record), then one
住民票コード and one 個人番号 per person across the whole file. The first line refused stops the
import: the error names the line, the item and the reason code, nothing is stored, and the
refusal is audited.

The accepted records are written by store/bulk_import.py in one transaction with one audit entry
(``store.import``: record count and the file's SHA-256, by the local administrator, no operator).

No change notice is queued for the 都道府県サーバー: its copy of the file is set up by its own
初期移行 from the same export (the CS sends notices for the changes that follow). The CS's file
and the prefecture's copy can then be compared with ``cs-gateway consistency check``.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from .audit.chain import SubjectHasher
from .audit.crosscheck import IMPORT_ACTION, import_detail
from .audit.event import OK, REFUSED, AuditEvent
from .audit.keys import load_or_create_hmac_key
from .audit.local_ops import append_committed, local_actor, signer_for
from .audit.trail import AuditTrail
from .clock import jst_today
from .config import GatewayConfig
from .domain.format_checks import FormatContext, check_command
from .domain.import_line import command_from_line
from .domain.logic_checks import CREATING, Accepted, decide
from .domain.record import IdentityRecord
from .domain.registry import StoredPerson
from .domain.rules_config import RulesConfig
from .domain.violations import Violation
from .store.at_rest import NumberCipher, default_key_path
from .store.bulk_import import BulkImport, BulkImportError
from .store.local import AppendingStore, trail_is_empty
from .store.sqlite_tx import VersionRows, version_rows

ACTION = IMPORT_ACTION
CHUNK = 20_000  # records per executemany
NOTICES = "notices=none (the prefecture's copy is set up by its own 初期移行)"


class ImportRefusedError(Exception):
    """A line of the file was refused: nothing was stored. ``line`` is 1-based."""

    def __init__(self, line: int, field: str, reason: str, message: str) -> None:
        super().__init__(f"line {line}: {field}: {reason} ({message})")
        self.line = line
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class ImportSummary:
    records: int
    sha256: str
    seconds: float
    audit_seq: int


class _EmptyFile:
    """The registry the logic checks see: the store is empty, so nobody is found."""

    def find(self, juminhyo_code: str) -> StoredPerson | None:
        return None

    def individual_number_holder(self, individual_number: str) -> int | None:
        return None

    def person(self, person_key: int) -> StoredPerson | None:
        return None


def _trail(config: GatewayConfig) -> AuditTrail:
    key = load_or_create_hmac_key(config.audit.hmac_key, may_create=trail_is_empty(config.store_path))
    return AuditTrail(SubjectHasher(key), signer_for(config), checkpoint_every=config.audit.checkpoint_every)


class _Checker:
    """Each line to its record, as an update of an empty file would store it (pure: runs in the
    checking workers)."""

    def __init__(self, municipality_code: str, rules: RulesConfig, today: date) -> None:
        self._ctx = FormatContext(today=today, municipality_code=municipality_code)
        self._rules = rules
        self._today = today
        self._empty = _EmptyFile()

    def record(self, number: int, raw: bytes) -> IdentityRecord:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as err:
            raise ImportRefusedError(number, "line", "MALFORMED_LINE", f"not a JSON object: {err.msg}") from None
        cmd = command_from_line(data)
        if isinstance(cmd, Violation):
            raise ImportRefusedError(number, cmd.field, cmd.code, cmd.message_en)
        found = check_command(cmd, self._ctx)
        if found is not None:
            raise ImportRefusedError(number, found.field, found.code, found.message_en)
        if cmd.change_reason not in CREATING:
            raise ImportRefusedError(
                number,
                "change_reason",
                "IMPORT_NEEDS_KISAI",
                "each line must be the 記載 of a person (転入, 出生, 職権記載, 国籍取得, 住所設定, 在留資格取得)",
            )
        decision = decide(cmd, self._empty, self._today, self._rules)
        if not isinstance(decision, Accepted):
            raise ImportRefusedError(number, decision.field, decision.code, decision.message_en)
        return decision.record


@dataclass(frozen=True)
class _Setup:
    """What a checking worker needs (picklable)."""

    municipality_code: str
    rules: RulesConfig
    today: date
    stamp: datetime  # the 初期移行's タイムスタンプ of every record
    number_key: bytes


_worker: tuple[_Checker, NumberCipher, datetime] | None = None


def _start_worker(setup: _Setup) -> None:
    global _worker
    checker = _Checker(setup.municipality_code, setup.rules, setup.today)
    _worker = (checker, NumberCipher(setup.number_key), setup.stamp)


def _rows_of(job: tuple[int, list[tuple[int, bytes]]]) -> tuple[list[int], list[VersionRows]] | ImportRefusedError:
    """The line numbers and store rows of one chunk of lines (its first 更新順番号 given), or
    its first refusal."""
    assert _worker is not None
    checker, cipher, stamp = _worker
    seq, lines = job
    out = []
    try:
        for offset, (number, raw) in enumerate(lines):
            record = checker.record(number, raw).with_stored(seq + offset, stamp)
            out.append(version_rows(cipher, record, record.update_seq))
    except ImportRefusedError as refused:
        return refused
    return [number for number, _ in lines], out


class _Unique:
    """One 住民票コード and one 個人番号 (by its blind index) per person across the whole file."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}
        self._numbers: dict[str, int] = {}

    def check(self, numbers: list[int], rows: list[VersionRows]) -> None:
        for number, r in zip(numbers, rows, strict=True):
            first = self._codes.setdefault(r.code[0], number)
            if first != number:
                raise ImportRefusedError(
                    number, "juminhyo_code", "DUPLICATE_JUMINHYO_CODE", f"the same 住民票コード as line {first}"
                )
            first = self._numbers.setdefault(r.number[0], number)
            if first != number:
                raise ImportRefusedError(
                    number, "individual_number", "DUPLICATE_INDIVIDUAL_NUMBER", f"the same 個人番号 as line {first}"
                )


def _chunks(fh: IO[bytes], digest: Any, first_seq: int) -> Iterator[tuple[int, list[tuple[int, bytes]]]]:
    """(first 更新順番号, [(1-based line number, line)]) of the non-blank lines, CHUNK at a time;
    the digest covers the whole file."""
    seq, chunk = first_seq, []
    for number, raw in enumerate(fh, start=1):
        digest.update(raw)
        if raw.strip():
            chunk.append((number, raw))
            if len(chunk) >= CHUNK:
                yield seq, chunk
                seq, chunk = seq + len(chunk), []
    if chunk:
        yield seq, chunk


def run_import(
    config: GatewayConfig,
    file: Path,
    *,
    today: date | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> ImportSummary:
    """Import ``file`` into the configured (empty) store; ImportRefusedError names a refused line,
    BulkImportError a store that cannot take it. Either way nothing is stored. The lines are
    checked and turned into rows by ``workers`` processes (default: one per CPU; 0: in this
    process) while this one writes."""
    started = time.perf_counter()
    trail = _trail(config)
    digest = hashlib.sha256()
    try:
        bulk = BulkImport(config.store_path, trail, number_key=config.number_key)  # makes a new key file
    except BulkImportError as refused:
        _audit(config, trail, AuditEvent(ACTION, REFUSED, local_actor(), reason=refused.reason, detail=_about(file)))
        raise
    setup = _Setup(
        config.municipality_code,
        config.rules,
        today or jst_today(),
        now(),
        (config.number_key or default_key_path(config.store_path)).read_bytes(),
    )
    workers = (os.cpu_count() or 1) if workers is None else workers
    unique = _Unique()
    pool = None

    def store(result: tuple[list[int], list[VersionRows]] | ImportRefusedError) -> None:
        if isinstance(result, ImportRefusedError):
            raise result
        unique.check(*result)
        bulk.add(result[1])
        if progress is not None:
            progress(bulk.count)

    try:
        with open(file, "rb") as fh:
            if workers > 0:
                pool = multiprocessing.get_context("spawn").Pool(workers, _start_worker, (setup,))
                pending: deque[Any] = deque()
                for job in _chunks(fh, digest, bulk.first_seq()):
                    pending.append(pool.apply_async(_rows_of, (job,)))
                    if len(pending) > 2 * workers:  # a bounded read-ahead, in file order
                        store(pending.popleft().get())
                while pending:
                    store(pending.popleft().get())
            else:
                _start_worker(setup)
                for job in _chunks(fh, digest, bulk.first_seq()):
                    store(_rows_of(job))
        span = import_detail(bulk.first_seq(), bulk.first_seq() + bulk.count - 1) if bulk.count else "updates=none"
        detail = f"records={bulk.count}; {span}; sha256={digest.hexdigest()}; file={Path(file).name}; {NOTICES}"
        seq = bulk.commit(AuditEvent(ACTION, OK, local_actor(), detail=detail))
    except ImportRefusedError as refused:
        bulk.abort()
        _audit_refusal(config, trail, file, refused)
        raise
    except BaseException:
        bulk.abort()
        raise
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    return ImportSummary(bulk.count, digest.hexdigest(), time.perf_counter() - started, seq)


def _file_digest(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _about(file: Path) -> str:
    return f"sha256={_file_digest(file)}; file={Path(file).name}; nothing stored"


def _audit(config: GatewayConfig, trail: AuditTrail, event: AuditEvent) -> None:
    with AppendingStore(config.store_path) as store:
        append_committed(store, trail, event)


def _audit_refusal(config: GatewayConfig, trail: AuditTrail, file: Path, refused: ImportRefusedError) -> None:
    detail = f"line={refused.line}; field={refused.field}; {_about(file)}"
    _audit(config, trail, AuditEvent(ACTION, REFUSED, local_actor(), reason=refused.reason, detail=detail))
