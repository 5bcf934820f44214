"""Lookup and Search at the counter, over real mTLS against the in-process gateway with 100
synthetic residents stored through UpdateService: the seed's two-item rule (性別 never counts),
清音化かな and kanji name matching, the normalised address, the cap with "more found", masked
個人番号 unless role + purpose allow it, the per-operator rate limit, and an audit entry for every
lookup, search and refusal (criteria as HMACs) before the answer."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date

import grpc
import pytest

from clients.synthetic import individual_number_of, juminhyo_code_of, pb_date, synthetic_entry, tennyu_request
from cs_gateway.audit.chain import SubjectHasher
from cs_gateway.audit.keys import load_or_create_hmac_key
from cs_gateway.domain.search_keys import address_key, name_key
from cs_gateway.gen.jukinet.cs.v1 import identity_pb2 as pb
from cs_gateway.gen.jukinet.cs.v1 import terminal_service_pb2 as tpb
from cs_gateway.store.search_sqlite import search_sql
from pki.dev_pki import DevPki
from tests.grpc_helpers import error_info
from tests.terminal_support import Counter, counter_gateway, session

RESIDENTS = 100
CAP = 3
PER_MINUTE = 30
LOOKUP = "/jukinet.cs.v1.TerminalService/Lookup"
SEARCH = "/jukinet.cs.v1.TerminalService/Search"
OPERATORS = {
    "sato": "shokai",
    "suzuki": "shokai",
    "takahashi": "shokai-shomei",
    "admin1": "admin",
    "bulk": "shokai",
}


@pytest.fixture(scope="module")
def counter(tmp_path_factory: pytest.TempPathFactory, dev_pki: DevPki) -> Iterator[Counter]:
    tmp = tmp_path_factory.mktemp("counter")
    config = f"search_max_results = {CAP}\nlookups_per_minute = {PER_MINUTE}\n"
    with counter_gateway(tmp, dev_pki, OPERATORS, config) as running:
        writer = running.gw.stub("kizon-juki")
        for i in range(RESIDENTS):
            writer.Apply(tennyu_request(i), timeout=30)
        yield running


class Terminal:
    """One operator logged in at terminal-01."""

    def __init__(self, counter: Counter, operator_id: str) -> None:
        self.counter = counter
        self.stub = counter.stub()
        self.token = counter.login(operator_id, self.stub).session_token

    def lookup(self, code: str, purpose: int = tpb.PURPOSE_IDENTITY_CHECK) -> tpb.LookupResponse:
        request = tpb.LookupRequest(juminhyo_code=code, purpose=purpose)
        return self.stub.Lookup(request, metadata=session(self.token), timeout=30)

    def search(self, purpose: int = tpb.PURPOSE_IDENTITY_CHECK, **criteria: object) -> tpb.SearchResponse:
        request = tpb.SearchRequest(purpose=purpose, **criteria)
        return self.stub.Search(request, metadata=session(self.token), timeout=30)


_LOGGED_IN: dict[tuple[int, str], Terminal] = {}


def logged_in(counter: Counter, operator_id: str) -> Terminal:
    """One login per operator and gateway (a second within the same 30 s would replay the TOTP)."""
    key = (id(counter), operator_id)
    if key not in _LOGGED_IN:
        _LOGGED_IN[key] = Terminal(counter, operator_id)
    return _LOGGED_IN[key]


@pytest.fixture(scope="module")
def sato(counter: Counter) -> Terminal:
    return logged_in(counter, "sato")


def refusal(call) -> tuple[grpc.StatusCode, str]:  # noqa: ANN001
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code(), error_info(caught.value).reason


def last_entry(counter: Counter) -> dict:
    conn = sqlite3.connect(f"file:{counter.gw.config.store_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return dict(conn.execute("SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone())
    finally:
        conn.close()


def hasher(counter: Counter) -> SubjectHasher:
    return SubjectHasher(load_or_create_hmac_key(counter.gw.config.audit.hmac_key, may_create=False))


def codes(response: tpb.SearchResponse) -> set[str]:
    return {r.record.juminhyo_code for r in response.results}


def test_lookup_by_card_code_answers_masked_after_its_audit_entry(counter: Counter, sato: Terminal) -> None:
    code = juminhyo_code_of(7)
    answer = sato.lookup(code)
    assert answer.record.name_kanji == synthetic_entry(7).name_kanji
    assert answer.individual_number_masked
    assert answer.record.individual_number == "*" * 8 + individual_number_of(7)[-4:]
    entry = last_entry(counter)
    assert (entry["action"], entry["outcome"], entry["operator_id"], entry["terminal_id"]) == (
        LOOKUP,
        "ok",
        "sato",
        "terminal-01",
    )
    assert entry["subject_code_hmac"] == hasher(counter).juminhyo_code(code)
    assert entry["detail"] == "purpose=identity-check; individual_number=masked"
    assert code not in str(entry.values()) and individual_number_of(7) not in str(entry.values())


def test_lookup_of_a_code_not_in_the_file_is_refused_and_audited(counter: Counter, sato: Terminal) -> None:
    unknown = juminhyo_code_of(RESIDENTS + 50)
    assert refusal(lambda: sato.lookup(unknown)) == (grpc.StatusCode.NOT_FOUND, "NOT_IN_FILE")
    entry = last_entry(counter)
    assert (entry["outcome"], entry["reason"]) == ("refused", "NOT_IN_FILE")
    assert refusal(lambda: sato.lookup("12345678901")) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_JUMINHYO_CODE")


@pytest.mark.parametrize(
    "criteria",
    [
        {"name": "工藤 太郎", "sex": pb.SEX_MALE},  # 氏名 + 性別: 性別 never counts
        {"name": "工藤 太郎"},
        {"birth_date": pb_date(date(1952, 3, 3)), "sex": pb.SEX_FEMALE},
        {"address": "青森県弘前市大字土手町", "sex": pb.SEX_FEMALE},
        {"address": "-", "birth_date": pb_date(date(1952, 3, 3)), "sex": pb.SEX_MALE},  # "-" names nothing
        # 住所 naming only the municipality (gateway.municipality_name): every resident lives there
        {"name": "工藤 太郎", "address": "青森県弘前市"},
        {"name": "くどう たろう", "address": "青森県　", "sex": pb.SEX_MALE},
        {},
    ],
)
def test_two_item_rule_a_search_naming_fewer_than_two_of_name_address_birth_is_refused(
    counter: Counter, criteria: dict
) -> None:
    terminal = logged_in(counter, "suzuki")
    assert refusal(lambda: terminal.search(**criteria)) == (grpc.StatusCode.INVALID_ARGUMENT, "SEARCH_NEEDS_TWO_ITEMS")
    entry = last_entry(counter)
    assert (entry["action"], entry["outcome"], entry["reason"], entry["operator_id"]) == (
        SEARCH,
        "refused",
        "SEARCH_NEEDS_TWO_ITEMS",
        "suzuki",
    )


def test_address_and_birth_date_without_a_name_is_refused_and_audited(counter: Counter) -> None:
    """The seed's combinations are 氏名 + 住所 and 氏名 + 生年月日: 住所 + 生年月日 is refused."""
    terminal = logged_in(counter, "suzuki")
    person = synthetic_entry(3)
    criteria = {"address": person.address, "birth_date": person.birth_date}
    assert refusal(lambda: terminal.search(**criteria)) == (grpc.StatusCode.INVALID_ARGUMENT, "SEARCH_NEEDS_NAME")
    entry = last_entry(counter)
    assert (entry["action"], entry["outcome"], entry["reason"]) == (SEARCH, "refused", "SEARCH_NEEDS_NAME")
    assert person.address not in str(entry.values())


def test_an_address_naming_only_the_municipality_still_narrows_beside_a_birth_date(sato: Terminal) -> None:
    """氏名 + 住所 "青森県弘前市" + 生年月日 is a search by 氏名 + 生年月日 (the address names no more
    than the file): answered, the address still applied."""
    person = synthetic_entry(2)
    found = sato.search(name=person.name_kanji, address="青森県弘前市", birth_date=person.birth_date)
    assert juminhyo_code_of(2) in codes(found)
    assert codes(found) == codes(sato.search(name=person.name_kanji, birth_date=person.birth_date))


def test_name_matches_on_seion_kana_and_on_kanji(sato: Terminal) -> None:
    person = synthetic_entry(2)  # 工藤 太郎, クドウ タロウ
    birth = person.birth_date
    by_kanji = sato.search(name="工藤太郎", birth_date=birth)
    by_kana = sato.search(name="くとう　たろう", birth_date=birth)  # no dakuten: 清音化 matches ク"ド"ウ
    by_half_width = sato.search(name="ｸﾄﾞｳ ﾀﾛｳ", birth_date=birth)
    assert juminhyo_code_of(2) in codes(by_kanji)
    assert codes(by_kanji) == codes(by_kana) == codes(by_half_width)


def test_address_matches_on_its_normalised_form_as_a_prefix(sato: Terminal) -> None:
    person = synthetic_entry(3)  # 青森県弘前市大字富田町4番地4
    full_width = person.address.replace("4番地4", "４番地４")
    hyphens = person.address.replace("4番地4", "4-4")
    for address in (full_width, hyphens, "青森県 弘前市 大字富田町"):
        found = sato.search(name=person.name_kanji, address=address)
        assert juminhyo_code_of(3) in codes(found), address


def test_results_are_capped_with_more_found_narrow_the_search(sato: Terminal) -> None:
    name = synthetic_entry(1).name_kanji
    matching = [i for i in range(RESIDENTS) if synthetic_entry(i).name_kanji == name]
    assert len(matching) > CAP
    answer = sato.search(name=name, address="青森県弘前市大字")
    assert len(answer.results) == CAP and answer.more_found
    narrowed = sato.search(name=name, birth_date=synthetic_entry(1).birth_date)
    assert not narrowed.more_found and juminhyo_code_of(1) in codes(narrowed)


def test_search_by_code_or_individual_number_alone_and_the_criteria_audited_as_hmacs(
    counter: Counter, sato: Terminal
) -> None:
    assert codes(sato.search(juminhyo_code=juminhyo_code_of(5))) == {juminhyo_code_of(5)}
    assert codes(sato.search(individual_number=individual_number_of(6))) == {juminhyo_code_of(6)}
    assert last_entry(counter)["subject_number_hmac"] == hasher(counter).individual_number(individual_number_of(6))
    assert refusal(lambda: sato.search(juminhyo_code=juminhyo_code_of(5), name="工藤")) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "SEARCH_ONE_WAY",
    )
    person = synthetic_entry(8)
    sato.search(name=person.name_kana, birth_date=person.birth_date)
    detail = last_entry(counter)["detail"]
    keys = hasher(counter)
    assert f"name={keys.digest('search_name', name_key(person.name_kana)[1])}" in detail
    assert f"birth_date={keys.digest('search_birth_date', '1958-09-09')}" in detail
    assert keys.juminhyo_code(juminhyo_code_of(8)) in detail  # whom the operator saw
    assert person.name_kana not in detail and "1958" not in detail


@pytest.mark.parametrize(
    ("operator_id", "purpose", "masked"),
    [
        ("takahashi", tpb.PURPOSE_CERTIFICATE_ISSUE, False),  # 照会・証明 issuing a certificate
        ("takahashi", tpb.PURPOSE_IDENTITY_CHECK, True),
        ("takahashi", tpb.PURPOSE_RECORD_CORRECTION, True),
        ("admin1", tpb.PURPOSE_RECORD_CORRECTION, False),
        ("sato", tpb.PURPOSE_CERTIFICATE_ISSUE, True),  # 照会 only: never
    ],
)
def test_masked_output_unless_role_and_stated_purpose_allow_the_individual_number(
    counter: Counter, operator_id: str, purpose: int, masked: bool
) -> None:
    terminal = logged_in(counter, operator_id)
    answer = terminal.lookup(juminhyo_code_of(9), purpose)
    assert answer.individual_number_masked is masked
    assert (answer.record.individual_number == individual_number_of(9)) is (not masked)
    assert last_entry(counter)["detail"].endswith("individual_number=" + ("masked" if masked else "shown"))


def test_a_purpose_must_be_stated(sato: Terminal) -> None:
    assert refusal(lambda: sato.lookup(juminhyo_code_of(1), tpb.PURPOSE_UNSPECIFIED)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "PURPOSE_REQUIRED",
    )


def test_rate_limit_refuses_bulk_lookups_per_operator_and_is_audited(counter: Counter) -> None:
    bulk = logged_in(counter, "bulk")
    for i in range(PER_MINUTE):
        bulk.lookup(juminhyo_code_of(i))
    assert refusal(lambda: bulk.lookup(juminhyo_code_of(PER_MINUTE))) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "RATE_LIMITED",
    )
    entry = last_entry(counter)
    assert (entry["outcome"], entry["reason"], entry["operator_id"]) == ("refused", "RATE_LIMITED", "bulk")


def test_lookup_needs_an_operator_session(counter: Counter) -> None:
    stub = counter.stub()
    request = tpb.LookupRequest(juminhyo_code=juminhyo_code_of(1), purpose=tpb.PURPOSE_IDENTITY_CHECK)
    assert refusal(lambda: stub.Lookup(request, timeout=30)) == (grpc.StatusCode.UNAUTHENTICATED, "SESSION_REQUIRED")


def test_searches_use_the_index_never_a_scan_of_the_file(counter: Counter) -> None:
    conn = sqlite3.connect(f"file:{counter.gw.config.store_path}?mode=ro", uri=True)
    try:
        for how in (
            {"name": name_key("クドウ タロウ"), "birth_date": date(1952, 3, 3), "address_prefix": ""},
            {"name": name_key("工藤 太郎"), "birth_date": None, "address_prefix": address_key("青森県弘前市")},
        ):
            sql, args = search_sql(sex=None, **how)
            plan = " ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", (*args, 21)))
            assert "INDEX search_by_" in plan and "SCAN" not in plan, plan
    finally:
        conn.close()
