"""The audit trail: hash chain + signed checkpoints detect any edit, deletion, insertion or
reordering; auditing fails closed; every RPC outcome lands in the trail."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import grpc
import pytest

from clients.synthetic import synthetic_entry, tennyu_request
from cs_gateway.audit.chain import SubjectHasher, entry_hash
from cs_gateway.audit.event import Actor, AuditEvent
from cs_gateway.audit.trail import iter_entries, verify
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2 as upb
from pki.dev_pki import DevPki
from tests.conftest import TEST_HMAC_KEY, InProcessGateway, new_store
from tests.grpc_helpers import error_info


def _certs(pki: DevPki) -> list:  # noqa: ANN001
    from cryptography import x509

    return x509.load_pem_x509_certificates(pki.cert_path("cs").read_bytes())[:1]


def _trail(path: Path, pki: DevPki, events: list[AuditEvent], checkpoint_every: int = 4) -> None:
    store = new_store(path, pki, checkpoint_every=checkpoint_every)
    try:
        for event in events:
            store.record_audit(event).result(30)
    finally:
        store.close()  # signs the final head


def _raw(path: Path) -> sqlite3.Connection:
    """The attacker's view: direct write access to the file, triggers dropped."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("DROP TRIGGER audit_log_no_delete")
    return conn


def _rows(conn: sqlite3.Connection) -> list[tuple]:
    return conn.execute("SELECT * FROM audit_log ORDER BY rowid").fetchall()


def _rewrite(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    conn.execute("DELETE FROM audit_log")
    marks = ",".join("?" * len(rows[0]))
    conn.executemany(f"INSERT INTO audit_log VALUES ({marks})", rows)  # noqa: S608


def _verify(path: Path, pki: DevPki):  # noqa: ANN202
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return verify(conn, _certs(pki))
    finally:
        conn.close()


MUTATIONS = ("edit", "delete", "insert", "swap", "recompute")


TRAIL_SIZES = (2, 5, 12)  # with a checkpoint every 4 entries: none, one, and three checkpoints


def _events(count: int, seed: int) -> list[AuditEvent]:
    """Varied entries (the strategy's examples, drawn from a fixed seed: one trail per size)."""
    rng = random.Random(seed)
    return [_event(rng) for _ in range(count)]


def _event(rng: random.Random) -> AuditEvent:
    return AuditEvent(
        action=rng.choice(["/jukinet.cs.v1.UpdateService/Apply", "/jukinet.cs.v1.UpdateService/GetRecord"]),
        outcome=rng.choice(["ok", "refused", "denied", "error"]),
        actor=Actor(spiffe_id=rng.choice(["spiffe://t/kizon-juki/a", "spiffe://t/terminal/b"])),
        reason=rng.choice(["", "ALREADY_RESIDENT", "policy:role-not-allowed"]),
        subject_juminhyo_code=rng.choice(["", synthetic_entry(1).juminhyo_code, synthetic_entry(2).juminhyo_code]),
        request_id="".join(rng.choice("abc123") for _ in range(rng.randint(0, 6))),
    )


@pytest.fixture(scope="module")
def base_trails(tmp_path_factory: pytest.TempPathFactory, dev_pki: DevPki) -> dict[int, Path]:
    """One signed trail per size, written once by a real store (its writer process) and copied for
    each tampering: the store's start was the whole cost of one example."""
    out = {}
    for size in TRAIL_SIZES:
        path = tmp_path_factory.mktemp("audit-base") / "cs.sqlite3"
        _trail(path, dev_pki, _events(size, seed=size))
        assert _verify(path, dev_pki).ok
        out[size] = path
    return out


def _copy(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@pytest.mark.parametrize("mutation", MUTATIONS)
@pytest.mark.parametrize("size", TRAIL_SIZES)
def test_every_single_entry_tampering_is_detected(
    tmp_path: Path, dev_pki: DevPki, base_trails: dict[int, Path], size: int, mutation: str
) -> None:
    """Every mutation at every position of each trail (exhaustive, where 60 random examples were
    drawn before)."""
    for k in range(size):
        path = tmp_path / f"tampered-{k}.sqlite3"
        _copy(base_trails[size], path)
        _tamper(path, mutation, k)
        report = _verify(path, dev_pki)
        assert not report.ok, (mutation, k)
        assert report.first_bad_seq is not None and report.problem


def _tamper(path: Path, mutation: str, k: int) -> None:
    conn = _raw(path)
    rows = _rows(conn)
    if mutation == "edit":
        conn.execute("UPDATE audit_log SET reason = reason || 'x' WHERE seq = ?", (rows[k][0],))
    elif mutation == "delete":
        conn.execute("DELETE FROM audit_log WHERE seq = ?", (rows[k][0],))
    elif mutation == "insert":
        forged = list(rows[k])
        forged[3] = "ok"  # outcome
        renumbered = [(i + 1, *r[1:]) for i, r in enumerate([*rows[:k], tuple(forged), *rows[k:]])]
        _rewrite(conn, renumbered)
    elif mutation == "swap":
        j = (k + 1) % len(rows)
        swapped = list(rows)  # the two entries trade places; seq (the row id) stays in order
        swapped[k], swapped[j] = (rows[k][0], *rows[j][1:]), (rows[j][0], *rows[k][1:])
        _rewrite(conn, swapped)
    else:  # edit entry k and recompute every hash after it, as an attacker without the CS key would
        edited = [list(r) for r in rows]
        edited[k][3] = "ok" if edited[k][3] != "ok" else "refused"
        prev = edited[k - 1][16] if k else rows[0][15]
        names = [d[0] for d in conn.execute("SELECT * FROM audit_log LIMIT 0").description]
        for row in edited[k:]:
            row[15] = prev
            row[16] = entry_hash(prev, dict(zip(names, row, strict=True)))
            prev = row[16]
        _rewrite(conn, [tuple(r) for r in edited])
    conn.close()


def test_subjects_are_stored_only_as_keyed_hmacs(tmp_path: Path, dev_pki: DevPki) -> None:
    code = synthetic_entry(1).juminhyo_code
    number = synthetic_entry(1).individual_number
    event = AuditEvent(action="x", outcome="ok", subject_juminhyo_code=code, subject_individual_number=number)
    _trail(tmp_path / "cs.sqlite3", dev_pki, [event])
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("cs.sqlite3*"))
    assert code.encode() not in raw and number.encode() not in raw
    conn = sqlite3.connect(tmp_path / "cs.sqlite3")
    (stored,) = conn.execute("SELECT subject_code_hmac FROM audit_log").fetchone()
    conn.close()
    hasher = SubjectHasher(TEST_HMAC_KEY)
    assert stored == hasher.juminhyo_code(code)  # an auditor with the key can test a known value
    assert stored != SubjectHasher(b"z" * 32).juminhyo_code(code)


def test_audit_log_refuses_update_and_delete(tmp_path: Path, dev_pki: DevPki) -> None:
    path = tmp_path / "cs.sqlite3"
    _trail(path, dev_pki, [AuditEvent(action="x", outcome="ok")])
    conn = sqlite3.connect(path)
    for statement in ("UPDATE audit_log SET outcome = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(statement)
    conn.close()


def _audit_rows(gateway: InProcessGateway) -> list[dict]:
    conn = sqlite3.connect(f"file:{gateway.config.store_path}?mode=ro", uri=True)
    try:
        return list(iter_entries(conn))
    finally:
        conn.close()


def test_every_rpc_outcome_is_audited(gateway: InProcessGateway) -> None:
    stub = gateway.stub()
    stub.Apply(tennyu_request(1), timeout=10)
    with pytest.raises(grpc.RpcError):
        stub.Apply(tennyu_request(1, request_prefix="again"), timeout=10)
    stub.GetRecord(upb.GetRecordRequest(juminhyo_code=synthetic_entry(1).juminhyo_code), timeout=10)
    with pytest.raises(grpc.RpcError):
        gateway.stub("terminal").Apply(tennyu_request(2), timeout=10)
    rows = _audit_rows(gateway)
    assert [(r["action"].rsplit("/", 1)[-1], r["outcome"], r["reason"]) for r in rows] == [
        ("Apply", "ok", ""),
        ("Apply", "refused", "ALREADY_RESIDENT"),
        ("GetRecord", "ok", ""),
        ("Apply", "denied", "policy:role-not-allowed"),
    ]
    assert rows[0]["update_seq"] == 1
    assert rows[0]["spiffe_id"].endswith("/kizon-juki/kizon-juki-01")
    assert rows[3]["spiffe_id"].endswith("/terminal/terminal-01")
    assert len(rows[3]["cert_fingerprint"]) == 64 and rows[3]["peer"].startswith("ipv")
    hasher = SubjectHasher(gateway.config.audit.hmac_key.read_bytes())
    assert rows[2]["subject_code_hmac"] == hasher.juminhyo_code(synthetic_entry(1).juminhyo_code)


def test_updates_and_lookups_fail_closed_when_the_trail_cannot_be_written(gateway: InProcessGateway) -> None:
    stub = gateway.stub()
    stub.Apply(tennyu_request(1), timeout=10)
    conn = sqlite3.connect(gateway.config.store_path, isolation_level=None)
    conn.execute("CREATE TRIGGER audit_offline BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'offline'); END")
    conn.close()
    with pytest.raises(grpc.RpcError) as caught:
        stub.Apply(tennyu_request(2), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert error_info(caught.value).reason == "STORE_UNAVAILABLE"
    assert gateway.running.store.find(synthetic_entry(2).juminhyo_code) is None  # not performed unaudited
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetRecord(upb.GetRecordRequest(juminhyo_code=synthetic_entry(1).juminhyo_code), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE  # the lookup returns nothing
    assert gateway.running.store.last_update_seq() == 1
