"""The operators' TOTP secrets at rest (schema migration 9): sealed with the store's cipher
(AES-GCM under the number key file, bound to the operator id), so that a raw read of the SQLite
file (and its WAL, and a backup) does not find the second factor; a store written before 9
migrates; the login still checks the code against the opened secret."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from cs_gateway import operator_commands
from cs_gateway.app.operators import CheckLogin, ListOperators, LoginAccepted, LoginRefused
from cs_gateway.audit.event import Actor
from cs_gateway.config import GatewayConfig, load_config
from cs_gateway.process import write_dev_config
from cs_gateway.security.operator_auth import totp_code
from cs_gateway.store.at_rest import SEALED_SECRET_PREFIX, NumberCipher, NumberKeyError, default_key_path
from cs_gateway.store.schema import MIGRATIONS
from pki.dev_pki import DevPki

PASSWORD = "correct horse battery"
TERMINAL = Actor(spiffe_id="spiffe://hirosaki.jukinet.test/terminal/t1", cert_fingerprint="ab" * 32, peer="t1")


def _config(tmp_path: Path, dev_pki: DevPki) -> GatewayConfig:
    path = write_dev_config(tmp_path / "gw.toml", pki_dir=dev_pki.directory, store_path=tmp_path / "cs.sqlite3")
    return load_config(path)


def _enrol(config: GatewayConfig, operator_id: str) -> str:
    _, uri = operator_commands.add(config, operator_id, "shokai", PASSWORD)
    return parse_qs(urlparse(uri).query)["secret"][0]


def _raw(store: Path) -> bytes:
    """Every byte of the store as a copy of its directory would hold it."""
    return b"".join(p.read_bytes() for p in store.parent.glob(store.name + "*") if p.is_file())


def _stored(store: Path) -> dict[str, str]:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT operator_id, totp_secret FROM operators").fetchall())
    finally:
        conn.close()


def _login(config: GatewayConfig, operator_id: str, secret: str, at: float) -> object:
    return operator_commands.run_locally(config, CheckLogin(operator_id, PASSWORD, totp_code(secret, at), at, TERMINAL))


def test_an_enrolled_secret_is_sealed_and_a_raw_read_does_not_find_it(tmp_path: Path, dev_pki: DevPki) -> None:
    config = _config(tmp_path, dev_pki)
    secrets = {name: _enrol(config, name) for name in ("sato", "suzuki")}
    operator_commands.reset(config, "suzuki", PASSWORD + "!")  # a reset's new secret is sealed too
    stored = _stored(config.store_path)
    for name in secrets:
        assert stored[name].startswith(SEALED_SECRET_PREFIX), name
        assert secrets[name] not in stored[name]
    raw = _raw(config.store_path)
    assert secrets["sato"].encode() not in raw
    backup = tmp_path / "copy.sqlite3"
    src = sqlite3.connect(config.store_path)
    try:
        src.backup(dst := sqlite3.connect(backup))
        dst.close()
    finally:
        src.close()
    assert secrets["sato"].encode() not in backup.read_bytes()
    # ... and the login checks the code against the opened secret
    at = time.time()
    assert isinstance(_login(config, "sato", secrets["sato"], at), LoginAccepted)
    assert isinstance(_login(config, "sato", "A" * 32, at + 30), LoginRefused)


def test_a_store_written_before_migration_9_migrates_its_clear_secrets(tmp_path: Path, dev_pki: DevPki) -> None:
    config = _config(tmp_path, dev_pki)
    secret = _enrol(config, "sato")
    conn = sqlite3.connect(config.store_path, isolation_level=None)  # as the releases before 9 wrote it
    try:
        conn.execute("UPDATE operators SET totp_secret = ? WHERE operator_id = 'sato'", (secret,))
        conn.execute("ALTER TABLE persons DROP COLUMN record_digest")  # migration 10 came later
        conn.execute("PRAGMA user_version = 8")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    assert secret.encode() in _raw(config.store_path)  # the test's premise: in clear before
    (listed,) = operator_commands.run_locally(config, ListOperators(TERMINAL))  # any open migrates
    assert listed.operator_id == "sato"
    assert _stored(config.store_path)["sato"].startswith(SEALED_SECRET_PREFIX)
    assert secret.encode() not in _raw(config.store_path)  # nor in a freed page or the WAL (VACUUM)
    conn = sqlite3.connect(f"file:{config.store_path}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    finally:
        conn.close()
    assert isinstance(_login(config, "sato", secret, time.time()), LoginAccepted)


def test_a_sealed_secret_opens_only_for_its_own_operator_and_key(tmp_path: Path, dev_pki: DevPki) -> None:
    config = _config(tmp_path, dev_pki)
    _enrol(config, "sato")
    cipher = NumberCipher(default_key_path(config.store_path).read_bytes())
    sealed = _stored(config.store_path)["sato"]
    assert len(cipher.open_secret(sealed, "sato")) == 32
    with pytest.raises(NumberKeyError):
        cipher.open_secret(sealed, "suzuki")  # copied onto another account's row
    with pytest.raises(NumberKeyError):
        NumberCipher(b"\x01" * 32).open_secret(sealed, "sato")
    with pytest.raises(NumberKeyError):
        cipher.open_secret("JBSWY3DPEHPK3PXP", "sato")  # a clear secret is never taken as sealed
