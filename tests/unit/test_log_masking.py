"""個人番号 and 住民票コード never appear unmasked in the operational log."""

from __future__ import annotations

import json
import subprocess
import sys

from cs_gateway.domain.check_digit import make_individual_number, make_juminhyo_code
from cs_gateway.logging_setup import mask_identifiers, mask_text

NUMBER = make_individual_number("12345678901")
CODE = make_juminhyo_code("9876543210")


def test_mask_text_keeps_only_the_last_four_digits() -> None:
    assert (
        mask_text(f"個人番号={NUMBER} 住民票コード={CODE}")
        == f"個人番号=********{NUMBER[-4:]} 住民票コード=*******{CODE[-4:]}"
    )
    assert mask_text("update_seq=1234567890") == "update_seq=1234567890"  # 10 digits: not an identifier
    assert mask_text("１２３４５６７８９０１２") == "********９０１２"  # full-width digits too
    assert mask_text(f"{NUMBER[:4]} {NUMBER[4:8]}-{NUMBER[8:]}") == f"**** **** {NUMBER[8:]}"


def test_identifiers_inside_longer_numbers_or_split_by_hyphens_are_masked() -> None:
    """A request id may run a date and a code together, or write a code 4-4-3: any run of 11
    digits or more keeps only its last four visible (a probe found these in the audit trail)."""
    assert mask_text(f"20261003{CODE}") == "*" * 15 + CODE[-4:]
    assert mask_text(f"{NUMBER}9") == "*" * 9 + NUMBER[-3:] + "9"
    assert mask_text(f"{CODE[:4]}-{CODE[4:8]}-{CODE[8:]}") == f"****-***{CODE[7]}-{CODE[8:]}"
    assert mask_text("2026-11-29 seq=1234567890") == "2026-11-29 seq=1234567890"  # 8 and 10 digits: kept


def test_processor_masks_every_field_and_nested_value() -> None:
    event = {"event": f"x {CODE}", "n": int(NUMBER), "nested": {"list": [NUMBER, CODE]}, "seq": 5}
    out = mask_identifiers(None, "info", event)
    assert CODE not in json.dumps(out, ensure_ascii=False)
    assert NUMBER not in json.dumps(out, ensure_ascii=False)
    assert out["seq"] == 5


def test_processor_masks_keys_and_values_of_any_type() -> None:
    """Whatever a call site passes (a record, bytes, a set, an exception, a float, a dict keyed by a
    code), nothing reaches the renderer with an identifier in it."""
    from clients.synthetic import tennyu_request

    request = tennyu_request(1)
    request.entry.juminhyo_code, request.entry.individual_number = CODE, NUMBER
    event = {
        "request": request,
        "raw": NUMBER.encode(),
        "set": {CODE},
        "error": ValueError(f"bad {NUMBER}"),
        "float": float(CODE),
        "by_code": {CODE: 1, int(NUMBER): 2},
        "ok": True,
        "none": None,
        "seq": 7,
    }
    rendered = json.dumps(mask_identifiers(None, "info", event), ensure_ascii=False, default=repr)
    for identifier in (CODE, NUMBER):
        assert identifier not in rendered
    out = mask_identifiers(None, "info", event)
    assert (out["ok"], out["none"], out["seq"]) == (True, None, 7)


def test_configured_logger_output_is_masked() -> None:
    program = (
        "from cs_gateway.logging_setup import configure_logging, get_logger\n"
        "configure_logging()\n"
        f"get_logger('t').warning('lookup {CODE}', individual_number='{NUMBER}', juminhyo_code={int(CODE)})\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert CODE not in done.stderr and NUMBER not in done.stderr
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert line["individual_number"].endswith(NUMBER[-4:])


def test_standard_logging_and_uncaught_exceptions_are_masked_too() -> None:
    """grpc and asyncio log through the standard library, and an exception that nobody catches
    prints its message: in a process set up like the server, both come out masked."""
    program = (
        "import logging, threading\n"
        "from cs_gateway.logging_setup import configure_logging\n"
        "configure_logging()\n"
        f"logging.getLogger('grpc._cython.cygrpc').error('callback failed for %s', '{NUMBER}')\n"
        "try:\n"
        f"    raise ValueError('no such code {CODE}')\n"
        "except ValueError:\n"
        "    logging.getLogger('asyncio').exception('Task exception was never retrieved')\n"
        f"t = threading.Thread(target=lambda: int('x{NUMBER}'), name='worker'); t.start(); t.join()\n"
        f"raise RuntimeError('last words {CODE}')\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    for seen in ("callback failed for ********", "no such code *******", "Exception in thread worker", "last words"):
        assert seen in done.stderr, done.stderr
    assert NUMBER not in done.stderr and CODE not in done.stderr, done.stderr
