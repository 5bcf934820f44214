"""The write path seals each stored 個人番号 once per version (bench/README.md, the throughput
regression): the version's history record and its change notice hold the same AES-GCM token,
every version gets a fresh one, and the blind index is the HMAC it always was (stores written
before still find their numbers)."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from pathlib import Path

import orjson
import pytest

from clients.synthetic import synthetic_entry, tennyu_request
from cs_gateway.api.convert import update_from_proto
from cs_gateway.domain.record import UpdateCommand
from cs_gateway.store.at_rest import SEALED_PREFIX, NumberCipher, _derive, default_key_path
from tests.conftest import AuditedApply, new_store

PEOPLE = 6


def _stored_tokens(path: Path) -> list[tuple[int, str, str]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT h.update_seq, h.record, o.notice FROM history h JOIN outbox o ON o.update_seq = h.update_seq "
            "ORDER BY h.update_seq"
        ).fetchall()
    finally:
        conn.close()
    return [
        (seq, orjson.loads(record)["individual_number"], orjson.loads(notice)["individual_number"])
        for seq, record, notice in rows
    ]


def test_a_version_and_its_notice_hold_one_token_and_every_version_a_fresh_one(tmp_path: Path) -> None:
    path = tmp_path / "cs.sqlite3"
    store = new_store(path)
    try:
        apply = AuditedApply(store)
        for i in range(PEOPLE):
            cmd = update_from_proto(tennyu_request(i))
            assert isinstance(cmd, UpdateCommand)
            assert apply.submit(cmd).result(30).record is not None
    finally:
        store.close()
    tokens = _stored_tokens(path)
    assert len(tokens) == PEOPLE
    cipher = NumberCipher(default_key_path(path).read_bytes())
    for i, (_seq, in_record, in_notice) in enumerate(tokens):
        assert in_record.startswith(SEALED_PREFIX) and in_record == in_notice
        assert cipher.open(in_record) == synthetic_entry(i).individual_number
    assert len({record for _seq, record, _notice in tokens}) == PEOPLE  # no token (nonce) reused across versions


def test_seal_json_takes_the_callers_token_or_seals_afresh() -> None:
    cipher = NumberCipher(b"m" * 32)
    number = synthetic_entry(1).individual_number
    text = orjson.dumps({"a": 1, "individual_number": number}).decode()
    token = cipher.seal(number)
    assert orjson.loads(cipher.seal_json(text, number, token))["individual_number"] == token
    fresh = [orjson.loads(cipher.seal_json(text, number))["individual_number"] for _ in range(2)]
    assert fresh[0] != fresh[1] and all(cipher.open(t) == number for t in fresh)
    with pytest.raises(ValueError):
        cipher.seal_json(text, number, number)  # a clear number is never stored as if sealed
    with pytest.raises(ValueError):
        cipher.seal_json(text, "000000000000", token)  # the text must carry the number


def test_the_blind_index_is_the_same_hmac_as_before() -> None:
    master = bytes(range(32))
    number = synthetic_entry(2).individual_number
    expected = hmac.new(_derive(master, b"individual_number blind index"), number.encode(), hashlib.sha256).hexdigest()
    assert NumberCipher(master).blind(number) == expected
