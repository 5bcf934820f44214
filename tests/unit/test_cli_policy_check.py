"""`cs-gateway policy check` as a user runs it: OK for the default, the rule named for each bad file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

POLICY = Path(__file__).resolve().parents[2] / "policy"


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cs_gateway", "policy", "check", str(path)], capture_output=True, text=True, timeout=60
    )


def test_default_policy_passes() -> None:
    done = _check(POLICY / "default.toml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK" in done.stdout


@pytest.mark.parametrize(
    "rule",
    ["role-without-segment", "in-house-reaches-cs", "terminal-write-right", "rpc-not-mentioned"],
)
def test_each_bad_policy_of_the_issue_is_refused_naming_its_rule(rule: str) -> None:
    done = _check(POLICY / "examples" / f"bad-{rule}.toml")
    assert done.returncode == 1
    assert f"policy: {rule}:" in done.stdout
