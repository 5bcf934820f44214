"""Nothing outside store/ opens the store's file: the writer, the read port and the local
commands' ReadOnlyStore / AppendingStore (store/local.py) are the only ways in."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cs_gateway", "clients", "pki")
# Other systems' own files, never the CS's store: the 都道府県サーバー emulator keeps its copy of
# the 本人確認情報 in a SQLite file of its own.
OTHER_SYSTEMS = {
    Path("clients/prefecture_emulator.py"),
    Path("clients/jlis_emulator.py"),
    Path("clients/emulator_config.py"),  # their shared config and SQLite opener
}


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
            if relative in OTHER_SYSTEMS:
                continue
            found += [f"{relative}:{line}" for line in _opens_a_database(ast.parse(path.read_text("utf-8")))]
    assert found == []


def test_the_store_side_does_open_it() -> None:  # the check above can see a connect
    tree = ast.parse((ROOT / "cs_gateway" / "store" / "local.py").read_text("utf-8"))
    assert _opens_a_database(tree)


RULES = ("cs_gateway.domain.logic_checks", "cs_gateway.domain.format_checks", "cs_gateway.app", "cs_gateway.api")


def _imports(path: Path) -> set[str]:
    package = "cs_gateway.store"
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = f"{base}.{node.module}" if node.level and node.module else (node.module or base)
            found.add(module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_store_offers_the_transaction_and_knows_no_rules() -> None:
    """The domain's checks run in app/'s handlers; the store only runs what is registered."""
    offending = {
        f"{path.name}: {module}"
        for path in sorted((ROOT / "cs_gateway" / "store").glob("*.py"))
        for module in _imports(path)
        if module.startswith(RULES)
    }
    assert offending == set()
    assert "cs_gateway.domain.record" in _imports(ROOT / "cs_gateway" / "store" / "port.py")  # the check resolves
