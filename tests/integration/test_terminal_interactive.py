"""``cs-terminal --interactive`` against the in-process gateway over real mTLS, its input
scripted and its clock fake (``terminal_cli.main(argv, io=...)``, the documented parameter): a
command runs; after the idle time the screen locks - the session is ended (Logout), the screen
cleared, a line typed at the locked screen is not run, and only the password with a FRESH code
unlocks (a replayed one is refused); with no input at all it locks as well. On screen the
住民票コード stays masked."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clients import terminal_cli
from clients.synthetic import juminhyo_code_of, tennyu_request
from cs_gateway.security.operator_auth import TOTP_PERIOD_S, totp_code
from pki.dev_pki import DevPki
from tests.terminal_support import PASSWORD, Counter, counter_gateway

LOCK_AFTER = 60.0
LOOKUP = "/jukinet.cs.v1.TerminalService/Lookup"
SEARCH = "/jukinet.cs.v1.TerminalService/Search"


class ScriptedTerminal:
    """The operator: lines typed after so many (fake) seconds, None = nothing typed at all."""

    def __init__(self, script: list[tuple[float, str] | None], secrets: list[str]) -> None:
        self.now = 1000.0
        self.script = script
        self.secrets = secrets
        self.asked: list[str] = []
        self.cleared = 0
        self.cleared_at: list[int] = []

    def clock(self) -> float:
        return self.now

    def read_line(self, timeout_s: float) -> str | None:
        if not self.script:
            raise EOFError
        item = self.script.pop(0)
        if item is None:
            self.now += timeout_s  # the wait runs out
            return None
        wait, line = item
        self.now += wait
        return line

    def ask_secret(self, prompt: str) -> str:
        self.asked.append(prompt)
        return self.secrets.pop(0)

    def clear(self, console: object) -> None:
        self.cleared += 1


@pytest.fixture
def counter(tmp_path: Path, dev_pki: DevPki) -> Iterator[Counter]:
    with counter_gateway(tmp_path, dev_pki, {"sato": "shokai"}) as running:
        running.gw.stub("kizon-juki").Apply(tennyu_request(1), timeout=30)
        yield running


def _count(counter: Counter, action: str, outcome: str = "ok") -> int:
    ((n,),) = counter.audit(f"SELECT count(*) FROM audit_log WHERE action = '{action}' AND outcome = '{outcome}'")
    return n


def test_the_terminal_locks_when_idle_and_only_a_fresh_code_unlocks(
    counter: Counter, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = counter.secrets["sato"]
    now = time.time()
    if now % TOTP_PERIOD_S > TOTP_PERIOD_S - 3:  # three codes of three steps must stay in the window
        time.sleep(3.5)
        now = time.time()
    first, second, third = (totp_code(secret, now + d) for d in (-TOTP_PERIOD_S, 0, TOTP_PERIOD_S))
    code = juminhyo_code_of(1)
    operator = ScriptedTerminal(
        [
            (0, f"lookup {code}"),  # runs
            (LOCK_AFTER + 1, f"lookup {code}"),  # typed after the idle time: locks, not run
            (1, "search --name 'x' --birth 1985-05-14"),  # after the unlock: runs (no match)
            None,  # nothing typed: the wait runs out, the screen locks
            (0, "quit"),
        ],
        [PASSWORD, first, PASSWORD, second, PASSWORD, third],  # first: a replay, refused
    )
    gw = counter.gw
    argv = [
        "--target", f"localhost:{gw.port}",
        "--ca", str(gw.pki.ca_cert_path),
        "--cert", str(gw.pki.cert_path("terminal")),
        "--key", str(gw.pki.key_path("terminal")),
        "--operator", "sato", "--password-stdin", "--totp", first,
        "--interactive", "--lock-after", str(LOCK_AFTER),
    ]  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert terminal_cli.main(argv, io=operator) == terminal_cli.EXIT_OK
    out = capsys.readouterr().out
    assert operator.cleared == 2
    assert operator.asked == ["password", "one-time code (a fresh one)"] * 3
    assert "(typed at the locked screen: not run)" in out
    assert out.count("画面ロック locked") == 2 and "login failed" in out
    assert _count(counter, LOOKUP) == 1  # the line typed at the locked screen never reached the CS
    assert _count(counter, SEARCH) == 1
    assert _count(counter, "operator.login") == 3  # the first login and two unlocks
    ((reason,),) = counter.audit("SELECT reason FROM audit_log WHERE action = 'operator.login' AND outcome = 'refused'")
    assert reason == "TOTP_REPLAYED"
    assert _count(counter, "/jukinet.cs.v1.TerminalService/Logout") == 3  # each lock ended its session, and quit
    assert code not in out and code[-4:] in out  # masked on screen


def test_without_a_fresh_login_the_locked_terminal_stops(
    counter: Counter, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = counter.secrets["sato"]
    code = totp_code(secret, time.time())
    operator = ScriptedTerminal([None, (0, f"lookup {juminhyo_code_of(1)}")], [PASSWORD + "x", code] * 3)
    gw = counter.gw
    argv = [
        "--target", f"localhost:{gw.port}",
        "--ca", str(gw.pki.ca_cert_path),
        "--cert", str(gw.pki.cert_path("terminal")),
        "--key", str(gw.pki.key_path("terminal")),
        "--operator", "sato", "--password-stdin", "--totp", code, "--interactive", "--lock-after", "5",
    ]  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert terminal_cli.main(argv, io=operator) == terminal_cli.EXIT_FAILED
    out = capsys.readouterr().out
    assert "still locked" in out
    assert _count(counter, LOOKUP) == 0
    assert operator.script == [(0, f"lookup {juminhyo_code_of(1)}")]  # nothing read after the lock
