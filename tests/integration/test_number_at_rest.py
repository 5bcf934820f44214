"""個人番号 at rest (issue 12, item 6): AES-GCM in the history records and outbox notices, a blind
index in individual_numbers, a 0600 key file; a copy of the database file (with its WAL, or a
`cs-gateway backup`) does not disclose a stored 個人番号, and existing stores migrate."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from clients.synthetic import synthetic_entry, tennyu_request
from cs_gateway.api.convert import update_from_proto
from cs_gateway.audit.chain import SubjectHasher
from cs_gateway.audit.spec import AuditSpec
from cs_gateway.audit.trail import AuditTrail
from cs_gateway.cli import main
from cs_gateway.config import load_config
from cs_gateway.domain.record import UpdateCommand
from cs_gateway.process import write_dev_config
from cs_gateway.server import command_registry
from cs_gateway.store.at_rest import NumberKeyError, default_key_path
from cs_gateway.store.sqlite_store import SqliteStore
from cs_gateway.store.sqlite_tx import SqliteTransaction, open_reader
from pki.dev_pki import DevPki
from tests.conftest import MUNICIPALITY, TEST_HMAC_KEY, AuditedApply, new_store
from tests.legacy_store import downgrade_to_v6

REPO = Path(__file__).resolve().parents[2]
PEOPLE = 8


def _command(i: int) -> UpdateCommand:
    cmd = update_from_proto(tennyu_request(i))
    assert isinstance(cmd, UpdateCommand)
    return cmd


def _numbers() -> list[str]:
    return [synthetic_entry(i).individual_number for i in range(PEOPLE)]


def _fill(store: SqliteStore) -> None:
    apply = AuditedApply(store)
    for i in range(PEOPLE):
        assert apply.submit(_command(i)).result(30).record is not None


def _file_bytes(path: Path) -> bytes:
    """Every byte of the store as a copy of its folder would take it: the file, its WAL, its shm."""
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


def _disclosed(data: bytes) -> list[str]:
    """The stored numbers found in ``data``: as ASCII digits (a JSON text holds them so), or as
    UTF-16 / UTF-32 text."""
    found = []
    for number in _numbers():
        forms = [number.encode(), number.encode("utf-16-le"), number.encode("utf-32-le")]
        if any(form in data for form in forms):
            found.append(number)
    return found


def test_the_file_and_its_wal_do_not_hold_a_stored_number_while_running_and_after(tmp_path: Path) -> None:
    path = tmp_path / "cs.sqlite3"
    store = new_store(path)
    try:
        _fill(store)
        assert Path(f"{path}-wal").stat().st_size > 0  # the test reads a live WAL, not only the file
        assert _disclosed(_file_bytes(path)) == []
        # ... yet the store reads them back: lookup, history, the notices for the prefecture
        person = store.find(synthetic_entry(3).juminhyo_code)
        assert person is not None and person.record.individual_number == _numbers()[3]
        assert [r.individual_number for r in store.history(synthetic_entry(5).juminhyo_code)] == [_numbers()[5]]
        notices = store.pending_notices()
        assert [n["individual_number"] for _seq, n in notices] == _numbers()
    finally:
        store.close()
    assert _disclosed(_file_bytes(path)) == []
    key = default_key_path(path)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32


def test_a_backup_copy_does_not_hold_a_stored_number(tmp_path: Path, dev_pki: DevPki, capsys) -> None:  # noqa: ANN001
    config_path = write_dev_config(tmp_path / "gw.toml", pki_dir=dev_pki.directory, store_path=tmp_path / "cs.sqlite3")
    config = load_config(config_path)
    fd = os.open(config.audit.hmac_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, TEST_HMAC_KEY)
    os.close(fd)
    store = new_store(config.store_path, dev_pki)
    try:
        _fill(store)
        target = tmp_path / "media" / "backup.sqlite3"
        target.parent.mkdir()
        assert main(["backup", "--config", str(config_path), "--to", str(target)]) == 0
    finally:
        store.close()
    capsys.readouterr()
    copy = target.read_bytes()
    assert b"SQLite format 3" in copy and b"history" in copy
    assert _disclosed(copy) == []
    # the copy with the key file reads back (a restore needs both; the key is not in the copy)
    assert _numbers()[0].encode() not in copy
    reader = open_reader(target, default_key_path(config.store_path))
    try:
        person = reader.find(synthetic_entry(0).juminhyo_code)
        assert person is not None and person.record.individual_number == _numbers()[0]
    finally:
        reader.close()


def test_lookup_by_number_and_the_uniqueness_rule_work_through_the_blind_index(tmp_path: Path) -> None:
    path = tmp_path / "cs.sqlite3"
    store = new_store(path)
    try:
        _fill(store)
        other = tennyu_request(PEOPLE + 1)
        other.entry.individual_number = synthetic_entry(2).individual_number  # a second person, same 個人番号
        cmd = update_from_proto(other)
        assert isinstance(cmd, UpdateCommand)
        refused = AuditedApply(store).submit(cmd).result(30)
        assert refused.record is None and refused.violation is not None
        assert "INDIVIDUAL_NUMBER" in refused.violation.code
    finally:
        store.close()
    tx = SqliteTransaction(path, AuditTrail(SubjectHasher(TEST_HMAC_KEY), None))
    try:
        holder = tx.individual_number_holder(_numbers()[2])
        assert holder is not None
        person = tx.person(holder)
        assert person is not None and person.record.juminhyo_code == synthetic_entry(2).juminhyo_code
        assert tx.individual_number_holder("000000000000") is None
        (rows,) = tx._conn.execute("SELECT COUNT(*) FROM individual_numbers").fetchone()  # noqa: SLF001
        assert rows == PEOPLE
    finally:
        tx.close()


def test_a_store_made_before_migration_7_migrates_and_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "cs.sqlite3"
    store = new_store(path)
    try:
        _fill(store)
    finally:
        store.close()
    downgrade_to_v6(path)
    assert not default_key_path(path).exists()
    assert sorted(_disclosed(_file_bytes(path))) == sorted(_numbers())  # the old format: in clear

    store = new_store(path)  # migration 7 runs here (a new key, as nothing was sealed yet)
    try:
        assert _disclosed(_file_bytes(path)) == []
        assert stat.S_IMODE(default_key_path(path).stat().st_mode) == 0o600
        for i in range(PEOPLE):
            person = store.find(synthetic_entry(i).juminhyo_code)
            assert person is not None and person.record.individual_number == _numbers()[i]
        assert [n["individual_number"] for _seq, n in store.pending_notices()] == _numbers()
        _add = update_from_proto(tennyu_request(PEOPLE + 3))
        assert isinstance(_add, UpdateCommand)
        assert AuditedApply(store).submit(_add).result(30).record is not None
    finally:
        store.close()
    assert _disclosed(_file_bytes(path)) == []
    conn = sqlite3.connect(path, isolation_level=None)
    try:  # the append-only triggers dropped for the rewrite are back
        for sql in (
            "UPDATE history SET record = '{}'",
            "UPDATE outbox SET notice = '{}'",
            "DELETE FROM individual_numbers",
            "UPDATE individual_numbers SET person_id = 1",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(sql)
    finally:
        conn.close()


def test_a_wrong_or_missing_key_file_stops_the_store(tmp_path: Path) -> None:
    path = tmp_path / "cs.sqlite3"
    store = new_store(path)
    try:
        _fill(store)
    finally:
        store.close()
    key = default_key_path(path)
    right = key.read_bytes()
    key.write_bytes(os.urandom(32))
    with pytest.raises(NumberKeyError, match="not the one the store was sealed with"):
        new_store(path)
    with pytest.raises(NumberKeyError, match="not the one"):
        open_reader(path)
    key.unlink()
    with pytest.raises(NumberKeyError, match="missing"):
        new_store(path)
    assert not key.exists()  # never silently replaced
    key.write_bytes(right)
    new_store(path).close()


def test_serve_with_a_wrong_key_file_exits_2_with_a_clear_message(tmp_path: Path, dev_pki: DevPki) -> None:
    store_path = tmp_path / "cs.sqlite3"
    config_path = write_dev_config(tmp_path / "gw.toml", pki_dir=dev_pki.directory, store_path=store_path)
    key_path = tmp_path / "elsewhere.number.key"
    text = config_path.read_text(encoding="utf-8")
    assert "[store]" in text
    config_path.write_text(
        text.replace("[store]\n", f'[store]\nindividual_number_key = "{key_path.name}"\n', 1), encoding="utf-8"
    )
    config = load_config(config_path)
    assert config.number_key == key_path
    fd = os.open(config.audit.hmac_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, TEST_HMAC_KEY)
    os.close(fd)
    store = SqliteStore(
        store_path,
        audit=AuditSpec(TEST_HMAC_KEY, dev_pki.key_path("cs"), dev_pki.cert_path("cs")),
        registry=command_registry(MUNICIPALITY),
        number_key=key_path,
    )
    try:
        _fill(store)
    finally:
        store.close()
    assert not default_key_path(store_path).exists()  # the configured file, not the default
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key_path.write_bytes(os.urandom(32))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-m", "cs_gateway", "serve", "--config", str(config_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert "個人番号 key unusable" in done.stderr and "not the one the store was sealed with" in done.stderr
    assert not any(n in done.stderr + done.stdout for n in _numbers())
