"""`cs-gateway demo` (what `make demo` runs) works end to end and leaves no process behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from clients.masking import mask_identifier

pytestmark = pytest.mark.slow


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def test_demo_pushes_the_scenario_and_stops_the_gateway(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cs_gateway", "demo", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "11 steps: 7 accepted, 4 refused, 0 unexpected" in out
    for reason in ("ALREADY_RESIDENT", "TENKYO_CHANGES_NON_ADDRESS", "DECEASED", "ALREADY_JAPANESE"):
        assert reason in out
    for label in ("転入", "転居", "出生", "死亡", "住所設定", "国籍取得"):
        assert label in out
    # identifiers are printed masked only
    for code in ("39201748562", "538172460917"):
        assert code not in out + done.stderr
    assert mask_identifier("39201748562") in out
    # the counter step: login with a computed TOTP, a lookup, a 2-item search, a refused 1-item search
    assert "logged in as demo-operator (shokai)" in out
    assert "search by name+birth (identity-check)" in out and "1 found" in out
    assert "refused: search by name+sex: SEARCH_NEEDS_TWO_ITEMS" in out
    assert "refused: search by name+address: SEARCH_NEEDS_TWO_ITEMS" in out  # 住所 = 青森県弘前市 only
    assert "refused: search by address+birth: SEARCH_NEEDS_NAME" in out
    # the card check: 山田 花子's card verifies field by field; 山田 太郎 died: his card is refused
    assert "card check hanako.card (identity-check): card face vs 本人確認情報" in out
    assert out.count("一致 match") == 4 and "相違 differs" not in out
    assert "card verified; all match" in out
    assert "refused: card taro.card: CARD_HOLDER_NOT_CURRENT" in out
    assert "538172460917" not in out  # the 個人番号 masked on the terminal's screen too
    # the notices reached the 都道府県サーバー emulator and its copy agrees with the CS's file
    assert "7 change notices queued, 7 delivered, 0 undelivered" in out
    assert '"notices_applied": 7, "last_update_seq": 7, "refused": 0' in out
    assert "mode tree: AGREES" in out
    assert "relayed: 7 of the 7 notices the 都道府県サーバー applied" in out
    assert "consistency check with the jlis, mode tree: AGREES" in out and "records: CS 4, jlis 4" in out
    # one 送付先情報 forwarded to the 機構 emulator, unedited
    assert "at the 機構: byte-identical True, digest and CS signature verified True" in out
    assert '"received": 1, "last_sofusaki_seq": 1, "refused": 0' in out
    # the supervisor's view: health over mTLS and the metrics listener
    assert "grpc.health.v1 Check (kizon-juki certificate): SERVING" in out
    assert "cs_gateway_rpcs_total{" in out
    assert _processes_mentioning(str(tmp_path)) == []
