"""Every logger the gateway uses masks 個人番号 and 住民票コード, wherever they are in the event.

The loggers are found, not listed: an AST scan of cs_gateway/ finds every call to
``get_logger(...)`` (cs_gateway/logging_setup.py) or ``structlog.get_logger(...)``; a new module
with a new logger is covered without touching this test. A line goes through each one in a
child process set up like the server (configure_logging()), with both identifiers in the
message, in keyword fields, nested in containers and as ints, and neither may come out whole.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cs_gateway.domain.check_digit import make_individual_number, make_juminhyo_code

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "cs_gateway"
GENERATED = PACKAGE / "gen"
FACTORY = PACKAGE / "logging_setup.py"  # wraps structlog.get_logger(name): the factory itself

NUMBER = make_individual_number("43215678901")
CODE = make_juminhyo_code("8765432109")
MASKED_NUMBER = "*" * 8 + NUMBER[-4:]
MASKED_CODE = "*" * 7 + CODE[-4:]


@dataclass(frozen=True)
class LoggerUse:
    module: str  # dotted module name
    name: str  # the logger name given
    via: str  # "get_logger" (cs_gateway.logging_setup) or "structlog"
    attribute: str | None  # the module-level variable holding it, if any
    line: int


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _logger_call(node: ast.AST) -> str | None:
    """'get_logger' or 'structlog' when node is such a call, else None."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Name) and func.id == "get_logger":
        return "get_logger"
    if isinstance(func, ast.Attribute) and func.attr == "get_logger":
        base = func.value
        return "structlog" if isinstance(base, ast.Name) and base.id == "structlog" else "get_logger"
    return None


def _scan() -> tuple[list[LoggerUse], list[str]]:
    """(uses with a literal name, descriptions of calls the test cannot follow)."""
    uses: list[LoggerUse] = []
    unfollowable: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if GENERATED in path.parents:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        module = _module_name(path)
        bound: dict[int, str] = {}  # id(call) -> module-level variable
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign | ast.AnnAssign) and _logger_call(stmt.value):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                if len(targets) == 1 and isinstance(targets[0], ast.Name):
                    bound[id(stmt.value)] = targets[0].id
        for node in ast.walk(tree):
            via = _logger_call(node)
            if via is None:
                continue
            assert isinstance(node, ast.Call)
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            if path == FACTORY:
                continue
            if (
                len(node.args) != 1
                or not isinstance(node.args[0], ast.Constant)
                or not isinstance(node.args[0].value, str)
            ):
                unfollowable.append(f"{where}: logger name is not a string literal")
                continue
            uses.append(LoggerUse(module, node.args[0].value, via, bound.get(id(node)), node.lineno))
    return uses, unfollowable


def test_every_logger_call_names_its_logger_literally() -> None:
    uses, unfollowable = _scan()
    assert not unfollowable, "the masking test cannot follow these loggers:\n" + "\n".join(unfollowable)
    found = {u.name for u in uses}
    assert {"cs_gateway.server", "cs_gateway.guard"} <= found, found  # the scan does find them


def test_no_module_logs_through_the_standard_library_logging() -> None:
    """logging.getLogger(...) would bypass the masking processor. (logging_setup.py itself uses it
    to put a masking filter on the root logger, for grpc's and asyncio's own lines.)"""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if GENERATED in path.parents or path == FACTORY:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "getLogger"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "logging"
            ):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not offenders, "use cs_gateway.logging_setup.get_logger instead:\n" + "\n".join(offenders)


_PROGRAM = """
import importlib, json, sys
import structlog
from cs_gateway.logging_setup import configure_logging, get_logger

configure_logging()
CODE, NUMBER = {code!r}, {number!r}
for use in json.loads(sys.argv[1]):
    if use["attribute"]:
        logger = getattr(importlib.import_module(use["module"]), use["attribute"])
    elif use["via"] == "structlog":
        logger = structlog.get_logger(use["name"])
    else:
        logger = get_logger(use["name"])
    logger.warning(
        f"lookup of {{CODE}} / {{NUMBER}} by an operator",
        marker=use["module"] + ":" + str(use["line"]),
        juminhyo_code=CODE,
        individual_number=NUMBER,
        free_text=f"番号 {{NUMBER}} コード {{CODE}}",
        nested={{"person": {{"code": CODE, "numbers": [NUMBER, {{"deep": CODE}}]}}, "pair": (CODE, NUMBER)}},
        code_as_int=int(CODE),
        number_as_int=int(NUMBER),
        ints_in_a_list=[int(CODE), int(NUMBER)],
    )
    print(use["module"] + ":" + str(use["line"]), flush=True)
"""


def _walk_strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _walk_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _walk_strings(v)]
    return [str(value)]


def test_every_logger_masks_both_identifiers_everywhere_in_the_event() -> None:
    uses, _ = _scan()
    assert uses
    payload = json.dumps([u.__dict__ for u in uses])
    program = _PROGRAM.format(code=CODE, number=NUMBER)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", program, payload], capture_output=True, text=True, timeout=120, cwd=REPO, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [f"{u.module}:{u.line}" for u in uses]  # every logger was used
    output = done.stdout + done.stderr
    assert CODE not in output and NUMBER not in output
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    by_marker = {line["marker"]: line for line in lines}
    assert sorted(by_marker) == sorted(f"{u.module}:{u.line}" for u in uses), done.stderr
    for marker, line in by_marker.items():
        assert line["event"] == f"lookup of {MASKED_CODE} / {MASKED_NUMBER} by an operator", marker
        assert line["juminhyo_code"] == MASKED_CODE and line["individual_number"] == MASKED_NUMBER, marker
        assert line["free_text"] == f"番号 {MASKED_NUMBER} コード {MASKED_CODE}", marker
        assert line["nested"] == {
            "person": {"code": MASKED_CODE, "numbers": [MASKED_NUMBER, {"deep": MASKED_CODE}]},
            "pair": [MASKED_CODE, MASKED_NUMBER],
        }, marker
        assert (line["code_as_int"], line["number_as_int"]) == (MASKED_CODE, MASKED_NUMBER), marker
        assert line["ints_in_a_list"] == [MASKED_CODE, MASKED_NUMBER], marker
        for text in _walk_strings(line):
            assert CODE not in text and NUMBER not in text, marker
