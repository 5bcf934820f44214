"""Dependencies point inward: the domain imports neither grpc nor sqlite nor any outer layer."""

from __future__ import annotations

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "cs_gateway" / "domain"
FORBIDDEN = ("grpc", "sqlite3", "google", "cs_gateway.store", "cs_gateway.api", "cs_gateway.app", "socket")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level > 1:
                    names.add("cs_gateway." + (node.module or ""))
            else:
                names.add(node.module or "")
    return names


def test_domain_imports_neither_grpc_nor_sqlite() -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in DOMAIN.glob("*.py")
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    }
    assert not offenders
