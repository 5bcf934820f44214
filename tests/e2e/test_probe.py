"""cs-gateway-probe against a real gateway process, then the audit trail it left.

The gateway runs policy/probe.toml: kizon-juki, terminal and the rest on loopback, the 宛名
system on its own segment that does not reach the CS, and - when this machine lets us make a
network namespace - prefecture on the namespace's segment 198.18.N.0/24 with MAC filtering, its
host listed with a MAC that is not the namespace veth's. The gateway also listens on the host
end of the veth pair. The probe (a subprocess, as a tester runs it) must PASS every attack; the
two namespace attacks may only SKIP when no namespace can be made.

Then, with the gateway stopped, the trail must hold exactly one 'denied' entry, with the rule,
the certificate fingerprint and the peer address, for every call that reached the guard - and
nothing for the handshake-level refusals.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from clients.probe import format_table
from clients.probe_attacks import Outcome
from cs_gateway.audit.trail import verify
from cs_gateway.domain.check_digit import make_juminhyo_code
from cs_gateway.process import GatewayProcess, start_gateway_process, write_dev_config
from pki.dev_pki import DevPki, init_dev_pki
from tests.netns import Veth, veth_pair

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PROBE_POLICY = REPO / "policy" / "probe.toml"
POLICY_SUBNET_PREFIX = "198.18.200."  # what policy/probe.toml names; replaced by our namespace's
PROBE_MAC_HOST_MAC = "02:c5:00:ff:00:01"  # the one MAC policy/probe.toml allows for probe-mac-01

# The rule each guarded attack must be refused with (the audit trail names it; the caller never does).
GUARD_RULES = {
    "revoked": "revocation:REVOKED",
    "terminal-apply": "policy:role-not-allowed",
    "kizon-juki-terminal-rpc": "policy:role-not-allowed",
    "atena": "network:segment-not-reaching-cs",
    "outside-segment": "network:address-outside-segment",
    "unknown-mac": "network:mac-not-allowed",
    "reflection": "policy:role-not-allowed",
    "health": "network:segment-not-reaching-cs",  # atena's call; kizon-juki's is served (SERVING)
    "sibling-ca": "issuer:unknown-ca",
    "root-signed": "issuer:root-signed",
    "ca-true-leaf": "profile:ca-certificate",
    "no-client-auth": "profile:no-client-auth",
    "rsa-1024": "profile:rsa-key-too-short",
    "sha1-signature": "profile:weak-signature",
    "expired-on-open-channel": "validity:expired",
    "crl-rollback": "revocation:CRL_ROLLED_BACK",
    "terminal-no-session": "session:missing",  # and session:unknown (the forged token): each call names its rule
    "stolen-token": "session:other-certificate",  # then session:unknown over its own certificate
}
# The counter-terminal rows that refuse in the service (audited 'refused', not 'denied').
TERMINAL_ROWS = {
    "totp-replay", "one-item-search", "card-replay", "card-other-session", "mass-lookup", "password-brute-force",
}  # fmt: skip
PROBE_OPERATOR = "probe-operator"
PROBE_PASSWORD = "probe operator password 2026"
CARD_PIN = "4711"
FLOOD_BOUND = 100  # the gateway's default limits.denied_per_identity
FLOOD_CALLS = 150  # the probe's default --flood-calls
GUARD_CALLS = {
    "atena": 2,
    "reflection": 2,
    "terminal-no-session": 2,
    "stolen-token": 2,
}  # Apply + GetRecord; v1alpha + v1
NETNS_ATTACKS = {"outside-segment", "unknown-mac"}
# Refused before any RPC exists. grpcio for Python gives the server no hook into a failed TLS
# handshake (nor into a connection that never speaks TLS), so the gateway cannot audit these:
# the test asserts that they leave no entry, i.e. that the trail does not pretend otherwise.
HANDSHAKE_ATTACKS = {"no-client-cert", "self-signed", "other-ca", "expired", "not-yet-valid", "plaintext"}


@contextmanager
def namespace() -> Iterator[Veth | str]:
    """A namespace joined to this host by a veth pair (tests/netns.py); yields the reason when
    it cannot be made. 198.18.200.0/24 is policy/probe.toml's placeholder: kept clear."""
    with veth_pair("gp", avoid_octets=frozenset({200})) as made:
        yield made


def _write_config(tmp_path: Path, pki: DevPki, veth: Veth | None) -> Path:
    policy = PROBE_POLICY.read_text(encoding="utf-8")
    if veth is not None:
        assert POLICY_SUBNET_PREFIX in policy
        assert veth.ns_mac != PROBE_MAC_HOST_MAC
        policy = policy.replace(POLICY_SUBNET_PREFIX, veth.subnet_prefix)
    (tmp_path / "probe-policy.toml").write_text(policy, encoding="utf-8")
    config = write_dev_config(tmp_path / "gw.toml", pki_dir=pki.directory, store_path=tmp_path / "cs.sqlite3")
    text = config.read_text(encoding="utf-8")
    if veth is not None:  # the same port on the host end of the veth pair
        text = text.replace("\n[tls]\n", f'also_listen = ["{veth.host_ip}:0"]\n\n[tls]\n', 1)
        assert "also_listen" in text
    config.write_text(text + '\n[policy]\nfile = "probe-policy.toml"\n', encoding="utf-8")
    return config


def _terminal_material(tmp_path: Path, config: Path) -> list[str]:
    """A test operator enrolled by the admin command and a card of the card CA (named in the
    config's [card]), before the gateway starts; the probe's options for them (secrets in 0600 files)."""
    from urllib.parse import parse_qs, urlparse

    from cs_gateway import operator_commands
    from cs_gateway.config import load_config
    from pki.card import CARD_CA_CERT, CARD_CRL, CardFace, init_card_ca, issue_card

    ca_dir = tmp_path / "card-ca"
    init_card_ca(ca_dir)
    with config.open("a", encoding="utf-8") as out:
        out.write(f'\n[card]\nca = "{ca_dir / CARD_CA_CERT}"\ncrl = "{ca_dir / CARD_CRL}"\n')
    card = tmp_path / "probe.card"
    face = CardFace("山田　花子", "青森県弘前市大字上白銀町1番地1", date(1987, 10, 3), 2)
    issue_card(ca_dir, card, make_juminhyo_code("3920174864"), face, CARD_PIN)
    _, uri = operator_commands.add(load_config(config), PROBE_OPERATOR, "shokai", PROBE_PASSWORD)
    files = {
        "password": PROBE_PASSWORD,
        "totp": parse_qs(urlparse(uri).query)["secret"][0],
        "pin": CARD_PIN,
    }
    for name, value in files.items():
        (tmp_path / name).touch(mode=0o600)
        (tmp_path / name).write_text(value + "\n", encoding="utf-8")
    return [
        "--operator", PROBE_OPERATOR,
        "--operator-password-file", str(tmp_path / "password"),
        "--operator-totp-secret-file", str(tmp_path / "totp"),
        "--card", str(card),
        "--card-pin-file", str(tmp_path / "pin"),
    ]  # fmt: skip


def _start_gateway(tmp_path: Path, config: Path) -> GatewayProcess:
    """The gateway as a child process, its log in gateway.log (shown if it does not start)."""
    log = tmp_path / "gateway.log"
    with log.open("w", encoding="utf-8") as sink:
        try:
            return start_gateway_process(config, stderr=sink.fileno())
        except RuntimeError as err:
            text = log.read_text(encoding="utf-8")
            hint = ""
            if "Failed loading SSL server credentials from fetcher" in text:  # grpcio: one port per dynamic creds
                hint = " (a second port got the dynamic server credentials of the first: gateway.also_listen)"
            raise AssertionError(f"{err}{hint}; its log:\n{text[-3000:]}") from err


def _run_probe(
    gateway: GatewayProcess, pki: DevPki, veth: Veth | None, *only: str, extra: Sequence[str] = ()
) -> tuple[int, list[Outcome], str]:
    command = [sys.executable, "-m", "clients.probe", "--target", gateway.target, "--pki", str(pki.directory), "--json"]
    if veth is not None:
        command += ["--netns", veth.netns, "--netns-target", f"{veth.host_ip}:{gateway.port}"]
    command += list(extra)
    if only:
        command += ["--only", *only]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, cwd=REPO, check=False)
    for secret in (PROBE_PASSWORD, CARD_PIN):  # as a token: "4711" inside a hex fingerprint is no leak
        leak = re.search(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])", done.stdout + done.stderr)
        assert leak is None, "the probe printed a secret"
    try:
        outcomes = [Outcome.from_json(r) for r in json.loads(done.stdout)["results"]]
    except (ValueError, KeyError) as err:
        raise AssertionError(f"no JSON from the probe ({err}): {done.stdout}\n{done.stderr}") from err
    table = format_table(outcomes)
    print(table)  # shown with pytest -s, and on failure
    return done.returncode, outcomes, table


def _denied_rows(store: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(
            "SELECT action, reason, detail, spiffe_id, cert_fingerprint, peer FROM audit_log WHERE outcome = 'denied'"
        ).fetchall()
    finally:
        conn.close()


def _refusal_reasons(store: Path) -> list[tuple[str]]:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT reason FROM audit_log WHERE outcome = 'refused'").fetchall()
    finally:
        conn.close()


def _all_fingerprints(store: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return {fp for (fp,) in conn.execute("SELECT cert_fingerprint FROM audit_log")}
    finally:
        conn.close()


def test_probe_passes_every_attack_and_the_trail_records_each_denial(tmp_path: Path) -> None:
    started = time.monotonic()
    pki = init_dev_pki(tmp_path / "pki")
    store = tmp_path / "cs.sqlite3"
    with namespace() as made:
        veth = made if isinstance(made, Veth) else None
        config = _write_config(tmp_path, pki, veth)
        material = _terminal_material(tmp_path, config)
        gateway = _start_gateway(tmp_path, config)
        try:
            code, outcomes, table = _run_probe(gateway, pki, veth, extra=material)
        finally:
            assert gateway.stop() == 0, "the gateway did not stop cleanly after the probe"

    by_attack = {o.attack: o for o in outcomes}
    expected_rows = {"baseline", "uniform-refusal", *GUARD_RULES, *HANDSHAKE_ATTACKS}
    expected_rows |= {"oversized-message", "metadata-flood", "audit-flood", "login-brute-force", *TERMINAL_ROWS}
    assert set(by_attack) == expected_rows, table
    for outcome in outcomes:
        if outcome.attack in NETNS_ATTACKS and veth is None:
            assert outcome.verdict == "SKIP", table
            print(f"{outcome.attack} skipped: {made}")
        else:
            assert outcome.verdict == "PASS", f"{outcome.attack}: {outcome.note}\n{table}"
    assert code == 0, table

    # Every call that reached the guard: exactly one 'denied' entry, with the rule that refused
    # it, the fingerprint of the certificate presented and the address it came from.
    rows = _denied_rows(store)
    expected_calls = 0
    wanted: Counter[tuple[str, str, str]] = Counter()
    for attack, rule in GUARD_RULES.items():
        outcome = by_attack[attack]
        if outcome.verdict == "SKIP":
            assert not outcome.guard_calls
            continue
        if attack == "crl-rollback":  # as many as the probe's polls were refused, at least two
            assert len(outcome.guard_calls) >= 2, outcome.guard_calls
        else:
            assert len(outcome.guard_calls) == GUARD_CALLS.get(attack, 1), attack
        peer_prefix = f"ipv4:{veth.ns_ip}:" if attack in NETNS_ATTACKS and veth else "ipv4:127.0.0.1:"
        calls = Counter((call.method, call.fingerprint, call.rule or rule) for call in outcome.guard_calls)
        wanted.update(calls)
        for method, fingerprint, reason in calls:
            matching = [r for r in rows if r["action"] == method and r["cert_fingerprint"] == fingerprint]
            for entry in (r for r in matching if r["reason"] == reason):
                assert len(entry["cert_fingerprint"]) == 64
                assert entry["peer"].startswith(peer_prefix), (attack, entry["peer"])
                assert entry["spiffe_id"].startswith("spiffe://hirosaki.jukinet.test/"), dict(entry)
    # (two attacks may make the same call, e.g. a terminal's Lookup refused session:unknown: counted together)
    for (method, fingerprint, reason), count in wanted.items():
        expected_calls += count
        matching = [
            r for r in rows if (r["action"], r["cert_fingerprint"], r["reason"]) == (method, fingerprint, reason)
        ]
        assert len(matching) == count, (method, reason, [dict(r) for r in matching])
    # The audit flood: its denials up to the bound, one cut-off entry, and (the gateway stopped
    # within the window) one entry with the count of the calls refused unaudited.
    (flood_fingerprint,) = by_attack["audit-flood"].fingerprints
    flood = [r for r in rows if r["cert_fingerprint"] == flood_fingerprint]
    reasons = [r["reason"] for r in flood]
    assert reasons == ["policy:role-not-allowed"] * FLOOD_BOUND + ["rate:cut-off", "rate:cut-off-ended"], Counter(
        reasons
    )
    suppressed = FLOOD_CALLS - FLOOD_BOUND - 1 + 1  # the rest of the flood, and its GetRecord
    assert flood[-1]["detail"] == f"identity cut off until the gateway stopped: suppressed={suppressed}"
    expected_calls += len(flood)
    spiffe_by_rule = {r["reason"]: r["spiffe_id"] for r in rows}
    # the probe's own re-issue for the listed host kizon-juki-01 (hosts are checked on loopback
    # too), never the shared dev certificate of that host
    assert spiffe_by_rule["revocation:REVOKED"].endswith("/kizon-juki/kizon-juki-01")
    revoked_fp = next(r["cert_fingerprint"] for r in rows if r["reason"] == "revocation:REVOKED")
    dev_cert = x509.load_pem_x509_certificates(pki.cert_path("kizon-juki").read_bytes())[0]
    assert revoked_fp != dev_cert.fingerprint(hashes.SHA256()).hex()
    if veth is not None:
        assert spiffe_by_rule["network:mac-not-allowed"].endswith("/prefecture/probe-mac-01")
    # ... and nothing else was denied (the oversized message, the metadata flood and the
    # baseline never reach the guard's refusal; handshake refusals never reach the guard at all).
    assert len(rows) == expected_calls, [dict(r) for r in rows]
    audited = _all_fingerprints(store)
    for attack in HANDSHAKE_ATTACKS:
        assert not set(by_attack[attack].fingerprints) & audited, attack

    # The terminal rows' refusals are in the trail with their true reasons (the caller heard less).
    reasons = {r[0] for r in _refusal_reasons(store)}
    for reason in ("TOTP_REPLAYED", "WRONG_PASSWORD", "OPERATOR_LOCKED", "SEARCH_NEEDS_TWO_ITEMS", "SEARCH_NEEDS_NAME",
                   "CARD_SIGNATURE_REPLAYED", "CARD_NONCE_OTHER_SESSION", "RATE_LIMITED"):  # fmt: skip
        assert reason in reasons, (reason, reasons)

    # cs-gateway audit verify: the chain and its signed checkpoints are intact.
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        report = verify(conn, [x509.load_pem_x509_certificates(pki.cert_path("cs").read_bytes())[0]])
    finally:
        conn.close()
    assert report.ok, report.describe()
    assert report.entries >= len(rows)
    assert time.monotonic() - started < 60  # the terminal rows add a few seconds (argon2 per login)


def test_probe_fails_a_gateway_with_loose_limits(tmp_path: Path) -> None:
    """The probe is worth something only if it can fail: 1 MiB messages and 1 MiB of metadata
    let both floods through, no rate limit lets a mass lookup through, and without
    gateway.municipality_name 氏名 + 住所 "青森県弘前市" is answered: the probe must say so (exit 1)."""
    pki = init_dev_pki(tmp_path / "pki")
    config = write_dev_config(
        tmp_path / "gw.toml", pki_dir=pki.directory, store_path=tmp_path / "cs.sqlite3", municipality_name=""
    )
    config.write_text(
        config.read_text(encoding="utf-8")
        + "\n[limits]\nmax_receive_message_bytes = 1048576\nmax_metadata_bytes = 1048576\n"
        + "\n[terminal]\nlookups_per_minute = 100000\n",  # no rate limit to speak of
        encoding="utf-8",
    )
    material = _terminal_material(tmp_path, config)
    gateway = _start_gateway(tmp_path, config)
    try:
        code, outcomes, table = _run_probe(gateway, pki, None, "oversized-message", "metadata-flood")
        mass_code, mass, mass_table = _run_probe(
            gateway, pki, None, "mass-lookup", "one-item-search", extra=[*material, "--mass-lookups", "40"]
        )
        bare_code, bare, bare_table = _run_probe(gateway, pki, None, *TERMINAL_ROWS, "stolen-token")
    finally:
        gateway.stop()
    # Bulk extraction that nothing stops is a finding.
    rows = {o.attack: o for o in mass}
    assert (rows["mass-lookup"].verdict, rows["one-item-search"].verdict) == ("FAIL", "FAIL"), mass_table
    assert "40 lookups in a row, none refused" in rows["mass-lookup"].note, mass_table
    # the other one-item searches are still refused; only the municipality-wide 住所 got through
    assert rows["one-item-search"].note == "氏名+住所(市区町村名のみ): accepted", mass_table
    assert mass_code == 1
    # Without an operator or a card, the terminal rows are SKIPped with the reason, never passed.
    assert {o.attack: o.verdict for o in bare} == dict.fromkeys([*TERMINAL_ROWS, "stolen-token"], "SKIP"), bare_table
    assert all("needs" in o.note for o in bare), bare_table
    assert bare_code == 0
    verdicts = {o.attack: o.verdict for o in outcomes}
    assert verdicts == {"baseline": "PASS", "oversized-message": "FAIL", "metadata-flood": "FAIL"}, table
    assert code == 1
    # The 200 KiB message was read and reached the service (which refused it on format: the
    # probe's requests are built so that nothing is stored even when a limit fails open).
    assert "was read" in next(o.note for o in outcomes if o.attack == "oversized-message"), table
