"""cs-gateway-probe: run an attack matrix against a RUNNING gateway and say what it let through.

Usage::

    cs-gateway-probe --target HOST:PORT --pki DIR [--trust-domain D]
                     [--netns NAME --netns-target HOST:PORT] [--only ATTACK ...] [--json]

``--pki`` is the gateway's dev PKI directory (``cs-gateway pki init``): the probe makes its
attack material from it at run time (expired and not-yet-valid certificates from the issuing
CA, a self-signed certificate, one from a CA of its own) and revokes a FRESH kizon-juki
certificate of a ``probe-revoked-*`` host with ``pki.crl.revoke`` (the shared role
certificates are used, never changed). The gateway must read its CRL from that directory.

The attacks and what must happen (clients/probe_attacks.py):

* no-client-cert, self-signed, other-ca, expired, not-yet-valid: the TLS handshake is refused
  (UNAVAILABLE; a second, plain-ssl client checks that no TLS session is established);
* revoked: PERMISSION_DENIED / ACCESS_DENIED once the gateway has re-read the CRL (<= ~3 s);
* sibling-ca, root-signed: a kizon-juki-01 leaf from another intermediate under the same root,
  or from the root itself -> PERMISSION_DENIED (the issuer is pinned per role);
* ca-true-leaf, no-client-auth, rsa-1024, sha1-signature: leaves off the client certificate
  profile, from the issuing CA -> PERMISSION_DENIED (sha1-signature needs the openssl command);
* expired-on-open-channel: a certificate valid for 3 more seconds, served, then refused on the
  same connection once expired;
* crl-rollback: the CRL from before a revocation put back -> every call refused (fail closed),
  and served again once the newest CRL is restored (the probe restores it);
* terminal-apply: a terminal calling Apply -> PERMISSION_DENIED;
* kizon-juki-terminal-rpc: a method the gateway does not serve -> PERMISSION_DENIED, not UNIMPLEMENTED;
* terminal-no-session: a terminal's Lookup without an operator session and with a forged token
  -> UNAUTHENTICATED / SESSION_REQUIRED, one answer for both (audited session:missing / :unknown);
* login-brute-force: password guesses at likely operator ids -> one LOGIN_FAILED answer for all;
* the counter-terminal attacks (clients/probe_terminal.py), SKIPped without what they need:
  totp-replay (a code used once, sent again -> LOGIN_FAILED), stolen-token (the session token over
  another terminal certificate -> SESSION_REQUIRED, and the session ends), one-item-search (氏名 +
  性別; 生年月日 alone; 住所 "-" + 生年月日 + 性別 -> SEARCH_NEEDS_TWO_ITEMS; 住所 + 生年月日 ->
  SEARCH_NEEDS_NAME), card-replay (a card signature sent twice -> CARD_SIGNATURE_REPLAYED),
  card-other-session (a nonce of another session -> CARD_NONCE_OTHER_SESSION),
  mass-lookup (lookups until RATE_LIMITED; FAIL if ``--mass-lookups`` go through) and
  password-brute-force (guesses at the test operator -> locked: even the right password is then
  refused; the operator stays locked). They need a test operator: ``--operator ID`` with
  ``--operator-password-file`` / ``CS_PROBE_OPERATOR_PASSWORD`` and ``--operator-totp-secret-file``
  / ``CS_PROBE_OPERATOR_TOTP_SECRET``; the card rows a card file (``--card``) and its PIN
  (``--card-pin-file`` / ``CS_PROBE_CARD_PIN``). Secrets are never printed. stolen-token uses
  ``--second-terminal-cert/--second-terminal-key`` or, by default, a re-issue of the terminal
  role's host from the dev PKI;
* atena: the 宛名 system calling Apply and GetRecord -> PERMISSION_DENIED;
* outside-segment (--netns): a role whose segment is loopback only, from the namespace -> PERMISSION_DENIED;
* unknown-mac (--netns): a host whose MAC list lacks the namespace's MAC -> PERMISSION_DENIED;
* oversized-message: a 200 KiB request -> RESOURCE_EXHAUSTED;
* metadata-flood: ~60 KiB of request headers -> refused, and the gateway still serves afterwards;
* reflection: v1alpha and v1 ServerReflectionInfo -> PERMISSION_DENIED, no service list;
* plaintext: a cleartext gRPC call and a raw HTTP/2 preface -> refused;
* health: grpc.health.v1 Check -> SERVING for kizon-juki, PERMISSION_DENIED for the 宛名 system;
* audit-flood (last): one certificate makes ``--flood-calls`` denied calls -> cut off: even its
  own GetRecord is then refused (the gateway audits up to its bound and the cut-off);

plus a ``baseline`` control (kizon-juki reaches the service, so a refused handshake is not an
outage) and ``uniform-refusal`` (every PERMISSION_DENIED has the same body, whatever the rule).

The two namespace attacks run the probe again inside the namespace
(``ip netns exec NAME python -m clients.probe --target NETNS_TARGET ... --only ATTACK --json``)
and are SKIPped without ``--netns``. ``--outside-role`` (kizon-juki), ``--mac-role``
(prefecture) and ``--mac-host`` (probe-mac-01) default to what policy/probe.toml sets up; the
gateway must also listen on an address the namespace reaches (``gateway.also_listen``).
Exit code 0 when nothing FAILed, 1 otherwise, 2 on bad use.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from clients.probe_attacks import (
    FAIL,
    SKIP,
    Attack,
    CardMaterial,
    Credential,
    OperatorLogin,
    Outcome,
    Probe,
    environment_for_child,
    trust_domain_of,
    uniform_refusals,
)
from clients.probe_matrix import ATTACKS, BY_NAME, iter_selected
from pki.dev_pki import DevPki

NETNS_TIMEOUT_S = 60.0
PASSWORD_ENV = "CS_PROBE_OPERATOR_PASSWORD"
TOTP_ENV = "CS_PROBE_OPERATOR_TOTP_SECRET"
PIN_ENV = "CS_PROBE_CARD_PIN"
COLUMNS = ("attack", "expected", "observed", "result", "note")


def run(
    probe: Probe, attacks: Sequence[Attack], *, netns: str | None, netns_target: str | None, in_netns: bool
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    control: Outcome | None = None
    if any(a.needs_baseline for a in attacks) and BY_NAME["baseline"] not in attacks and not in_netns:
        attacks = [BY_NAME["baseline"], *attacks]
    for attack in attacks:
        if attack.in_netns and not in_netns:
            if netns is None or netns_target is None:
                outcomes.append(
                    Outcome(attack.name, attack.expected, "-", SKIP, "needs --netns NAME --netns-target HOST:PORT")
                )
            else:
                outcomes.append(in_namespace(probe, attack, netns, netns_target))
            continue
        try:
            outcome = attack.run(probe)
        except Exception as err:  # noqa: BLE001 - one broken attack must not hide the others
            outcome = Outcome(attack.name, attack.expected, "probe error", FAIL, f"{type(err).__name__}: {err}")
        if attack.name == "baseline":
            control = outcome
        elif attack.needs_baseline and control is not None and control.verdict == FAIL and outcome.verdict != FAIL:
            outcome.verdict, outcome.note = FAIL, "baseline failed: a refusal cannot be told from an outage"
        outcomes.append(outcome)
    uniform = uniform_refusals(outcomes)
    if uniform is not None:
        outcomes.append(uniform)
    return outcomes


def in_namespace(probe: Probe, attack: Attack, netns: str, netns_target: str) -> Outcome:
    """Run this probe again inside the namespace for one attack and take its JSON result."""
    command = [
        "ip", "netns", "exec", netns,
        sys.executable, "-m", "clients.probe",
        "--target", netns_target,
        "--pki", str(probe.pki.directory),
        "--trust-domain", probe.trust_domain,
        "--server-name", probe.server_name,
        "--timeout", str(probe.timeout),
        "--outside-role", probe.outside_role,
        "--mac-role", probe.mac_role,
        "--mac-host", probe.mac_host,
        "--only", attack.name,
        "--json", "--in-netns",
    ]  # fmt: skip
    try:
        done = subprocess.run(  # fixed argument vector, no shell
            command, capture_output=True, text=True, timeout=NETNS_TIMEOUT_S, env=environment_for_child(), check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return Outcome(attack.name, attack.expected, "probe error", FAIL, f"in netns {netns}: {err}")
    try:
        results = json.loads(done.stdout)["results"]
        outcome = next(Outcome.from_json(r) for r in results if r["attack"] == attack.name)
    except (ValueError, KeyError, TypeError, StopIteration):
        tail = " ".join(done.stderr.split()[-12:]) or f"exit code {done.returncode}"
        return Outcome(attack.name, attack.expected, "probe error", FAIL, f"in netns {netns}: {tail}")
    outcome.note = f"[netns {netns}] {outcome.note}"
    return outcome


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def format_table(outcomes: Sequence[Outcome]) -> str:
    rows = [COLUMNS, *((o.attack, o.expected, o.observed, o.verdict, o.note) for o in outcomes)]
    widths = [max(_width(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    lines = []
    for n, row in enumerate(rows):
        cells = [cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in [*widths, len(COLUMNS[-1])]))
    counts = {v: sum(o.verdict == v for o in outcomes) for v in ("PASS", FAIL, SKIP)}
    lines.append(f"\n{counts['PASS']} passed, {counts[FAIL]} failed, {counts[SKIP]} skipped")
    return "\n".join(lines)


def to_json(probe: Probe, outcomes: Sequence[Outcome]) -> str:
    return json.dumps(
        {
            "target": probe.target,
            "trust_domain": probe.trust_domain,
            "ok": not any(o.verdict == FAIL for o in outcomes),
            "results": [o.to_json() for o in outcomes],
        },
        ensure_ascii=False,
        indent=2,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cs-gateway-probe",
        description="Run an attack matrix against a running cs-gateway; exit 1 if anything got through.",
    )
    parser.add_argument("--target", required=True, help="HOST:PORT of the gateway")
    parser.add_argument("--pki", required=True, type=Path, help="the gateway's dev PKI directory (writable: CRL)")
    parser.add_argument("--trust-domain", help="default: read from the PKI's kizon-juki certificate")
    parser.add_argument("--server-name", default="localhost", help="a name on the gateway's certificate")
    parser.add_argument("--netns", help="network namespace for outside-segment and unknown-mac")
    parser.add_argument("--netns-target", help="HOST:PORT of the gateway as seen from inside --netns")
    parser.add_argument("--outside-role", default="kizon-juki", help="a role whose segment excludes the netns")
    parser.add_argument("--mac-role", default="prefecture", help="a role on the netns segment (MACs checked)")
    parser.add_argument("--mac-host", default="probe-mac-01", help="its host, listed without the netns MAC")
    parser.add_argument("--only", nargs="+", choices=[a.name for a in ATTACKS], metavar="ATTACK", help="run only these")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per call")
    parser.add_argument(
        "--flood-calls",
        type=int,
        default=150,
        help="denied calls of audit-flood (over the gateway's per-identity bound)",
    )
    terminal = parser.add_argument_group("counter-terminal attacks (secrets from files or the environment)")
    terminal.add_argument("--operator", help="a test operator's id (its password and TOTP secret below)")
    terminal.add_argument("--operator-password-file", type=Path, help=f"or env {PASSWORD_ENV}")
    terminal.add_argument("--operator-totp-secret-file", type=Path, help=f"or env {TOTP_ENV}")
    terminal.add_argument("--card", type=Path, help="an emulated マイナンバーカード file (pki/card.py)")
    terminal.add_argument("--card-pin-file", type=Path, help=f"or env {PIN_ENV}")
    terminal.add_argument("--second-terminal-cert", type=Path, help="another terminal certificate (stolen-token)")
    terminal.add_argument("--second-terminal-key", type=Path, help="its key")
    terminal.add_argument("--mass-lookups", type=int, default=100, help="lookups of mass-lookup before it FAILs")
    terminal.add_argument(
        "--municipality-name",
        default=Probe.municipality_name,
        help="the gateway's gateway.municipality_name (default: the dev configuration's, %(default)s): "
        "one-item-search sends it as the 住所 beside a 氏名",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument("--in-netns", action="store_true", help=argparse.SUPPRESS)  # re-invoked inside --netns
    return parser


def _secret(parser: argparse.ArgumentParser, path: Path | None, env: str, what: str) -> str | None:
    """A secret from its file (first line) or the environment; never echoed, not even in an error."""
    if path is not None:
        try:
            return path.read_text(encoding="utf-8").splitlines()[0].strip() if path.stat().st_size else ""
        except (OSError, IndexError, UnicodeDecodeError):
            parser.error(f"cannot read the {what} file {path}")
    value = os.environ.get(env)
    return value.strip() if value is not None else None


def _terminal_material(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> tuple[OperatorLogin | None, CardMaterial | None, Credential | None]:
    operator = None
    if args.operator:
        password = _secret(parser, args.operator_password_file, PASSWORD_ENV, "operator password")
        totp = _secret(parser, args.operator_totp_secret_file, TOTP_ENV, "TOTP secret")
        if not password or not totp:
            parser.error(f"--operator needs its password and TOTP secret (files or {PASSWORD_ENV} / {TOTP_ENV})")
        operator = OperatorLogin(args.operator, password, totp)
    card = None
    if args.card is not None:
        pin = _secret(parser, args.card_pin_file, PIN_ENV, "card PIN")
        if not pin:
            parser.error(f"--card needs its PIN (--card-pin-file or {PIN_ENV})")
        card = CardMaterial(args.card, pin)
    second = None
    if (args.second_terminal_cert is None) != (args.second_terminal_key is None):
        parser.error("--second-terminal-cert and --second-terminal-key go together")
    if args.second_terminal_cert is not None:
        try:
            chain, key = args.second_terminal_cert.read_bytes(), args.second_terminal_key.read_bytes()
        except OSError as err:
            parser.error(f"cannot read the second terminal certificate: {err}")
        second = Credential("second-terminal", chain, key)
    return operator, card, second


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.netns is None) != (args.netns_target is None):
        parser.error("--netns and --netns-target go together")
    pki = DevPki(directory=args.pki, trust_domain=args.trust_domain or "")
    if not pki.ca_cert_path.is_file() or not pki.intermediate_key_path.is_file():
        parser.error(f"--pki {args.pki}: not a dev PKI directory (ca.crt, intermediate.key expected)")
    trust_domain = args.trust_domain or trust_domain_of(pki)
    if not trust_domain:
        parser.error("cannot read the trust domain from the PKI; pass --trust-domain")
    operator, card, second = _terminal_material(parser, args)
    probe = Probe(
        target=args.target,
        pki=pki,
        trust_domain=trust_domain,
        server_name=args.server_name,
        timeout=args.timeout,
        outside_role=args.outside_role,
        mac_role=args.mac_role,
        mac_host=args.mac_host,
        flood_calls=args.flood_calls,
        operator=operator,
        card=card,
        second_terminal=second,
        mass_lookups=args.mass_lookups,
        municipality_name=args.municipality_name,
    )
    outcomes = run(
        probe, list(iter_selected(args.only)), netns=args.netns, netns_target=args.netns_target, in_netns=args.in_netns
    )
    print(to_json(probe, outcomes) if args.json else format_table(outcomes), file=out, flush=True)
    return 1 if any(o.verdict == FAIL for o in outcomes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
