"""Nothing outside store/ opens the store's file: the writer, the read port and the local
commands' ReadOnlyStore / AppendingStore (store/local.py) are the only ways in."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cs_gateway", "clients", "pki")


def _opens_a_database(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if node.func.attr == "connect" and isinstance(owner, ast.Name) and owner.id == "sqlite3":
                lines.append(node.lineno)
    return lines


def test_only_the_store_opens_the_database_file() -> None:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative.parts[:2] == ("cs_gateway", "store") or relative.parts[:2] == ("cs_gateway", "gen"):
                continue
            found += [f"{relative}:{line}" for line in _opens_a_database(ast.parse(path.read_text("utf-8")))]
    assert found == []


def test_the_store_side_does_open_it() -> None:  # the check above can see a connect
    tree = ast.parse((ROOT / "cs_gateway" / "store" / "local.py").read_text("utf-8"))
    assert _opens_a_database(tree)
