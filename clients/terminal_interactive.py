"""``cs-terminal --interactive``: the counter terminal as the operator uses it all day, one command
line after another (``lookup CODE``, ``search --name ... --birth ...``, ``verify-card FILE``,
``help``, ``quit``), with the seed's screen-saver rule (III(2)-3): after ``lock_after`` seconds
without input the terminal LOCKS - it ends the session (Logout), clears the screen and asks for
the password and a fresh one-time code (a new login) before anything else. A line typed at the
locked screen is never run. Identifiers stay masked on screen unless ``--unmask``.

What the loop reads, asks and measures is a ``TerminalIO`` (``run(..., io=...)``): the real one
reads stdin with ``select`` (so it notices the idle time while nothing is typed), asks secrets
without echo and uses ``time.monotonic``; a test passes one with a scripted input and a fake clock.
"""

from __future__ import annotations

import select
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import click
import grpc
from rich.console import Console

MAX_UNLOCK_TRIES = 3
HELP = (
    "commands: lookup CODE [--purpose P] | search [--code C|--number N|--name ...|--address ...|--birth YYYY-MM-DD]"
    " [--sex male|female] [--purpose P] | verify-card [--purpose P] CARDFILE | help | quit"
)


def _stdin_line(timeout_s: float) -> str | None:
    """A line typed within ``timeout_s`` seconds, or None; EOFError at the end of input."""
    ready, _, _ = select.select([sys.stdin], [], [], max(0.0, timeout_s))
    if not ready:
        return None
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")


def _ask_secret(prompt: str) -> str:
    return str(click.prompt(prompt, hide_input=True))  # never echoed


@dataclass
class TerminalIO:
    """What the interactive loop reads, asks and measures (replaced in tests)."""

    read_line: Callable[[float], str | None] = _stdin_line  # a line within the timeout, None if none; EOFError
    ask_secret: Callable[[str], str] = _ask_secret  # password, one-time code: masked
    clock: Callable[[], float] = time.monotonic
    clear: Callable[[Console], None] = Console.clear  # the locked screen shows nothing of before


def run(
    session: object,
    *,
    console: Console,
    make_step: Callable[[list[str]], Callable[[object], bool]],
    relogin: Callable[[str, str], object | None],
    logout: Callable[[object], None],
    lock_after_s: float,
    io: TerminalIO | None = None,
    code_source: Callable[[], str | None] = lambda: None,
) -> tuple[object | None, bool]:
    """The command loop. ``make_step`` turns a command's words into a step (click parses them);
    ``relogin(password, code)`` opens a new session or returns None; ``code_source`` gives a
    computed one-time code (--totp-secret-file) instead of asking. Returns (the session still
    open or None, whether every step was answered)."""
    io = io or TerminalIO()
    all_answered = True
    last_input = io.clock()
    console.print(f"interactive: the screen locks after {lock_after_s:g} s without input. {HELP}")
    while True:
        console.print("cs-terminal> ", end="")
        try:
            line = io.read_line(max(0.0, lock_after_s - (io.clock() - last_input)))
        except EOFError:
            return session, all_answered
        if line is None or io.clock() - last_input >= lock_after_s:
            if line:
                console.print("(typed at the locked screen: not run)")
            session = _lock(session, console, relogin, logout, lock_after_s, io, code_source)
            if session is None:
                return None, False
            last_input = io.clock()
            continue
        last_input = io.clock()
        try:
            words = shlex.split(line)
        except ValueError as err:
            console.print(f"[bold red]not a command[/]: {err}")
            continue
        if not words:
            continue
        if words[0] in ("quit", "exit", "logout"):
            return session, all_answered
        if words[0] == "help":
            console.print(HELP)
            continue
        try:
            step = make_step(words)
        except (click.ClickException, click.exceptions.Exit) as err:
            console.print(f"[bold red]not a command[/]: {getattr(err, 'message', err)}. {HELP}")
            continue
        try:
            answered = step(session)
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.UNAUTHENTICATED:  # the CS unreachable: say so, stay locked-safe
                console.print(f"[bold red]error[/]: {err.code().name}")
                answered = False
            else:  # the CS ended the session (idle, lifetime): lock as if idle
                console.print("the session has ended")
                session = _lock(session, console, relogin, logout, lock_after_s, io, code_source)
                if session is None:
                    return None, False
                answered = True
        all_answered = all_answered and answered
        last_input = io.clock()  # a long answer is not idle time


def _lock(
    session: object,
    console: Console,
    relogin: Callable[[str, str], object | None],
    logout: Callable[[object], None],
    lock_after_s: float,
    io: TerminalIO,
    code_source: Callable[[], str | None],
) -> object | None:
    """End the session, clear the screen, and log in anew (password + a fresh code)."""
    logout(session)
    io.clear(console)
    console.print(f"[bold]画面ロック locked[/] after {lock_after_s:g} s without input: the session has ended.")
    for attempt in range(1, MAX_UNLOCK_TRIES + 1):
        password = io.ask_secret("password")
        code = code_source() or io.ask_secret("one-time code (a fresh one)")
        opened = relogin(password, code)
        if opened is not None:
            console.print("unlocked: a new session")
            return opened
        console.print(f"[bold red]login failed[/] ({attempt}/{MAX_UNLOCK_TRIES})")
    console.print("[bold red]still locked[/]: the terminal stops")
    return None
