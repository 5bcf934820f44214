"""The command line's one error boundary: every command is guarded, usage errors exit 2, expected
failures become one masked line and their table's exit code, anything else is not hidden."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from cs_gateway.cli import EXIT_USAGE, Guarded, cli, main
from cs_gateway.domain.check_digit import make_juminhyo_code


def _commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= _commands(command, f"{prefix}{name} ")
        else:
            found[prefix + name] = command
    return found


def test_every_command_runs_behind_the_boundary() -> None:
    commands = _commands(cli)
    assert {"serve", "config check", "policy check", "demo", "backup"} <= set(commands)
    assert {f"pki {c}" for c in ("init", "issue", "revoke", "crl", "rotate")} <= set(commands)
    assert {f"audit {c}" for c in ("verify", "report", "lookup", "prune", "verify-archive")} <= set(commands)
    assert all(isinstance(c, Guarded) for c in commands.values()), [n for n, c in commands.items()]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["serve"],
        ["audit", "verify"],
        ["audit", "report", "--config", "x.toml", "--from", "2026-13-01", "--to", "2026-12-01"],
        ["audit", "report", "--config", "x.toml", "--from", "2026-12-01", "--to", "2026-12-01", "--burst-persons", "0"],
        ["pki", "issue", "d", "no-such-role", "h"],
        ["no-such-command"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_USAGE
    assert "Traceback" not in capsys.readouterr().err


def test_a_missing_configuration_is_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["config", "check"], ["audit", "verify", "--config"], ["backup", "--to", "b.sqlite3", "--config"]):
        assert main([*argv, str(tmp_path / "nope.toml")]) == EXIT_USAGE
        err = capsys.readouterr().err
        assert err.startswith("cs-gateway: configuration error: ") and err.count("\n") == 1, err


def test_failure_messages_are_masked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = make_juminhyo_code("9876543210")
    assert main(["audit", "verify", "--config", str(tmp_path / f"gw-{code}.toml")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert code not in err and code[-4:] in err


def test_an_unexpected_error_is_not_hidden() -> None:
    @click.command(cls=Guarded, failures=lambda: (((ValueError,), 1, "{err}"),))
    def broken() -> int:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        broken.main([], standalone_mode=False)
