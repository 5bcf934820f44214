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


def _read_until(fd: int, wanted: bytes, seen: bytearray, timeout_s: float = 20.0) -> int:
    """Read the terminal until ``wanted`` appears in what came after this call began; its end."""
    import os
    import select

    start = len(seen)
    deadline = time.monotonic() + timeout_s
    while wanted not in seen[start:]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {wanted!r} from cs-terminal; it showed: {bytes(seen)[-800:]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"cs-terminal ended before {wanted!r}: {bytes(seen)[-800:]!r}")
            seen += chunk
    return len(seen)


def test_on_a_real_terminal_it_locks_clears_the_screen_and_asks_without_echo(counter: Counter) -> None:
    """cs-terminal as a process on a pseudo-terminal, the real clock: the password is not echoed,
    the idle lock sends the clear-screen sequence and the prompts, a fresh code unlocks."""
    import os
    import pty
    import sys

    secret = counter.secrets["sato"]
    now = time.time()
    if now % TOTP_PERIOD_S > TOTP_PERIOD_S - 8:
        time.sleep(TOTP_PERIOD_S - now % TOTP_PERIOD_S + 0.5)
        now = time.time()
    first, fresh = totp_code(secret, now - TOTP_PERIOD_S), totp_code(secret, now)
    gw = counter.gw
    argv = [
        sys.executable, "-m", "clients.terminal_cli",
        "--target", f"localhost:{gw.port}",
        "--ca", str(gw.pki.ca_cert_path),
        "--cert", str(gw.pki.cert_path("terminal")),
        "--key", str(gw.pki.key_path("terminal")),
        "--operator", "sato", "--totp", first, "--interactive", "--lock-after", "2",
    ]  # fmt: skip
    repo = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": repo, "TERM": "xterm", "COLUMNS": "160"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: cs-terminal on the pseudo-terminal
        os.chdir(repo)
        os.execve(sys.executable, argv, env)
    seen = bytearray()
    try:
        _read_until(fd, b"password: ", seen)
        os.write(fd, (PASSWORD + "\n").encode())
        _read_until(fd, b"cs-terminal> ", seen)
        assert PASSWORD.encode() not in seen  # typed, never echoed
        os.write(fd, f"lookup {juminhyo_code_of(1)}\n".encode())
        mark = _read_until(fd, b"cs-terminal> ", seen)  # the answer, then the prompt again
        assert "住民票コード".encode() in seen[:mark]  # the answer's table
        _read_until(fd, b"password: ", seen, timeout_s=20)  # nothing typed for 2 s: locked
        locked = bytes(seen[mark:])
        assert b"\x1b[2J" in locked, locked  # the screen is cleared
        assert "画面ロック".encode() in locked
        os.write(fd, (PASSWORD + "\n").encode())
        _read_until(fd, b"fresh one", seen)
        os.write(fd, (fresh + "\n").encode())
        _read_until(fd, b"unlocked", seen)
        os.write(fd, b"quit\n")
        _, status = os.waitpid(pid, 0)
        pid = 0
        assert os.waitstatus_to_exitcode(status) == terminal_cli.EXIT_OK, bytes(seen)[-800:]
        assert PASSWORD.encode() not in seen and fresh.encode() not in seen
        assert juminhyo_code_of(1).encode() not in seen[mark:]  # masked on screen (the typed line aside)
    finally:
        if pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
    assert _count(counter, "operator.login") == 2
    assert _count(counter, LOOKUP) == 1
