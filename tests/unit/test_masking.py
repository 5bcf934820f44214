"""The one masking rule (cs_gateway/domain/masking.py), and proof that there is only one: every
part that shows identifiers (log processor, clients, audit trail, reports, CLI) uses it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from clients import masking as client_masking
from cs_gateway import logging_setup
from cs_gateway.audit import lookup, report, trail
from cs_gateway.domain.check_digit import make_individual_number, make_juminhyo_code
from cs_gateway.domain.masking import mask_identifier, mask_text

REPO = Path(__file__).resolve().parents[2]
CODE = make_juminhyo_code("9876543210")
NUMBER = make_individual_number("12345678901")


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("39201748562", "*******8562"),
        (NUMBER, "********" + NUMBER[-4:]),
        ("１２３４５６７８９０１２", "********９０１２"),
        ("1234", "****"),
        ("", ""),
    ],
)
def test_mask_identifier_vectors(value: str, masked: str) -> None:
    assert mask_identifier(value) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"code {CODE}", f"code *******{CODE[-4:]}"),
        (f"{NUMBER[:4]} {NUMBER[4:8]} {NUMBER[8:]}", f"**** **** {NUMBER[8:]}"),
        (f"{CODE[:4]}-{CODE[4:8]}-{CODE[8:]}", f"****-***{CODE[7]}-{CODE[8:]}"),
        ("seq=1234567890 on 2026-11-29", "seq=1234567890 on 2026-11-29"),  # 10 digits and a date: kept
    ],
)
def test_mask_text_vectors(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize("identifier", [CODE, NUMBER])
def test_both_forms_mask_an_identifier_alike(identifier: str) -> None:
    assert mask_text(identifier) == mask_identifier(identifier)


def test_every_part_uses_the_domain_rule() -> None:
    assert client_masking.mask_identifier is mask_identifier
    for module in (logging_setup, trail, report, lookup, client_masking):
        assert module.mask_text is mask_text, module.__name__


# A function that masks identifiers may only be defined by the domain's rule itself, and by the
# log processor that applies that rule to every value of a log line.
ALLOWED_DEFINITIONS = {
    "cs_gateway/domain/masking.py": {"mask_identifier", "mask_text", "_mask_tail", "_mask_run"},
    # the processor, and the hooks that route the standard library's output through mask_text
    "cs_gateway/logging_setup.py": {"_mask", "mask_identifiers", "_mask_standard_logging", "_print_masked"},
}


def test_no_other_module_defines_a_masking_rule() -> None:
    found: dict[str, set[str]] = {}
    for folder in ("cs_gateway", "clients", "pki", "bench"):
        for path in (REPO / folder).rglob("*.py"):
            if "gen" in path.relative_to(REPO).parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = {
                node.name
                for node in ast.walk(tree)
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and "mask" in node.name.lower()
            }
            if names:
                found[str(path.relative_to(REPO))] = names
    assert found == ALLOWED_DEFINITIONS
