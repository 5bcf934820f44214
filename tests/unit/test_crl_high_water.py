"""The newest CRL seen per issuer, kept in a state file: what is admitted and what is not."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cs_gateway.security.crl_high_water import CRL_ROLLED_BACK, CRL_STATE_UNUSABLE, CrlHighWater

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def test_a_lower_crl_number_is_refused_and_survives_a_new_instance(tmp_path: Path) -> None:
    path = tmp_path / "cs.crl-state.json"
    assert CrlHighWater(path).admit("ca", 5, T0) is None
    again = CrlHighWater(path)  # a restart
    assert again.admit("ca", 4, T0 + timedelta(hours=1)) == CRL_ROLLED_BACK
    assert again.admit("ca", 5, T0) is None  # the same CRL again
    assert again.admit("ca", 6, T0 + timedelta(hours=1)) is None
    assert json.loads(path.read_text())["ca"]["crl_number"] == 6


def test_an_older_this_update_is_refused_even_with_the_same_number(tmp_path: Path) -> None:
    marks = CrlHighWater(tmp_path / "state.json")
    assert marks.admit("ca", 3, T0) is None
    assert marks.admit("ca", 3, T0 - timedelta(seconds=1)) == CRL_ROLLED_BACK


def test_a_crl_without_a_number_after_one_with_a_number_is_refused(tmp_path: Path) -> None:
    marks = CrlHighWater(tmp_path / "state.json")
    assert marks.admit("ca", 3, T0) is None
    assert marks.admit("ca", None, T0 + timedelta(days=1)) == CRL_ROLLED_BACK


def test_each_issuer_has_its_own_mark(tmp_path: Path) -> None:
    marks = CrlHighWater(tmp_path / "state.json")
    assert marks.admit("old-ca", 9, T0) is None
    assert marks.admit("new-ca", 1, T0) is None  # a new CA starts afresh


def test_an_unreadable_state_file_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json", encoding="utf-8")
    assert CrlHighWater(path).admit("ca", 1, T0) == CRL_STATE_UNUSABLE
    path.write_text('{"ca": {"crl_number": "x"}}', encoding="utf-8")
    assert CrlHighWater(path).admit("ca", 1, T0) == CRL_STATE_UNUSABLE


def test_a_state_file_that_cannot_be_written_fails_closed(tmp_path: Path) -> None:
    marks = CrlHighWater(tmp_path / "no-such-folder" / "state.json")
    assert marks.admit("ca", 1, T0) == CRL_STATE_UNUSABLE


def test_without_a_path_the_mark_is_kept_in_memory() -> None:
    marks = CrlHighWater(None)
    assert marks.admit("ca", 2, T0) is None
    assert marks.admit("ca", 1, T0) == CRL_ROLLED_BACK
