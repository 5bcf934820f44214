"""VerifyCard at the counter, over real mTLS against the in-process gateway, with a card CA and
cards made at test time (pki/card.py): a good card verifies with its field-by-field comparison,
and each refusal has its own reason, is audited, and the answer comes only once the entry is
durable: replayed signature, nonce from another session, card from another CA, revoked card,
expired card, removed resident; no session at all is the guard's SESSION_REQUIRED."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from clients import terminal_cli
from clients.card_client import card_request, verify_card
from clients.synthetic import juminhyo_code_of, pb_date, synthetic_entry, tennyu_request
from cs_gateway.audit.chain import SubjectHasher
from cs_gateway.audit.keys import load_or_create_hmac_key
from cs_gateway.domain.check_digit import make_juminhyo_code
from cs_gateway.gen.jukinet.cs.v1 import identity_pb2 as pb
from cs_gateway.gen.jukinet.cs.v1 import terminal_service_pb2 as tpb
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2 as upb
from cs_gateway.security.operator_auth import totp_code
from pki.card import CARD_CA_CERT, CARD_CRL, CardFace, init_card_ca, issue_card, read_card, revoke_card
from pki.dev_pki import DevPki
from tests.grpc_helpers import error_info
from tests.terminal_support import PASSWORD, Counter, counter_gateway, session

VERIFY = "/jukinet.cs.v1.TerminalService/VerifyCard"
PIN = "4711"
OPERATORS = {"sato": "shokai", "suzuki": "shokai", "takahashi": "shokai-shomei", "kato": "shokai"}
RESIDENTS = 6
DECEASED = 5  # person 5 dies (死亡): a removed resident


@dataclass
class Cards:
    counter: Counter
    ca_dir: Path
    out: Path

    def face_of(self, i: int, **changes: object) -> CardFace:
        e = synthetic_entry(i)
        face = {
            "name": e.name_kanji,
            "address": e.address,
            "birth_date": date(e.birth_date.year, e.birth_date.month, e.birth_date.day),
            "sex": e.sex,
        }
        return CardFace(**{**face, **changes})  # type: ignore[arg-type]

    def make(self, name: str, i: int, *, ca_dir: Path | None = None, code: str = "", **kw: object) -> Path:
        path = self.out / f"{name}.card"
        face = kw.pop("face", None) or self.face_of(i)
        issue_card(ca_dir or self.ca_dir, path, code or juminhyo_code_of(i), face, PIN, **kw)  # type: ignore[arg-type]
        return path


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory, dev_pki: DevPki) -> Iterator[Cards]:
    tmp = tmp_path_factory.mktemp("card")
    ca_dir = tmp / "card-ca"
    init_card_ca(ca_dir)
    extra = f'[card]\nca = "{ca_dir / CARD_CA_CERT}"\ncrl = "{ca_dir / CARD_CRL}"\n'
    with counter_gateway(tmp, dev_pki, OPERATORS, "lookups_per_minute = 1000\n", extra) as running:
        writer = running.gw.stub("kizon-juki")
        for i in range(RESIDENTS):
            writer.Apply(tennyu_request(i), timeout=30)
        death = upb.UpdateRequest(
            request_id="death-5",
            change_reason=pb.CHANGE_REASON_SHIBO,
            change_date=pb_date(date(2026, 1, 10)),
            operator_id="kizon-op01",
            terminal_id="kizon-t01",
            entry=synthetic_entry(DECEASED),
        )
        result = writer.Apply(death, timeout=30)
        assert not result.HasField("refusal"), result
        out = tmp / "cards"
        out.mkdir()
        yield Cards(running, ca_dir, out)


_TOKENS: dict[str, tuple[object, str]] = {}


def terminal(cards: Cards, operator_id: str) -> tuple[object, str]:
    """(stub, token): one login per operator (a second within 30 s would replay the TOTP)."""
    if operator_id not in _TOKENS:
        stub = cards.counter.stub()
        _TOKENS[operator_id] = (stub, cards.counter.login(operator_id, stub).session_token)
    return _TOKENS[operator_id]


def refusal(call) -> tuple[grpc.StatusCode, str]:  # noqa: ANN001
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code(), error_info(caught.value).reason


def last_entry(cards: Cards) -> dict:
    conn = sqlite3.connect(f"file:{cards.counter.gw.config.store_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return dict(conn.execute("SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone())
    finally:
        conn.close()


def hasher(cards: Cards) -> SubjectHasher:
    return SubjectHasher(load_or_create_hmac_key(cards.counter.gw.config.audit.hmac_key, may_create=False))


PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


def refused_with(cards: Cards, path: Path, reason: str, code: grpc.StatusCode = PRECONDITION) -> dict:
    stub, token = terminal(cards, "sato")
    assert refusal(lambda: verify_card(stub, token, path, PIN)) == (code, reason)  # type: ignore[arg-type]
    entry = last_entry(cards)
    assert (entry["action"], entry["outcome"], entry["reason"], entry["operator_id"], entry["terminal_id"]) == (
        VERIFY,
        "refused",
        reason,
        "sato",
        "terminal-01",
    )
    return entry


def test_a_good_card_verifies_with_the_comparison_after_its_audit_entry(cards: Cards) -> None:
    path = cards.make("good", 1)
    stub, token = terminal(cards, "sato")
    answer = verify_card(stub, token, path, PIN)  # type: ignore[arg-type]
    assert answer.record.juminhyo_code == juminhyo_code_of(1)
    assert answer.record.name_kanji == synthetic_entry(1).name_kanji
    assert answer.individual_number_masked and answer.record.individual_number.startswith("********")
    assert [(c.field, c.match) for c in answer.comparison] == [
        ("name", True),
        ("address", True),
        ("birth_date", True),
        ("sex", True),
    ]
    entry = last_entry(cards)
    assert (entry["action"], entry["outcome"], entry["operator_id"], entry["terminal_id"]) == (
        VERIFY,
        "ok",
        "sato",
        "terminal-01",
    )
    assert entry["subject_code_hmac"] == hasher(cards).juminhyo_code(juminhyo_code_of(1))
    assert entry["detail"].startswith("purpose=identity-check; card_serial=")
    assert entry["detail"].endswith("individual_number=masked; name=match address=match birth_date=match sex=match")
    assert juminhyo_code_of(1) not in str(entry.values())


def test_a_card_face_that_differs_is_shown_field_by_field(cards: Cards) -> None:
    # the card still shows the old address (a 転居 not yet written on the card); width and 番地
    # notation alone are no difference
    e = synthetic_entry(2)
    wide = e.address.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    same = cards.make("wide", 2, face=cards.face_of(2, address=wide))
    old = cards.make("moved", 2, face=cards.face_of(2, address="青森県弘前市大字旧町1番地"))
    stub, token = terminal(cards, "sato")
    assert all(c.match for c in verify_card(stub, token, same, PIN).comparison)  # type: ignore[arg-type]
    answer = verify_card(stub, token, old, PIN)  # type: ignore[arg-type]
    by_field = {c.field: c for c in answer.comparison}
    assert not by_field["address"].match and by_field["name"].match
    assert (by_field["address"].card_value, by_field["address"].cs_value) == ("青森県弘前市大字旧町1番地", e.address)
    assert "address=differs" in last_entry(cards)["detail"]


def test_the_number_is_shown_for_a_certificate_issue_by_a_shomei_operator(cards: Cards) -> None:
    stub, token = terminal(cards, "takahashi")
    answer = verify_card(stub, token, cards.make("shomei", 3), PIN, purpose=tpb.PURPOSE_CERTIFICATE_ISSUE)  # type: ignore[arg-type]
    assert not answer.individual_number_masked and "*" not in answer.record.individual_number


def test_a_replayed_signature_is_refused(cards: Cards) -> None:
    path = cards.make("replay", 1)
    stub, token = terminal(cards, "sato")
    nonce = stub.BeginCardCheck(tpb.BeginCardCheckRequest(), metadata=session(token), timeout=30).nonce  # type: ignore[attr-defined]
    request = card_request(path, PIN, nonce, tpb.PURPOSE_IDENTITY_CHECK)
    stub.VerifyCard(request, metadata=session(token), timeout=30)  # type: ignore[attr-defined]
    reason = refusal(lambda: stub.VerifyCard(request, metadata=session(token), timeout=30))  # type: ignore[attr-defined]
    assert reason == (grpc.StatusCode.FAILED_PRECONDITION, "CARD_SIGNATURE_REPLAYED")
    assert (last_entry(cards)["outcome"], last_entry(cards)["reason"]) == ("refused", "CARD_SIGNATURE_REPLAYED")


def test_a_nonce_from_another_session_is_refused(cards: Cards) -> None:
    path = cards.make("other-session", 1)
    other_stub, other_token = terminal(cards, "suzuki")
    nonce = other_stub.BeginCardCheck(tpb.BeginCardCheckRequest(), metadata=session(other_token), timeout=30).nonce  # type: ignore[attr-defined]
    stub, token = terminal(cards, "sato")
    request = card_request(path, PIN, nonce, tpb.PURPOSE_IDENTITY_CHECK)
    reason = refusal(lambda: stub.VerifyCard(request, metadata=session(token), timeout=30))  # type: ignore[attr-defined]
    assert reason == (grpc.StatusCode.FAILED_PRECONDITION, "CARD_NONCE_OTHER_SESSION")
    assert last_entry(cards)["reason"] == "CARD_NONCE_OTHER_SESSION"
    # a nonce never given out
    unknown = card_request(path, PIN, b"\x00" * 32, tpb.PURPOSE_IDENTITY_CHECK)
    reason = refusal(lambda: stub.VerifyCard(unknown, metadata=session(token), timeout=30))  # type: ignore[attr-defined]
    assert reason == (grpc.StatusCode.FAILED_PRECONDITION, "CARD_NONCE_UNKNOWN")


def test_a_card_from_another_ca_is_refused(cards: Cards, tmp_path: Path) -> None:
    rogue = tmp_path / "rogue-ca"
    init_card_ca(rogue, common_name="JLIS card CA (emulated)")  # the same name, another key
    entry = refused_with(cards, cards.make("rogue", 1, ca_dir=rogue), "CARD_UNKNOWN_CA")
    assert entry["subject_code_hmac"] in ("", None)  # a rogue certificate's code is not taken as the subject


def test_a_revoked_card_is_refused(cards: Cards) -> None:
    path = cards.make("lost", 4)
    stub, token = terminal(cards, "sato")
    verify_card(stub, token, path, PIN)  # type: ignore[arg-type]
    revoke_card(cards.ca_dir, path)  # reported lost: the gateway reads the new card CRL
    entry = refused_with(cards, path, "CARD_REVOKED")
    assert entry["subject_code_hmac"] == hasher(cards).juminhyo_code(juminhyo_code_of(4))


def test_an_expired_card_is_refused(cards: Cards) -> None:
    started = datetime.now(UTC) - timedelta(days=400)
    refused_with(cards, cards.make("expired", 1, not_before=started, days=365), "CARD_EXPIRED")


def test_a_card_of_a_removed_resident_is_refused(cards: Cards) -> None:
    entry = refused_with(cards, cards.make("deceased", DECEASED), "CARD_HOLDER_NOT_CURRENT", grpc.StatusCode.NOT_FOUND)
    assert entry["subject_code_hmac"] == hasher(cards).juminhyo_code(juminhyo_code_of(DECEASED))
    never = make_juminhyo_code("9876543210")
    refused_with(cards, cards.make("never", 0, code=never), "CARD_HOLDER_NOT_CURRENT", grpc.StatusCode.NOT_FOUND)


def test_no_session_no_card_check(cards: Cards) -> None:
    stub = cards.counter.stub()
    for call in (
        lambda: stub.BeginCardCheck(tpb.BeginCardCheckRequest(), timeout=30),
        lambda: stub.VerifyCard(tpb.VerifyCardRequest(purpose=tpb.PURPOSE_IDENTITY_CHECK), timeout=30),
    ):
        assert refusal(call) == (grpc.StatusCode.UNAUTHENTICATED, "SESSION_REQUIRED")


def test_cs_terminal_shows_the_comparison_and_wrong_pins_lock_the_card_file(
    cards: Cards, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io
    import time

    path = cards.make("at-the-counter", 3, face=cards.face_of(3, address="青森県弘前市大字旧町1番地"))
    pki = cards.counter.gw.pki
    argv = [
        "--target", f"localhost:{cards.counter.gw.port}",
        "--ca", str(pki.ca_cert_path), "--cert", str(pki.cert_path("terminal")), "--key", str(pki.key_path("terminal")),
        "--operator", "kato", "--password-stdin", "--totp", totp_code(cards.counter.secrets["kato"], time.time()),
        "verify-card", "--pin-stdin", str(path),
        *["verify-card", "--pin-stdin", str(path)] * 3,
    ]  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join([PASSWORD, PIN, "0000", "0000", "0000"]) + "\n"))
    assert terminal_cli.main(argv) == terminal_cli.EXIT_REFUSED
    out = capsys.readouterr().out
    assert "card check at-the-counter.card" in out and "相違 differs" in out and "相違: 住所" in out
    assert "wrong PIN (2 tries left" in out and "the card is now locked" in out
    assert juminhyo_code_of(3) not in out  # the code is shown masked
    assert read_card(path).locked


def test_begin_card_check_is_audited_before_its_nonce_is_given_and_verify_card_names_it(cards: Cards) -> None:
    """The nonce is a terminal operation like the others: its entry (operator, terminal, a
    reference of the nonce, never the nonce) is durable when the answer arrives; the VerifyCard
    that spends it repeats the reference, so an auditor ties the two together."""
    import hashlib

    path = cards.make("audited-nonce", 3)
    stub, token = terminal(cards, "suzuki")
    begun = stub.BeginCardCheck(tpb.BeginCardCheckRequest(), metadata=session(token), timeout=30)  # type: ignore[attr-defined]
    ref = hashlib.sha256(begun.nonce).hexdigest()[:16]
    entry = last_entry(cards)  # read at once: the answer came only after the commit
    assert (entry["action"], entry["outcome"], entry["operator_id"], entry["terminal_id"]) == (
        "/jukinet.cs.v1.TerminalService/BeginCardCheck",
        "ok",
        "suzuki",
        "terminal-01",
    )
    assert entry["detail"] == f"nonce={ref}; valid_s={begun.valid_seconds}"
    assert begun.nonce.hex() not in str(entry.values())
    request = card_request(path, PIN, begun.nonce, tpb.PURPOSE_IDENTITY_CHECK)
    stub.VerifyCard(request, metadata=session(token), timeout=30)  # type: ignore[attr-defined]
    verified = last_entry(cards)
    assert (verified["action"], verified["outcome"]) == (VERIFY, "ok")
    assert f"; nonce={ref};" in verified["detail"]
    # ... and a refusal names it too (the same signature again: a replay)
    assert refusal(lambda: stub.VerifyCard(request, metadata=session(token), timeout=30)) == (  # type: ignore[attr-defined]
        PRECONDITION,
        "CARD_SIGNATURE_REPLAYED",
    )
    assert last_entry(cards)["detail"] == f"purpose=identity-check; nonce={ref}"
