"""Dependencies point inward, and the edges of the house hold (docs/architecture.md):

* the domain imports neither grpc nor sqlite nor any other part of ours;
* the store imports neither api nor app;
* the audit trail does not import the gateway's configuration;
* the clients never import the store or the use cases (they speak to the gateway over the wire).

Every import counts, also one inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOMAIN = REPO / "cs_gateway" / "domain"
FORBIDDEN = ("grpc", "sqlite3", "google", "cs_gateway.store", "cs_gateway.api", "cs_gateway.app", "socket")


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of everything ``path`` imports (relative imports resolved)."""
    module = _module_of(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names.add(prefix)
            names.update(f"{prefix}.{alias.name}" for alias in node.names)  # `from . import x`
    return names


def _offenders(folder: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> set[str]:
    found = set()
    for path in sorted((REPO / folder).rglob("*.py")):
        for name in _imports(path):
            hit = any(name == f or name.startswith(f + ".") for f in forbidden)
            if hit and not any(name == a or name.startswith(a + ".") for a in allowed):
                found.add(f"{path.relative_to(REPO)}: {name}")
    return found


def test_imports_are_resolved_like_python_does() -> None:
    names = _imports(REPO / "cs_gateway" / "store" / "sqlite_store.py")
    assert "cs_gateway.audit.event" in names and "cs_gateway.store.interface" in names


def test_domain_imports_neither_grpc_nor_sqlite() -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in DOMAIN.glob("*.py")
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    }
    assert not offenders


def test_domain_imports_nothing_of_ours() -> None:
    ours = ("cs_gateway", "clients", "pki", "bench", "tests")
    assert not _offenders("cs_gateway/domain", ours, allowed=("cs_gateway.domain",))


def test_store_imports_neither_api_nor_app() -> None:
    assert not _offenders("cs_gateway/store", ("cs_gateway.api", "cs_gateway.app"))


def test_audit_does_not_import_config() -> None:
    assert not _offenders("cs_gateway/audit", ("cs_gateway.config",))


@pytest.mark.parametrize("layer", ["cs_gateway.store", "cs_gateway.app"])
def test_clients_never_import_the_store_or_the_use_cases(layer: str) -> None:
    assert not _offenders("clients", (layer,))
