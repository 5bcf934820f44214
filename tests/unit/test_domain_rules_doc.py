"""docs/domain-rules.md holds the table 異動事由 x prior state exactly as the rules decide it."""

from __future__ import annotations

from pathlib import Path

from tests.domain_table import ACCEPTED, rules_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "domain-rules.md"


def _doc_table() -> list[list[str]]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- table:begin -->", 1)[1].split("<!-- table:end -->", 1)[0]
    rows = [line.strip().strip("|").split("|") for line in block.strip().splitlines()]
    return [[cell.strip() for cell in row] for row in rows if not set(row[0].strip()) <= {"-"}]


def test_doc_table_is_what_the_rules_decide() -> None:
    assert _doc_table() == rules_table()


def test_table_covers_every_reason_and_forbids_what_the_law_forbids() -> None:
    table = {row[0].split()[-1]: row[1:] for row in rules_table()[1:]}
    assert len(table) == 18
    # 住基法30条の45: 国籍喪失 keeps a 日本人住民 present; 帰化 needs a 外国人住民
    assert table["KOKUSEKI_SOSHITSU"][1] == ACCEPTED and table["KOKUSEKI_SOSHITSU"][2] == "NOT_JAPANESE"
    assert table["KIKA"][1] == "ALREADY_JAPANESE" and table["KIKA"][2] == ACCEPTED
    assert table["KOKUSEKI_SHUTOKU"][2] == ACCEPTED  # of a present 外国人住民
    assert all(cell == "JUMINHYO_CODE_RETIRED" for cell in (row[-1] for row in table.values()))
    assert table["SHOKKEN_KISAI"][5] == ACCEPTED  # restores a 死亡・失踪宣告 record (民法32条)
