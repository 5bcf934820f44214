"""``cs-gateway operator add | reset`` show the TOTP provisioning URI also as a QR code of text
(half blocks, no image file); ``--no-qr`` leaves it out. There is no QR decoder among the
dependencies (and none is added for a test): the text printed is read back into its modules and
compared with the QR code the library makes of exactly the URI printed beside it, and it has the
three finder patterns of a QR code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cs_gateway.cli import main
from cs_gateway.operator_commands import QR_BORDER, qr_matrix, qr_text
from cs_gateway.process import write_dev_config
from pki.dev_pki import DevPki

PASSWORD = "correct horse battery"
URI = "otpauth://totp/cs-gateway%20022021:sato?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=cs-gateway%20022021"
_PAIRS = {" ": (False, False), "\u2580": (True, False), "\u2584": (False, True), "\u2588": (True, True)}


def read_back(text: str, *, inverted: bool = True) -> list[list[bool]]:
    """The modules (True = dark) of a QR code printed by qr_text."""
    rows: list[list[bool]] = []
    for line in text.splitlines():
        pairs = [_PAIRS[c] for c in line]
        rows += [[p[0] for p in pairs], [p[1] for p in pairs]]
    if inverted:
        rows = [[not m for m in row] for row in rows]
    width = len(rows[0])
    return rows[:width]  # the padding row of an odd size


def _finder_at(matrix: list[list[bool]], top: int, left: int) -> bool:
    """A 7x7 finder pattern: dark ring, light ring, dark 3x3 core."""
    for y in range(7):
        for x in range(7):
            ring = max(abs(y - 3), abs(x - 3))
            if matrix[top + y][left + x] != (ring != 2):
                return False
    return True


def test_the_text_is_the_qr_code_of_exactly_the_uri() -> None:
    modules = read_back(qr_text(URI))
    assert modules == qr_matrix(URI)
    assert modules != qr_matrix(URI.replace("sato", "satu"))  # the comparison can tell one character
    size = len(modules) - 2 * QR_BORDER
    b = QR_BORDER
    assert size >= 21 and (size - 17) % 4 == 0  # a QR version's side
    for top, left in ((b, b), (b, b + size - 7), (b + size - 7, b)):
        assert _finder_at(modules, top, left), (top, left)
    assert not _finder_at(modules, b + size - 7, b + size - 7)  # the fourth corner has none
    assert all(not any(row) for row in modules[:b])  # the quiet zone


def _add(config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    monkeypatch.setattr("sys.stdin", _Lines(PASSWORD))
    code = main(["operator", *args, "--config", str(config), "--password-stdin"])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


class _Lines:
    def __init__(self, *lines: str) -> None:
        self._lines = [line + "\n" for line in lines]

    def readline(self) -> str:
        return self._lines.pop(0)


def _qr_of(out: str) -> str:
    return "\n".join(line for line in out.splitlines() if line and set(line) <= set(_PAIRS) and line.strip())


def test_operator_add_and_reset_show_the_uri_as_a_qr_code_unless_told_not_to(
    tmp_path: Path, dev_pki: DevPki, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_dev_config(tmp_path / "gw.toml", pki_dir=dev_pki.directory, store_path=tmp_path / "cs.sqlite3")
    for args in (("add", "sato", "--role", "shokai"), ("reset", "sato")):
        out = _add(config, monkeypatch, capsys, *args)
        uri = re.search(r"otpauth://\S+", out)
        assert uri is not None, out
        shown = _qr_of(out)
        assert shown, out
        # every line of the code, bordered by its quiet zone, is in the output as printed
        assert read_back(shown) == qr_matrix(uri.group(0)), args
    quiet = _add(config, monkeypatch, capsys, "add", "suzuki", "--role", "shokai", "--no-qr")
    assert re.search(r"otpauth://\S+", quiet)
    assert not _qr_of(quiet)
    assert not list(tmp_path.glob("*.png")) and not list(Path.cwd().glob("*.png"))  # no image file made
