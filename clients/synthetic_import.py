"""An 初期移行 file (JSON Lines, domain/import_line.py) of the synthetic residents of synthetic.py:
line ``i`` is the 転入 of person ``i``, the same update that ``tennyu_request(i)`` sends (a test
checks it), written fast enough for a 1,000,000-person file.

    python -m clients.synthetic_import OUT.jsonl --count 1000000 [--start 0]
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import orjson

from clients import synthetic as syn
from cs_gateway.domain.enums import ChangeReason, Relationship, ResidentClass, Sex


def import_line(i: int, *, request_prefix: str = "syn", moved_in: date = date(2025, 4, 1)) -> dict[str, object]:
    """The line of person i (the items of synthetic.tennyu_request(i), in import_line's form)."""
    surname, surname_kana = syn._SURNAMES[i % len(syn._SURNAMES)]
    given, given_kana = syn._GIVEN[(i // len(syn._SURNAMES)) % len(syn._GIVEN)]
    birth = date(1950 + i % 60, 1 + i % 12, 1 + i % 28).isoformat()
    since = moved_in.isoformat()
    return {
        "request_id": f"{request_prefix}-{i}",
        "change_reason": int(ChangeReason.TENNYU),
        "change_date": since,
        "operator_id": "kizon-op01",
        "terminal_id": "kizon-t01",
        "entry": {
            "juminhyo_code": syn.juminhyo_code_of(i),
            "name_kanji": f"{surname}\u3000{given}",
            "name_kana": f"{surname_kana}\u3000{given_kana}",
            "birth_date": birth,
            "sex": int(Sex.MALE if i % 2 else Sex.FEMALE),
            "municipality_code": syn.MUNICIPALITY,
            "aza_code": f"{1000000 + i % 900:07d}",
            "postal_code": "0368551",
            "address": f"青森県弘前市{syn._TOWNS[i % len(syn._TOWNS)]}{1 + i % 30}番地{1 + i % 9}",
            "individual_number": syn.individual_number_of(i),
            "resident_since": since,
            "address_since": since,
            "notified_on": since,
            "relationship": int(Relationship.HEAD),
            "previous_municipality_code": "011002",
            "previous_address": "北海道札幌市中央区北一条西二丁目",
            "juminhyo_code_since": birth,
            "resident_class": int(ResidentClass.FOREIGN if i % 10 == 9 else ResidentClass.JAPANESE),
        },
    }


def write_import_file(path: Path, count: int, *, start: int = 0, request_prefix: str = "syn") -> Path:
    """Persons start .. start+count-1, one line each."""
    with open(path, "wb") as fh:
        for first in range(start, start + count, 10_000):
            fh.write(
                b"".join(
                    orjson.dumps(import_line(i, request_prefix=request_prefix)) + b"\n"
                    for i in range(first, min(first + 10_000, start + count))
                )
            )
    return Path(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write an 初期移行 file of synthetic 弘前市 residents")
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--start", type=int, default=0)
    args = parser.parse_args(argv)
    write_import_file(args.out, args.count, start=args.start)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
