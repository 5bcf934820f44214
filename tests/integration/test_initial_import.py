"""The 初期移行 (``cs-gateway store import``): an imported store answers the counter through the
real gateway; its rows are those Apply would have stored for the same persons; every refusal
names the line and item, stores nothing, and is audited; a non-empty or busy store is refused."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import orjson
import pytest

from clients.synthetic import individual_number_of, juminhyo_code_of, synthetic_entry, tennyu_request
from clients.synthetic_import import import_line, write_import_file
from cs_gateway.cli import main
from cs_gateway.config import GatewayConfig, load_config
from cs_gateway.domain.enums import ChangeReason
from cs_gateway.gen.jukinet.cs.v1 import terminal_service_pb2 as tpb
from cs_gateway.import_command import ImportRefusedError, run_import
from cs_gateway.process import write_dev_config
from cs_gateway.store.at_rest import default_key_path
from cs_gateway.store.bulk_import import BulkImportError
from cs_gateway.store.sqlite_tx import open_reader
from pki.dev_pki import DevPki
from tests.conftest import in_process_gateway
from tests.terminal_support import counter_gateway, session

PERSONS = 60


def _config(tmp_path: Path, dev_pki: DevPki, name: str = "cs") -> GatewayConfig:
    folder = tmp_path / name
    folder.mkdir()
    return load_config(
        write_dev_config(folder / "gw.toml", pki_dir=dev_pki.directory, store_path=folder / "cs.sqlite3")
    )


def _toml(config: GatewayConfig) -> Path:
    return config.store_path.parent / "gw.toml"


def _rows(config: GatewayConfig, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{config.store_path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _write_lines(path: Path, lines: list[dict]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


def test_imported_store_answers_lookup_and_two_item_search(tmp_path: Path, dev_pki: DevPki) -> None:
    file = write_import_file(tmp_path / "in.jsonl", PERSONS)
    imported = []

    def load(config: GatewayConfig) -> None:
        imported.append(run_import(config, file, workers=2))  # the worker processes' path

    with counter_gateway(tmp_path, dev_pki, {"sato": "shokai"}, before_start=load) as counter:
        stub = counter.stub()
        token = counter.login("sato", stub).session_token
        found = stub.Lookup(
            tpb.LookupRequest(juminhyo_code=juminhyo_code_of(7), purpose=tpb.PURPOSE_IDENTITY_CHECK),
            metadata=session(token),
            timeout=30,
        )
        assert found.record.juminhyo_code == juminhyo_code_of(7)
        assert found.record.name_kanji == synthetic_entry(7).name_kanji
        assert found.individual_number_masked and found.record.individual_number != individual_number_of(7)
        entry = synthetic_entry(11)
        searched = stub.Search(
            tpb.SearchRequest(purpose=tpb.PURPOSE_IDENTITY_CHECK, name=entry.name_kana, birth_date=entry.birth_date),
            metadata=session(token),
            timeout=30,
        )
        assert juminhyo_code_of(11) in [r.record.juminhyo_code for r in searched.results]
        assert all(r.record.name_kana == entry.name_kana for r in searched.results)
    (summary,) = imported
    assert summary.records == PERSONS
    ((detail,),) = _rows(counter.gw.config, "SELECT detail FROM audit_log WHERE action = 'store.import'")
    assert f"records={PERSONS}; updates=1-{PERSONS}; sha256={summary.sha256}" in detail
    assert _rows(counter.gw.config, "SELECT COUNT(*) FROM outbox") == [(0,)]  # no notices: documented
    assert _rows(counter.gw.config, "PRAGMA journal_mode") == [("wal",)]  # the load's mode was restored
    assert main(["audit", "verify", "--config", str(tmp_path / "gw.toml")]) == 0  # cross-check: one entry each


def test_imported_rows_equal_what_apply_stores(tmp_path: Path, dev_pki: DevPki) -> None:
    imported = _config(tmp_path, dev_pki, "imported")
    applied = _config(tmp_path, dev_pki, "applied")
    run_import(imported, write_import_file(tmp_path / "in.jsonl", PERSONS), workers=0)
    shutil.copy(default_key_path(imported.store_path), default_key_path(applied.store_path))  # the same key
    with in_process_gateway(applied, dev_pki) as gw:
        writer = gw.stub("kizon-juki")
        for i in range(PERSONS):
            assert writer.Apply(tennyu_request(i), timeout=30).WhichOneof("outcome") == "record"
    index_sql = (
        "SELECT p.juminhyo_code, s.name_kana, s.name_kanji, s.address, s.birth_date, s.sex "
        "FROM search_index s JOIN persons p USING (person_id) ORDER BY p.juminhyo_code"
    )
    assert _rows(imported, index_sql) == _rows(applied, index_sql)
    numbers_sql = (
        "SELECT p.juminhyo_code, n.number_index FROM individual_numbers n JOIN persons p USING (person_id) "
        "ORDER BY p.juminhyo_code"
    )
    assert _rows(imported, numbers_sql) == _rows(applied, numbers_sql)  # the blind index, same key
    codes_sql = (
        "SELECT c.juminhyo_code, c.retired, p.update_seq FROM codes c JOIN persons p USING (person_id) ORDER BY 1"
    )
    assert _rows(imported, codes_sql) == _rows(applied, codes_sql)
    # the sealed history: no clear 個人番号 in the file, and it opens to the same record
    for (text,) in _rows(imported, "SELECT record FROM history"):
        assert orjson.loads(text)["individual_number"].startswith("v1:")
    a, b = open_reader(imported.store_path), open_reader(applied.store_path)
    try:
        for i in range(PERSONS):
            ra, rb = a.find(juminhyo_code_of(i)), b.find(juminhyo_code_of(i))
            assert ra is not None and rb is not None
            assert ra.record.individual_number == individual_number_of(i)
            assert ra.record == rb.record.with_stored(rb.record.update_seq, ra.record.timestamp)  # timestamp aside
            assert a.history(juminhyo_code_of(i)) == [ra.record]
    finally:
        a.close()
        b.close()


def _bad(i: int, **change: object) -> dict:
    line = import_line(i)
    entry = change.pop("entry", None)
    line.update(change)
    if entry:
        line["entry"] = {**line["entry"], **entry}  # type: ignore[dict-item]
    return line


@pytest.mark.parametrize(
    ("bad", "field", "reason"),
    [
        (_bad(2, entry={"individual_number": "123456789012"}), "individual_number", "INVALID_INDIVIDUAL_NUMBER"),
        (_bad(2, entry={"birth_date": "1980-02-30"}), "birth_date", "INVALID_DATE"),
        (_bad(2, entry={"name_kana": "やまだ"}), "name_kana", "INVALID_KANA"),
        (_bad(2, entry={"sex": 7}), "sex", "INVALID_ENUM"),
        (_bad(2, entry={"nickname": "x"}), "nickname", "MALFORMED_REQUEST"),
        (_bad(2, change_reason=int(ChangeReason.TENKYO)), "change_reason", "IMPORT_NEEDS_KISAI"),
        (_bad(2, entry={"juminhyo_code_since": ""}), "juminhyo_code_since", "MISSING_FIELD"),  # a logic check
        (_bad(2, entry={"juminhyo_code": juminhyo_code_of(0)}), "juminhyo_code", "DUPLICATE_JUMINHYO_CODE"),
        (
            _bad(2, entry={"individual_number": individual_number_of(1)}),
            "individual_number",
            "DUPLICATE_INDIVIDUAL_NUMBER",
        ),
        ("{not json", "line", "MALFORMED_LINE"),
    ],
)
def test_a_refused_line_names_line_and_item_and_stores_nothing(
    tmp_path: Path, dev_pki: DevPki, bad: object, field: str, reason: str
) -> None:
    config = _config(tmp_path, dev_pki)
    file = tmp_path / "in.jsonl"
    good = [orjson.dumps(import_line(i)) for i in range(5)]
    bad_bytes = bad.encode() if isinstance(bad, str) else orjson.dumps(bad)
    file.write_bytes(b"\n".join([good[0], good[1], b"", bad_bytes, good[3], good[4]]) + b"\n")  # line 4 (a blank 3)
    with pytest.raises(ImportRefusedError) as refused:
        run_import(config, file, workers=0)
    assert (refused.value.line, refused.value.field, refused.value.reason) == (4, field, reason)
    for table in ("persons", "history", "codes", "individual_numbers", "search_index", "outbox"):
        assert _rows(config, f"SELECT COUNT(*) FROM {table}") == [(0,)], table  # noqa: S608
    ((outcome, got, detail),) = _rows(config, "SELECT outcome, reason, detail FROM audit_log")
    assert (outcome, got) == ("refused", reason) and f"line=4; field={field}" in detail
    assert _rows(config, "PRAGMA journal_mode") == [("wal",)]
    # a good file imports into it afterwards: the refusal left the store empty
    assert run_import(config, _write_lines(tmp_path / "good.jsonl", [import_line(i) for i in range(5)])).records == 5


def test_cli_names_the_line_and_masks_nothing_personal(
    tmp_path: Path, dev_pki: DevPki, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, dev_pki)
    code = juminhyo_code_of(0)
    lines = [import_line(0), _bad(1, entry={"juminhyo_code": code})]
    file = _write_lines(tmp_path / "in.jsonl", lines)
    assert main(["store", "import", "--config", str(_toml(config)), str(file)]) == 1
    err = capsys.readouterr().err
    assert "line 2: juminhyo_code: DUPLICATE_JUMINHYO_CODE" in err and "nothing stored" in err
    assert code not in err


def test_non_empty_store_is_refused(tmp_path: Path, dev_pki: DevPki, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, dev_pki)
    first = write_import_file(tmp_path / "a.jsonl", 3)
    assert main(["store", "import", "--config", str(_toml(config)), str(first)]) == 0
    assert "imported 3 records" in capsys.readouterr().out
    second = write_import_file(tmp_path / "b.jsonl", 3, start=10)
    with pytest.raises(BulkImportError) as refused:
        run_import(config, second, workers=0)
    assert refused.value.reason == "STORE_NOT_EMPTY"
    assert _rows(config, "SELECT COUNT(*) FROM persons") == [(3,)]
    assert _rows(config, "SELECT outcome, reason FROM audit_log ORDER BY seq") == [
        ("ok", ""),
        ("refused", "STORE_NOT_EMPTY"),
    ]
    assert _rows(config, "PRAGMA journal_mode") == [("wal",)]


def test_store_in_use_by_a_running_gateway_is_refused(tmp_path: Path, dev_pki: DevPki) -> None:
    config = _config(tmp_path, dev_pki)
    file = write_import_file(tmp_path / "in.jsonl", 3)
    with in_process_gateway(config, dev_pki):
        with pytest.raises(BulkImportError) as refused:
            run_import(config, file, workers=0)
    assert refused.value.reason == "STORE_IN_USE"
    assert _rows(config, "SELECT COUNT(*) FROM persons") == [(0,)]
    assert _rows(config, "PRAGMA journal_mode") == [("wal",)]
