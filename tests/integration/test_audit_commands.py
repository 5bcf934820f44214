"""The audit trail's commands on a generated trail with known answers: verify (chain, anchor and
the updates cross-check), the security officer's report, "who looked at this person", the
seven-year prune to a signed archive, and the audited online backup."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from clients.synthetic import synthetic_entry, tennyu_request
from cs_gateway.api.convert import update_from_proto
from cs_gateway.app.read_records import get_history, get_record
from cs_gateway.audit.chain import SubjectHasher
from cs_gateway.audit.event import DENIED, Actor, AuditEvent
from cs_gateway.audit.local_ops import local_user
from cs_gateway.audit.report import build_report, load_period
from cs_gateway.audit.retention import check_archive
from cs_gateway.audit.spec import AuditSpec
from cs_gateway.audit.trail import AuditTrail, iter_entries, verify
from cs_gateway.cli import main
from cs_gateway.clock import JST
from cs_gateway.config import GatewayConfig, load_config
from cs_gateway.domain.record import UpdateCommand
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2 as upb
from cs_gateway.process import write_dev_config
from cs_gateway.server import command_registry
from cs_gateway.store.sqlite_store import SqliteStore
from pki.dev_pki import DevPki
from tests.conftest import TEST_HMAC_KEY, AuditedApply, InProcessGateway

REPO = Path(__file__).resolve().parents[2]
SERVICE = "/jukinet.cs.v1.UpdateService/"
TERMINAL = "spiffe://hirosaki.jukinet.test/terminal/terminal-01"
HASHER = SubjectHasher(TEST_HMAC_KEY)
WEEK = ("2026-11-23", "2026-11-29")  # Monday .. Sunday (JST)


def code(i: int) -> str:
    return synthetic_entry(i).juminhyo_code


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A JST wall-clock moment in the week of 2026-11-23."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=JST)


class Clock:
    """A fixed clock that the test moves, read by the store's writer process too (through a file:
    the writer is a process of its own, with its own copy of this object)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.now = datetime(2026, 11, 23, tzinfo=UTC)

    @property
    def now(self) -> datetime:
        return datetime.fromisoformat(self._path.read_text(encoding="ascii"))

    @now.setter
    def now(self, value: datetime) -> None:
        fresh = self._path.with_suffix(".new")
        fresh.write_text(value.isoformat(), encoding="ascii")
        os.replace(fresh, self._path)  # the writer never reads half a time

    def __call__(self) -> datetime:
        return self.now.astimezone(UTC)


@dataclass
class Generated:
    config_path: Path
    config: GatewayConfig
    pki: DevPki

    @property
    def store(self) -> Path:
        return self.config.store_path


def _operator(operator_id: str) -> Actor:
    return Actor(
        spiffe_id=TERMINAL, peer="ipv4:10.0.1.5:50000", operator_id=operator_id, terminal_id="t-" + operator_id
    )


def _command(i: int) -> UpdateCommand:
    cmd = update_from_proto(tennyu_request(i))
    assert isinstance(cmd, UpdateCommand)
    return cmd


def generate(tmp_path: Path, pki: DevPki) -> Generated:
    """A week of operations through the real use cases and the real AuditTrail, with a fixed clock:

    - Mon 09:00: 既存住基 registers persons 1..30 (30 updates)
    - Tue 10:00-10:04:48: operator op-a looks up persons 1..25, one every 12 s (a burst)
    - Wed 11:00-11:30: operator op-b looks up person 1 seven times (repeated)
    - Thu 22:00: operator op-c looks up person 2 (after office hours)
    - Fri 14:00: three denials by two rules
    - Sat 10:00: operator op-d reads person 3's history (weekend)
    """
    config_path = write_dev_config(tmp_path / "gw.toml", pki_dir=pki.directory, store_path=tmp_path / "cs.sqlite3")
    config = load_config(config_path)
    fd = os.open(config.audit.hmac_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, TEST_HMAC_KEY)
    os.close(fd)
    clock = Clock(tmp_path / "clock")
    spec = AuditSpec(TEST_HMAC_KEY, pki.key_path("cs"), pki.cert_path("cs"), checkpoint_every=4, now=clock)
    store = SqliteStore(config.store_path, audit=spec, now=clock, registry=command_registry("022021"))

    def read(use_case, juminhyo_code: str, **how: object) -> object:  # noqa: ANN001 - the async use case
        return asyncio.run(use_case(store.reads, store, juminhyo_code, **how))

    try:
        apply = AuditedApply(store)
        for i in range(1, 31):
            clock.now = at(23, 9, 0, i)
            assert apply.submit(_command(i)).result(30).record is not None
        for k in range(25):
            clock.now = at(24, 10) + timedelta(seconds=12 * k)
            read(get_record, code(k + 1), actor=_operator("op-a"), action=SERVICE + "GetRecord")
        for k in range(7):
            clock.now = at(25, 11, 5 * k)
            read(get_record, code(1), actor=_operator("op-b"), action=SERVICE + "GetRecord")
        clock.now = at(26, 22)
        read(get_record, code(2), actor=_operator("op-c"), action=SERVICE + "GetRecord")
        for k, rule in enumerate(("policy:role-not-allowed", "revocation:revoked", "policy:role-not-allowed")):
            clock.now = at(27, 14, k)
            denied = AuditEvent(action=SERVICE + "Apply", outcome=DENIED, actor=Actor(spiffe_id=TERMINAL), reason=rule)
            store.record_audit(denied).result(30)
        clock.now = at(28, 10)
        read(get_history, code(3), actor=_operator("op-d"), action=SERVICE + "GetHistory")
    finally:
        store.close()
    return Generated(config_path, config, pki)


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory, dev_pki: DevPki) -> Generated:
    return generate(tmp_path_factory.mktemp("week"), dev_pki)


@pytest.fixture
def generated(tmp_path: Path, week: Generated) -> Generated:
    """A copy of the week's files (generated once per module) under this test's own directory:
    each test may tamper with its copy. The store, its keys and the rest are copied as they are;
    the configuration is written anew for the new place."""
    for item in week.config_path.parent.iterdir():
        if item.name == week.config_path.name:
            continue
        if item.is_dir():
            shutil.copytree(item, tmp_path / item.name)
        else:
            shutil.copy2(item, tmp_path / item.name)  # modes too: the keys stay 0600
    config_path = write_dev_config(tmp_path / "gw.toml", pki_dir=week.pki.directory, store_path=tmp_path / "cs.sqlite3")
    return Generated(config_path, load_config(config_path), week.pki)


def cli(*args: object) -> subprocess.CompletedProcess[str]:
    """`cs-gateway ...` in a child process, as an operator runs it."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "cs_gateway", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )


def run_main(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code_ = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code_, out, err


def entries(store: Path) -> list[dict]:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return list(iter_entries(conn))
    finally:
        conn.close()


def _certs(pki: DevPki) -> list:  # noqa: ANN001
    from cryptography import x509

    return x509.load_pem_x509_certificates(pki.cert_path("cs").read_bytes())[:1]


# -- verify ------------------------------------------------------------------------------------


def test_verify_passes_on_an_intact_trail_with_every_update_audited(generated: Generated) -> None:
    done = cli("audit", "verify", "--config", generated.config_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "audit trail OK: 67 entries" in done.stdout
    assert "updates cross-check OK: 30 updates, each with exactly one audit entry" in done.stdout


def test_verify_exits_1_naming_the_first_tampered_entry(generated: Generated) -> None:
    conn = sqlite3.connect(generated.store, isolation_level=None)
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("UPDATE audit_log SET operator_id = 'someone-else' WHERE seq = 40")
    conn.close()
    done = cli("audit", "verify", "--config", generated.config_path)
    assert done.returncode == 1
    assert "audit trail BROKEN at entry 40: entry content does not match its hash" in done.stdout


def test_verify_names_an_update_without_its_audit_entry(generated: Generated, capsys) -> None:  # noqa: ANN001
    conn = sqlite3.connect(generated.store, isolation_level=None)
    conn.execute(
        "INSERT INTO history (update_seq, person_id, juminhyo_code, change_reason, recorded_at, record) "
        "SELECT 31, person_id, juminhyo_code, change_reason, recorded_at, record FROM history WHERE update_seq = 30"
    )
    conn.close()
    status, out, _ = run_main(capsys, "audit", "verify", "--config", generated.config_path)
    assert status == 1
    assert "audit trail OK" in out  # the chain itself is intact: only the cross-check can see this
    assert "updates cross-check FAILED at update_seq 31: stored update has no audit entry with outcome ok" in out


def test_verify_names_an_audit_entry_pointing_at_a_missing_update(generated: Generated, capsys) -> None:  # noqa: ANN001
    conn = sqlite3.connect(generated.store, isolation_level=None)
    conn.execute("DROP TRIGGER history_no_delete")  # the attacker's view: direct write access to the file
    conn.execute("DELETE FROM history WHERE update_seq = 3")
    conn.close()
    status, out, _ = run_main(capsys, "audit", "verify", "--config", generated.config_path)
    assert status == 1
    assert "update_seq 3: an audit entry points at an update that is not stored (audit entries 3)" in out


def test_verify_names_an_update_with_two_audit_entries(generated: Generated, capsys) -> None:  # noqa: ANN001
    from cs_gateway.audit.local_ops import append_committed, trail_for
    from cs_gateway.store.local import AppendingStore

    conn = AppendingStore(generated.store)
    double = AuditEvent(action=SERVICE + "Apply", outcome="ok", actor=Actor(spiffe_id=TERMINAL), update_seq=5)
    append_committed(conn, trail_for(generated.config), double)  # a correctly chained, but false, claim
    append_committed(conn, trail_for(generated.config), double.with_outcome("ok", detail="replayed"))  # fine
    conn.close()
    status, out, _ = run_main(capsys, "audit", "verify", "--config", generated.config_path)
    assert status == 1 and "audit trail OK: 69 entries" in out
    assert (
        "updates cross-check FAILED at update_seq 5: stored update has 2 ok audit entries (audit entries 5, 68)" in out
    )


# -- report ------------------------------------------------------------------------------------


def test_report_finds_the_known_answers(generated: Generated, capsys) -> None:  # noqa: ANN001
    status, out, _ = run_main(
        capsys, "audit", "report", "--config", generated.config_path, "--from", WEEK[0], "--to", WEEK[1], "--json"
    )
    assert status == 0
    report = json.loads(out)
    assert report["entries"] == 67
    assert report["outcomes"] == {"denied": 3, "ok": 64}
    daily = [(d["day"], d["actor"], d["lookups"], d["ok"], d["persons"]) for d in report["lookups_per_actor_day"]]
    assert daily == [
        ("2026-11-24", "op-a", 25, 25, 25),
        ("2026-11-25", "op-b", 7, 7, 1),
        ("2026-11-26", "op-c", 1, 1, 1),
        ("2026-11-28", "op-d", 1, 1, 1),
    ]
    unusual = report["unusual"]
    assert [(b["actor"], b["first"], b["last"], b["persons"], b["lookups"]) for b in unusual["bursts"]] == [
        ("op-a", "2026-11-24T10:00:00+09:00", "2026-11-24T10:04:48+09:00", 25, 25)
    ]
    assert [(x["day"], x["actor"], x["why"], x["lookups"]) for x in unusual["off_hours"]] == [
        ("2026-11-26", "op-c", "after-hours", 1),
        ("2026-11-28", "op-d", "weekend", 1),
    ]
    person1 = HASHER.juminhyo_code(code(1))
    assert [(r["day"], r["actor"], r["subject"], r["lookups"]) for r in unusual["repeated"]] == [
        ("2026-11-25", "op-b", person1[:8], 7)
    ]
    assert [(r["outcome"], r["reason"], r["count"]) for r in report["refusals"]] == [
        ("denied", "policy:role-not-allowed", 2),
        ("denied", "revocation:revoked", 1),
    ]
    assert person1 not in out and code(1) not in out


def test_report_text_is_bilingual_and_carries_no_identifier(generated: Generated, capsys) -> None:  # noqa: ANN001
    status, out, _ = run_main(
        capsys, "audit", "report", "--config", generated.config_path, "--from", WEEK[0], "--to", WEEK[1]
    )
    assert status == 0
    assert "監査証跡点検レポート / Audit trail report" in out
    assert "短時間に多数の住民を照会 / Many residents in a short window" in out
    assert "同一人物の繰り返し照会" in out and "規則別の拒否" in out
    hmacs = {e["subject_code_hmac"] for e in entries(generated.store) if e["subject_code_hmac"]}
    assert len(hmacs) == 30
    assert not any(h in out for h in hmacs)
    assert HASHER.juminhyo_code(code(1))[:8] + "…" in out
    assert not any(code(i) in out or synthetic_entry(i).individual_number in out for i in range(1, 31))


def test_report_period_is_in_jst_days(generated: Generated) -> None:
    conn = sqlite3.connect(f"file:{generated.store}?mode=ro", uri=True)
    try:
        tuesday = build_report(
            load_period(conn, date(2026, 11, 24), date(2026, 11, 24)), date(2026, 11, 24), date(2026, 11, 24)
        )
    finally:
        conn.close()
    assert tuesday.entries == 25
    assert [b.actor for b in tuesday.bursts] == ["op-a"] and not tuesday.repeated and not tuesday.off_hours


def test_report_thresholds_are_options(generated: Generated, capsys) -> None:  # noqa: ANN001
    status, out, _ = run_main(
        capsys, "audit", "report", "--config", generated.config_path, "--from", WEEK[0], "--to", WEEK[1], "--json",
        "--burst-persons", "30", "--repeat-limit", "7", "--office-hours", "08:00-23:00", "--office-days",
        "mon,tue,wed,thu,fri,sat",
    )  # fmt: skip
    assert status == 0
    unusual = json.loads(out)["unusual"]
    assert unusual == {"bursts": [], "off_hours": [], "repeated": []}


# -- lookup ------------------------------------------------------------------------------------


def test_lookup_lists_who_looked_and_appends_its_own_entry(generated: Generated) -> None:
    before = entries(generated.store)
    done = cli("audit", "lookup", "--config", generated.config_path, "--juminhyo-code", code(1))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    rows = lines[2:-1]
    assert len(rows) == 1 + 1 + 7 + 1  # registered, op-a's burst, op-b seven times, this lookup
    assert rows[0].startswith("2026-11-23 09:00:01  Apply  ok  spiffe://hirosaki.jukinet.test/kizon-juki/")
    assert rows[1].startswith("2026-11-24 10:00:00  GetRecord  ok  " + TERMINAL + " operator=op-a terminal=t-op-a")
    assert sum(" operator=op-b " in r for r in rows) == 7
    assert rows[-1].split("  ")[1:] == ["audit.lookup", "ok", f"local:{local_user()} peer=local"]
    assert code(1) not in done.stdout and HASHER.juminhyo_code(code(1)) not in done.stdout
    assert f"*******{code(1)[-4:]}" in lines[0]

    after = entries(generated.store)
    assert len(after) == len(before) + 1
    own = after[-1]
    assert (own["action"], own["outcome"], own["spiffe_id"]) == ("audit.lookup", "ok", f"local:{local_user()}")
    assert own["subject_code_hmac"] == HASHER.juminhyo_code(code(1))
    assert verify(sqlite3.connect(generated.store), _certs(generated.pki)).ok


def test_lookup_reads_the_code_from_standard_input_when_told(generated: Generated) -> None:
    """``--juminhyo-code -``: the code stays out of the process list and the shell history."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "cs_gateway", "audit", "lookup", "--config", str(generated.config_path)]
    done = subprocess.run(
        [*command, "--juminhyo-code", "-"],
        input=code(1) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert f"*******{code(1)[-4:]}" in done.stdout.splitlines()[0]
    assert entries(generated.store)[-1]["subject_code_hmac"] == HASHER.juminhyo_code(code(1))


def test_lookup_of_an_invalid_code_is_refused_and_audited(generated: Generated, capsys) -> None:  # noqa: ANN001
    status, out, err = run_main(
        capsys, "audit", "lookup", "--config", generated.config_path, "--juminhyo-code", "12345"
    )
    assert status == 1 and not out and "not a valid 住民票コード" in err
    own = entries(generated.store)[-1]
    assert (own["action"], own["outcome"], own["reason"]) == ("audit.lookup", "refused", "INVALID_JUMINHYO_CODE")


def test_lookup_uses_the_subject_index(generated: Generated) -> None:
    from cs_gateway.audit.lookup import QUERY

    conn = sqlite3.connect(generated.store)
    plan = " ".join(str(r) for r in conn.execute("EXPLAIN QUERY PLAN " + QUERY, ("x" * 64,)))
    conn.close()
    assert "audit_by_subject" in plan


def test_lookup_and_verify_beside_a_running_gateway(gateway: InProcessGateway, tmp_path: Path) -> None:
    """Two writers on one chain: the gateway's writer thread and the lookup command."""
    config_path = tmp_path / "gw.toml"  # written by the gateway fixture
    stub = gateway.stub()
    stub.Apply(tennyu_request(1), timeout=10)
    stub.GetRecord(upb.GetRecordRequest(juminhyo_code=code(1)), timeout=10)
    done = cli("audit", "lookup", "--config", config_path, "--juminhyo-code", code(1))
    assert done.returncode == 0, done.stderr
    assert [r.split("  ")[1] for r in done.stdout.splitlines()[2:-1]] == ["Apply", "GetRecord", "audit.lookup"]
    stub.GetRecord(upb.GetRecordRequest(juminhyo_code=code(1)), timeout=10)
    with pytest.raises(grpc.RpcError):
        gateway.stub("terminal").Apply(tennyu_request(2), timeout=10)
    done = cli("audit", "verify", "--config", config_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "audit trail OK: 5 entries" in done.stdout
    assert "updates cross-check OK: 1 updates" in done.stdout
    actions = [e["action"].rsplit("/", 1)[-1] for e in entries(gateway.config.store_path)]
    assert actions == ["Apply", "GetRecord", "audit.lookup", "GetRecord", "Apply"]


# -- retention ---------------------------------------------------------------------------------

SEVEN_YEARS_ON = "2033-11-26T00:00:00+09:00"  # cutoff: Thu 2026-11-26 00:00 JST


def test_prune_archives_then_removes_and_everything_still_verifies(generated: Generated, capsys) -> None:  # noqa: ANN001
    conn = sqlite3.connect(generated.store)
    checkpoints_before = conn.execute("SELECT seq, entry_hash FROM audit_checkpoints").fetchall()
    pruned_rows = conn.execute("SELECT * FROM audit_log WHERE seq <= 62 ORDER BY seq").fetchall()
    conn.close()

    status, out, err = run_main(capsys, "audit", "prune", "--config", generated.config_path, "--now", SEVEN_YEARS_ON)
    assert status == 0, err
    folder = generated.store.parent / "audit-archive"
    archive = folder / "audit-1-62.jsonl"
    assert "archived and pruned audit entries 1-62 (62)" in out and str(archive) in out
    for path in (archive, folder / "audit-1-62.jsonl.sig", folder / "audit-1-62.manifest.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    lines = [json.loads(line) for line in archive.read_text(encoding="utf-8").splitlines()]
    assert [e["seq"] for e in lines] == list(range(1, 63))
    assert [tuple(e[k] for k in ("seq", "at", "action", "entry_hash")) for e in lines] == [
        (r[0], r[1], r[2], r[16]) for r in pruned_rows
    ]
    manifest = json.loads((folder / "audit-1-62.manifest.json").read_text())
    assert (manifest["first_seq"], manifest["last_seq"], manifest["count"]) == (1, 62, 62)
    assert manifest["last_hash"] == pruned_rows[-1][16] and manifest["max_update_seq"] == 30

    remaining = entries(generated.store)
    assert [e["seq"] for e in remaining] == [63, 64, 65, 66, 67, 68]
    export = remaining[-1]
    assert (export["action"], export["outcome"], export["spiffe_id"]) == ("audit.export", "ok", f"local:{local_user()}")
    assert "seq=1-62" in export["detail"] and str(archive.resolve()) in export["detail"]
    assert "updates<=30" in export["detail"] and f"sha256={manifest['sha256']}" in export["detail"]
    assert "clock-override=2033-11-26T00:00:00+09:00" in export["detail"]
    conn = sqlite3.connect(generated.store)
    assert conn.execute("SELECT last_seq, last_hash, archive FROM audit_anchor").fetchall() == [
        (62, pruned_rows[-1][16], "audit-archive/audit-1-62.jsonl")
    ]
    assert conn.execute("SELECT COUNT(*) FROM audit_prune_token").fetchone() == (0,)
    checkpoints_after = conn.execute("SELECT seq, entry_hash FROM audit_checkpoints").fetchall()
    conn.close()
    assert set(checkpoints_before) <= set(checkpoints_after)  # the old checkpoints stay
    assert (62, pruned_rows[-1][16]) in checkpoints_after  # the anchor is signed

    done = cli("audit", "verify", "--config", generated.config_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "audit trail OK: 6 entries" in done.stdout
    assert "anchor: entries up to 62 archived to audit-archive/audit-1-62.jsonl" in done.stdout
    assert "(signed)" in done.stdout
    # the test's own prune ran with --now seven years on: verify says so, for an auditor to ask why
    assert "note: entry " in done.stdout and "a prune run with an overridden clock (--now)" in done.stdout
    assert "updates cross-check OK: 0 updates, each with exactly one audit entry (updates up to 30 archived)" in (
        done.stdout
    )
    done = cli("audit", "verify-archive", archive, "--config", generated.config_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"archive OK: {archive}: entries 1-62 (62)" in done.stdout

    status, out, _ = run_main(capsys, "audit", "prune", "--config", generated.config_path, "--now", SEVEN_YEARS_ON)
    assert status == 0 and "nothing to prune" in out

    # the lookup still works, and says that older entries are in the archive
    status, out, _ = run_main(capsys, "audit", "lookup", "--config", generated.config_path, "--juminhyo-code", code(2))
    assert status == 0
    assert [r.split("  ")[1] for r in out.splitlines()[2:-2]] == ["GetRecord", "audit.lookup"]
    assert "entries up to 62 are archived" in out


def test_a_second_prune_chains_its_archive_to_the_first(generated: Generated, capsys) -> None:  # noqa: ANN001
    assert run_main(capsys, "audit", "prune", "--config", generated.config_path, "--now", SEVEN_YEARS_ON)[0] == 0
    status, out, err = run_main(
        capsys, "audit", "prune", "--config", generated.config_path, "--now", "2033-11-28T00:00:00+09:00"
    )
    assert status == 0, err
    assert "archived and pruned audit entries 63-66 (4)" in out
    second = generated.store.parent / "audit-archive" / "audit-63-66.jsonl"
    for archive in (second, second.with_name("audit-1-62.jsonl")):
        status, out, _ = run_main(capsys, "audit", "verify-archive", archive, "--config", generated.config_path)
        assert status == 0, out
    status, out, _ = run_main(capsys, "audit", "verify", "--config", generated.config_path)
    assert status == 0, out
    assert "updates cross-check OK: 0 updates, each with exactly one audit entry (updates up to 30 archived)" in out


def test_verify_archive_detects_an_edited_archive_or_signature(generated: Generated, capsys) -> None:  # noqa: ANN001
    assert run_main(capsys, "audit", "prune", "--config", generated.config_path, "--now", SEVEN_YEARS_ON)[0] == 0
    archive = generated.store.parent / "audit-archive" / "audit-1-62.jsonl"
    original = archive.read_bytes()
    edited = original.replace(b'"operator_id":"op-b"', b'"operator_id":"op-x"', 1)
    assert edited != original
    archive.write_bytes(edited)
    done = cli("audit", "verify-archive", archive, "--config", generated.config_path)
    assert done.returncode == 1 and "archive BROKEN" in done.stdout and "does not match its hash" in done.stdout

    archive.write_bytes(original)
    sig = archive.with_name(archive.name + ".sig")
    good = sig.read_bytes()
    sig.write_bytes(good[:-2] + bytes([good[-2] ^ 1, good[-1]]))
    status, out, _ = run_main(capsys, "audit", "verify-archive", archive, "--config", generated.config_path)
    assert status == 1 and "signature does not match" in out
    sig.write_bytes(good)
    assert check_archive(archive, _certs(generated.pki)).ok


def test_prune_never_removes_anything_without_a_successful_export(generated: Generated, capsys) -> None:  # noqa: ANN001
    (generated.store.parent / "audit-archive").write_text("in the way")  # the archive folder cannot be made
    status, _out, err = run_main(capsys, "audit", "prune", "--config", generated.config_path, "--now", SEVEN_YEARS_ON)
    assert status == 1 and "the export" in err and "nothing is pruned" in err
    assert len(entries(generated.store)) == 67
    conn = sqlite3.connect(generated.store)
    assert conn.execute("SELECT COUNT(*) FROM audit_anchor").fetchone() == (0,)
    conn.close()


def test_prune_refuses_a_trail_that_does_not_verify(generated: Generated, capsys) -> None:  # noqa: ANN001
    conn = sqlite3.connect(generated.store, isolation_level=None)
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("UPDATE audit_log SET outcome = 'ok' WHERE seq = 65")
    conn.close()
    status, _out, err = run_main(capsys, "audit", "prune", "--config", generated.config_path, "--now", SEVEN_YEARS_ON)
    assert status == 1 and "does not verify" in err
    assert not (generated.store.parent / "audit-archive" / "audit-1-62.jsonl").exists()
    assert len(entries(generated.store)) == 67


def test_verify_detects_a_forged_anchor(generated: Generated) -> None:
    """Deleting the oldest entries and writing an anchor without the CS key is seen."""
    conn = sqlite3.connect(generated.store, isolation_level=None)
    (last_hash,) = conn.execute("SELECT entry_hash FROM audit_log WHERE seq = 62").fetchone()
    conn.execute("BEGIN")
    conn.execute("INSERT INTO audit_prune_token VALUES (1)")
    conn.execute("DELETE FROM audit_log WHERE seq <= 62")
    conn.execute("INSERT INTO audit_anchor VALUES (62, ?, 'audit-archive/none.jsonl', '2033-01-01')", (last_hash,))
    conn.execute("DELETE FROM audit_prune_token")
    conn.execute("COMMIT")
    conn.close()
    done = cli("audit", "verify", "--config", generated.config_path)
    assert done.returncode == 1
    assert "audit trail BROKEN at entry 62" in done.stdout  # the chain links to an anchor ...
    assert "the anchor at entry 62 has no signed checkpoint" in done.stdout  # ... which nobody signed
    assert "has no audit.export entry" in done.stdout


def _sign_every_4(generated: Generated) -> None:
    """The config says what the trail did: a checkpoint every 4 entries."""
    with open(generated.config_path, "a", encoding="utf-8") as config:
        config.write("\n[audit]\ncheckpoint_every = 4\n")


def test_checkpoints_and_the_anchor_are_append_only(generated: Generated) -> None:
    conn = sqlite3.connect(generated.store, isolation_level=None)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM audit_checkpoints WHERE seq = 4")
        with pytest.raises(sqlite3.IntegrityError, match="written by the prune only"):
            conn.execute("INSERT INTO audit_anchor VALUES (4, 'x', 'audit-archive/none.jsonl', '2033-01-01')")
    finally:
        conn.close()


def test_verify_detects_checkpoints_removed_and_the_whole_chain_rewritten(generated: Generated) -> None:
    """Without checkpoints the chain proves nothing: an edit with the whole chain recomputed would
    verify. The trail signs every 4th entry here, so 67 unsigned entries mean checkpoints went."""
    from cs_gateway.audit.chain import GENESIS, entry_hash

    _sign_every_4(generated)
    conn = sqlite3.connect(generated.store, isolation_level=None)
    conn.execute("DROP TRIGGER audit_checkpoints_no_delete")
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("BEGIN")
    conn.execute("DELETE FROM audit_checkpoints")
    conn.execute("UPDATE audit_log SET outcome = 'ok', reason = '' WHERE outcome = 'denied'")
    prev = GENESIS
    for entry in list(iter_entries(conn)):
        digest = entry_hash(prev, entry)
        conn.execute("UPDATE audit_log SET prev_hash = ?, entry_hash = ? WHERE seq = ?", (prev, digest, entry["seq"]))
        prev = digest
    conn.execute("COMMIT")
    conn.close()
    done = cli("audit", "verify", "--config", generated.config_path)
    assert done.returncode == 1, done.stdout
    assert "67 entries after the last signed checkpoint" in done.stdout
    assert "signed checkpoints are missing" in done.stdout


def test_verify_counts_the_entries_after_the_last_checkpoint(generated: Generated) -> None:
    _sign_every_4(generated)
    done = cli("audit", "verify", "--config", generated.config_path)
    assert done.returncode == 0, done.stdout
    assert "audit trail OK: 67 entries, 17 signed checkpoints, 0 entries after the last one" in done.stdout
    conn = sqlite3.connect(generated.store)
    try:
        (head_hash,) = conn.execute("SELECT entry_hash FROM audit_log WHERE seq = 67").fetchone()
    finally:
        conn.close()
    assert f"last signed: entry 67, hash {head_hash}" in done.stdout  # to keep elsewhere: shows a rollback


def test_verify_detects_a_fake_prune_at_a_real_checkpoint(generated: Generated) -> None:
    """The anchor is placed at a genuinely signed checkpoint (no key needed), the entries before
    it are deleted, and an audit.export entry saying "archived" is appended after the head with a
    correct hash. The prune signs its export entry at once: an unsigned one is not believed."""
    from cs_gateway.audit.crosscheck import EXPORT_ACTION, export_detail
    from cs_gateway.audit.event import OK

    conn = sqlite3.connect(generated.store, isolation_level=None)
    for trigger in ("audit_log_no_delete", "audit_anchor_only_by_prune"):
        conn.execute(f"DROP TRIGGER {trigger}")
    (last_hash,) = conn.execute("SELECT entry_hash FROM audit_log WHERE seq = 60").fetchone()
    conn.execute("BEGIN")
    conn.execute("DELETE FROM audit_log WHERE seq <= 60")
    conn.execute("INSERT INTO audit_anchor VALUES (60, ?, 'audit-archive/none.jsonl', '2033-01-01')", (last_hash,))
    forged = AuditEvent(action=EXPORT_ACTION, outcome=OK, detail=export_detail(1, 60, "/nowhere", "0" * 64, 30))
    AuditTrail(SubjectHasher(b"unknown key" * 3), None).append(conn, forged)
    conn.execute("COMMIT")
    conn.close()
    done = cli("audit", "verify", "--config", generated.config_path)
    assert done.returncode == 1, done.stdout
    assert "the audit.export entry saying what is archived is not signed" in done.stdout


# -- backup ------------------------------------------------------------------------------------


def test_backup_is_audited_first_and_makes_a_usable_0600_copy(generated: Generated, capsys) -> None:  # noqa: ANN001
    target = generated.store.parent / "media" / "cs-backup.sqlite3"
    target.parent.mkdir()
    status, out, err = run_main(capsys, "backup", "--config", generated.config_path, "--to", target)
    assert status == 0, err
    assert f"backup written to {target}" in out and "recorded as audit entry 68" in out
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    entry = entries(generated.store)[-1]
    assert (entry["seq"], entry["action"], entry["outcome"]) == (68, "store.backup", "ok")
    assert entry["spiffe_id"] == f"local:{local_user()}"
    assert str(generated.store.resolve()) in entry["detail"] and str(target) in entry["detail"]

    copy = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        assert copy.execute("PRAGMA quick_check").fetchone() == ("ok",)
        assert copy.execute("SELECT COUNT(*) FROM persons").fetchone() == (30,)
        copied = verify(copy, _certs(generated.pki))
        assert copied.ok and copied.entries == 68  # the copy holds its own backup entry
    finally:
        copy.close()

    status, _out, err = run_main(capsys, "backup", "--config", generated.config_path, "--to", target)
    assert status == 1 and "exists" in err
    refused = entries(generated.store)[-1]
    assert (refused["action"], refused["outcome"], refused["reason"]) == (
        "store.backup",
        "refused",
        "destination-exists",
    )
    assert len(entries(generated.store)) == 69


def test_backup_subprocess_and_verify_after(generated: Generated) -> None:
    target = generated.store.parent / "b.sqlite3"
    done = cli("backup", "--config", generated.config_path, "--to", target)
    assert done.returncode == 0, done.stderr
    done = cli("audit", "verify", "--config", generated.config_path)
    assert done.returncode == 0 and "audit trail OK: 68 entries" in done.stdout


def test_backup_by_someone_other_than_the_owner_is_refused_and_audited(
    generated: Generated,
    capsys,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    import cs_gateway.audit.backup as backup

    owner = generated.store.stat().st_uid
    monkeypatch.setattr(backup.os, "geteuid", lambda: owner + 4242 if owner else 4242)
    target = generated.store.parent / "theft.sqlite3"
    status, _out, err = run_main(capsys, "backup", "--config", generated.config_path, "--to", target)
    assert status == 1 and "only the store's owner or root" in err
    assert not target.exists()
    refused = entries(generated.store)[-1]
    assert (refused["action"], refused["outcome"], refused["reason"]) == (
        "store.backup",
        "refused",
        "not-administrator",
    )
