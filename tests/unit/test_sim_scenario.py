"""The 既存住基 simulator without a server: the demo scenario, request building, masking.

A small in-memory stand-in for the CS (format checks + logic checks of cs_gateway.domain) lets
the whole demo run through the simulator's Apply and ApplyStream code paths.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clients.kizon_juki_sim import (
    ACCEPTED,
    DEMO_SCENARIO,
    OPERATOR_ID,
    TERMINAL_ID,
    KizonJuki,
    Outcome,
    ScenarioError,
    entry_from_dict,
    format_result_line,
    load_scenario,
    main,
    make_request_id,
    outcome_from_rpc_error,
    parse_scenario,
    request_from_step,
    run_scenario,
)
from clients.masking import mask_identifier
from cs_gateway.api.convert import record_to_proto, refusal_to_proto, update_from_proto
from cs_gateway.api.errors import violation_status
from cs_gateway.domain.check_digit import (
    is_valid_individual_number,
    is_valid_juminhyo_code,
    is_valid_municipality_code,
)
from cs_gateway.domain.enums import ChangeReason
from cs_gateway.domain.format_checks import FormatContext, check_command
from cs_gateway.domain.logic_checks import decide
from cs_gateway.domain.record import IdentityRecord, UpdateCommand
from cs_gateway.domain.registry import StoredPerson
from cs_gateway.domain.violations import Violation, violation
from cs_gateway.gen.jukinet.cs.v1 import identity_pb2, update_service_pb2

TODAY = date(2026, 11, 29)
CTX = FormatContext(today=TODAY, municipality_code="022021")
HIROSAKI = "022021"
EXPECTED_FLOW = [
    ("taro", "TENNYU", ACCEPTED),
    ("hanako", "TENNYU", ACCEPTED),
    ("taro", "TENKYO", ACCEPTED),
    ("taro", "TENNYU", "ALREADY_RESIDENT"),
    ("hanako", "TENKYO", "TENKYO_CHANGES_NON_ADDRESS"),
    ("ichiro", "SHUSSEI", ACCEPTED),
    ("taro", "SHIBO", ACCEPTED),
    ("taro", "TENKYO", "DECEASED"),
    ("emma", "JUSHO_SETTEI", ACCEPTED),
    ("emma", "KOKUSEKI_SHUTOKU", ACCEPTED),
    ("hanako", "KIKA", "ALREADY_JAPANESE"),
]


@pytest.fixture(scope="module")
def demo():
    return load_scenario(DEMO_SCENARIO)


def _iso(text: str) -> date:
    return date.fromisoformat(text)


def _expected_outcome(step: dict[str, Any]) -> Outcome:
    expect = step.get("expect", ACCEPTED)
    return Outcome("accepted", ACCEPTED) if expect == ACCEPTED else Outcome("refused", expect)


def _command(request: update_service_pb2.UpdateRequest) -> UpdateCommand:
    cmd = update_from_proto(request)
    assert not isinstance(cmd, Violation), cmd
    return cmd


def _identifiers(scenario) -> set[str]:
    found: set[str] = set()
    for entry in scenario.people.values():
        found.add(entry["juminhyo_code"])
        found.add(entry["individual_number"])
    return found


# --- an in-memory CS -----------------------------------------------------------------------


class _Registry:
    """RegistryView over dicts; stores accepted records with consecutive 更新順番号."""

    def __init__(self) -> None:
        self.by_code: dict[str, StoredPerson] = {}
        self.holders: dict[str, int] = {}
        self.seq = 0

    def find(self, juminhyo_code: str) -> StoredPerson | None:
        return self.by_code.get(juminhyo_code)

    def individual_number_holder(self, individual_number: str) -> int | None:
        return self.holders.get(individual_number)

    def person(self, person_key: int) -> StoredPerson | None:
        return next((p for p in self.by_code.values() if p.person_key == person_key and not p.retired), None)

    def apply(self, cmd: UpdateCommand) -> IdentityRecord | Violation:
        found = check_command(cmd, CTX)
        if found is not None:
            return found
        decision = decide(cmd, self, TODAY)
        if isinstance(decision, Violation):
            return decision
        key = decision.person_key if decision.person_key is not None else len(self.holders) + 1
        self.seq += 1
        record = decision.record.with_stored(self.seq, datetime.now(UTC))
        self.by_code[record.juminhyo_code] = StoredPerson(person_key=key, record=record, retired=False)
        if decision.retire_code:
            self.by_code[decision.retire_code] = StoredPerson(person_key=key, record=record, retired=True)
        self.holders[record.individual_number] = key
        return record


class _FakeRpcError(grpc.RpcError, grpc.Call):
    """An RpcError as grpc raises it from a unary call, built from a grpc.Status."""

    def __init__(self, code: grpc.StatusCode, details: str, trailing_metadata: tuple = ()) -> None:
        self._code = code
        self._details = details
        self._trailing = trailing_metadata

    @classmethod
    def from_status(cls, status: grpc.Status) -> _FakeRpcError:
        return cls(status.code, status.details, tuple(status.trailing_metadata))

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple:
        return self._trailing

    def initial_metadata(self) -> tuple:
        return ()

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> float | None:
        return None

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: object) -> bool:
        return False


class _FakeCS:
    """Duck-typed UpdateServiceStub backed by the domain rules."""

    def __init__(self) -> None:
        self.registry = _Registry()
        self.requests: list[update_service_pb2.UpdateRequest] = []

    def _handle(self, request: update_service_pb2.UpdateRequest) -> IdentityRecord | Violation:
        self.requests.append(request)
        cmd = update_from_proto(request)
        if isinstance(cmd, Violation):
            return cmd
        return self.registry.apply(cmd)

    def Apply(self, request, timeout=None):  # noqa: N802
        out = self._handle(request)
        if isinstance(out, Violation):
            raise _FakeRpcError.from_status(violation_status(out))
        return update_service_pb2.UpdateResult(request_id=request.request_id, record=record_to_proto(out))

    def ApplyStream(self, request_iterator, timeout=None) -> Iterator[update_service_pb2.UpdateResult]:  # noqa: N802
        for request in request_iterator:
            out = self._handle(request)
            if isinstance(out, Violation):
                yield update_service_pb2.UpdateResult(request_id=request.request_id, refusal=refusal_to_proto(out))
            else:
                yield update_service_pb2.UpdateResult(request_id=request.request_id, record=record_to_proto(out))


# --- the demo scenario ---------------------------------------------------------------------


def test_demo_scenario_parses(demo) -> None:
    assert set(demo.people) == {"taro", "hanako", "ichiro", "emma"}
    assert demo.people["emma"]["resident_class"] == "RESIDENT_CLASS_FOREIGN"  # a 外国人住民
    flow = [(s["person"], s["reason"], s.get("expect", ACCEPTED)) for s in demo.steps]
    assert flow == EXPECTED_FLOW
    for step in demo.steps:
        assert step.get("note")


def test_demo_people_have_valid_identifiers_and_hirosaki_addresses(demo) -> None:
    codes = [p["juminhyo_code"] for p in demo.people.values()]
    numbers = [p["individual_number"] for p in demo.people.values()]
    assert len(set(codes)) == len(codes) and len(set(numbers)) == len(numbers)
    assert all(is_valid_juminhyo_code(c) for c in codes)
    assert all(is_valid_individual_number(n) for n in numbers)
    entries = list(demo.people.values()) + [s.get("set", {}) for s in demo.steps]
    for entry in entries:
        if "municipality_code" in entry:
            assert entry["municipality_code"] == HIROSAKI
        if "aza_code" in entry:
            assert re.fullmatch(r"[0-9]{7}", entry["aza_code"])
        if "address" in entry:
            assert entry["address"].startswith("青森県弘前市")
        if entry.get("previous_municipality_code"):
            assert is_valid_municipality_code(entry["previous_municipality_code"])


def test_demo_dates_are_consistent(demo) -> None:
    sim = KizonJuki(demo, "t")
    for number, step in enumerate(demo.steps, start=1):
        entry = {**sim.entries[step["person"]], **step.get("set", {})}
        change = _iso(step["change_date"])
        assert change.year == 2025 and change <= date.today()
        assert _iso(entry["notified_on"]) >= change
        for name in ("resident_since", "address_since", "notified_on"):
            assert _iso(entry[name]) <= date.today()
        if step["reason"] == "TENKYO":
            assert _iso(entry["address_since"]) == change
        if step["reason"] in ("TENNYU", "SHUSSEI"):
            assert _iso(entry["resident_since"]) == change == _iso(entry["address_since"])
        if step["reason"] == "SHUSSEI":
            assert _iso(entry["birth_date"]) == change
            assert entry["relationship"] == "RELATIONSHIP_CHILD"
        sim.settle(number, _expected_outcome(step))


def test_every_step_passes_the_format_checks(demo) -> None:
    sim = KizonJuki(demo, "fmt")
    for number, step in enumerate(demo.steps, start=1):
        cmd = _command(sim.request(number))
        assert check_command(cmd, CTX) is None, (number, check_command(cmd, CTX))
        sim.settle(number, _expected_outcome(step))


def test_every_person_entry_passes_the_format_checks(demo) -> None:
    for alias, entry in demo.people.items():
        first = next(s for s in demo.steps if s["person"] == alias)
        step = {"reason": first["reason"], "change_date": entry["resident_since"]}
        cmd = _command(request_from_step(entry, step, request_id=f"fmt-{alias}"))
        assert check_command(cmd, CTX) is None, alias


@pytest.mark.parametrize("stream", [False, True], ids=["Apply", "ApplyStream"])
def test_demo_runs_as_expected_against_the_domain_rules(demo, stream: bool) -> None:
    cs = _FakeCS()
    out = io.StringIO()
    summary = run_scenario(cs, demo, stream=stream, nonce="n1", out=out)
    text = out.getvalue()
    assert [o.code for o in summary.outcomes] == [e for _, _, e in EXPECTED_FLOW], text
    assert summary.unexpected == 0 and summary.not_sent == 0
    assert (summary.accepted, summary.refused) == (7, 4)
    assert text.splitlines()[-1] == "11 steps: 7 accepted, 4 refused, 0 unexpected"
    assert "UNEXPECTED" not in text
    # update_seq has no gaps over the accepted steps
    assert [o.update_seq for o in summary.outcomes if o.accepted] == [1, 2, 3, 4, 5, 6, 7]
    assert "現存する住民に対する転入はできません" in text
    assert "拒否 refused TENKYO_CHANGES_NON_ADDRESS (name_kanji)" in text
    for identifier in _identifiers(demo):
        assert identifier not in text
    assert "*******8562" in text
    ids = [r.request_id for r in cs.requests]
    assert ids[0] == "sim-taro-1-n1" and len(set(ids)) == len(ids)
    assert {(r.operator_id, r.terminal_id) for r in cs.requests} == {(OPERATOR_ID, TERMINAL_ID)}


def test_refused_overrides_are_not_kept(demo) -> None:
    cs = _FakeCS()
    run_scenario(cs, demo, nonce="n2", out=io.StringIO())
    # step 8 (転居 after death) was built from 太郎's entry as kept: the refused 転入 of step 4
    # did not change resident_since, the accepted 転居 of step 3 did change the address.
    last = cs.requests[7].entry
    assert (last.resident_since.year, last.resident_since.month, last.resident_since.day) == (2025, 4, 1)
    assert cs.requests[6].entry.address == "青森県弘前市大字土手町12番地3"
    # 花子's refused name change is not kept either
    assert all(r.entry.name_kanji != "山田　華子" for r in cs.requests[5:])
    # 恵麻 is sent as a 外国人住民 for her 住所設定, as a 日本人住民 for her 国籍取得
    assert cs.requests[8].entry.resident_class == identity_pb2.RESIDENT_CLASS_FOREIGN
    assert cs.requests[9].entry.resident_class == identity_pb2.RESIDENT_CLASS_JAPANESE


def test_a_rerun_uses_new_request_ids(demo) -> None:
    first, second = _FakeCS(), _FakeCS()
    run_scenario(first, demo, out=io.StringIO())
    run_scenario(second, demo, out=io.StringIO())
    assert not {r.request_id for r in first.requests} & {r.request_id for r in second.requests}


# --- request building ----------------------------------------------------------------------


def test_request_from_step_applies_overrides_and_enum_names(demo) -> None:
    entry = demo.people["taro"]
    step = {"reason": "CHANGE_REASON_TENKYO", "change_date": "2025-06-15", "set": {"address": "青森県弘前市X"}}
    req = request_from_step(entry, step, request_id="r-1")
    assert req.request_id == "r-1" and req.change_reason == identity_pb2.CHANGE_REASON_TENKYO
    assert (req.change_date.year, req.change_date.month, req.change_date.day) == (2025, 6, 15)
    assert req.entry.address == "青森県弘前市X" and req.entry.sex == identity_pb2.SEX_MALE
    assert req.entry.relationship == identity_pb2.RELATIONSHIP_HEAD
    assert req.entry.HasField("juminhyo_code_since")  # given in the scenario (a 転入 carries it)
    assert not demo.people["ichiro"].get("juminhyo_code_since")  # 出生: the CS takes the birth date
    assert entry["address"] != "青森県弘前市X"  # the kept entry is not modified
    short = request_from_step(entry, {"reason": "TENNYU", "change_date": "2025-04-01"}, request_id="r-2")
    assert short.change_reason == identity_pb2.CHANGE_REASON_TENNYU


def test_make_request_id_is_valid_and_bounded() -> None:
    rid = make_request_id("太郎 taro/1", 12, "abcdef12")
    assert rid == "sim-taro1-12-abcdef12"
    assert re.fullmatch(r"[\x21-\x7e]{1,64}", make_request_id("x" * 200, 10**6, "n" * 16))
    assert make_request_id("山田", 1, "n").startswith("sim-person-1-")


@pytest.mark.parametrize(
    "data, message",
    [
        ({"nickname": "x"}, "not a ResidentEntry field"),
        ({"name_gaiji_count": "0"}, "expected an integer"),
        ({"sex": "SEX_OTHER"}, "unknown Sex"),
        ({"birth_date": "1985/05/14"}, "YYYY-MM-DD"),
        ({"update_prohibited": 1}, "true/false"),
        ({"address": 5}, "expected a string"),
    ],
)
def test_entry_from_dict_rejects_malformed_values(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        entry_from_dict(data)


def test_entry_from_dict_keeps_impossible_dates_for_the_server_to_refuse() -> None:
    entry = entry_from_dict({"birth_date": "2025-02-30"})
    assert (entry.birth_date.month, entry.birth_date.day) == (2, 30)


def test_parse_scenario_rejects_unknown_people_and_reasons(demo) -> None:
    people = {"taro": demo.people["taro"]}
    with pytest.raises(ScenarioError, match="not in people"):
        parse_scenario(
            {"people": people, "steps": [{"person": "jiro", "reason": "TENNYU", "change_date": "2025-01-01"}]}
        )
    with pytest.raises(ScenarioError, match="unknown ChangeReason"):
        parse_scenario({"people": people, "steps": [{"person": "taro", "reason": "MOVE", "change_date": "2025-01-01"}]})
    with pytest.raises(ScenarioError, match="expect"):
        parse_scenario(
            {
                "people": people,
                "steps": [{"person": "taro", "reason": "TENNYU", "change_date": "2025-01-01", "expect": "ok"}],
            }
        )


def test_the_simulator_keeps_overrides_only_when_accepted(demo) -> None:
    sim = KizonJuki(demo, "k")
    before = dict(sim.entries["taro"])
    sim.settle(3, Outcome("refused", "SOME_REASON"))
    assert sim.entries["taro"] == before
    sim.settle(3, Outcome("error", "UNAVAILABLE"))
    assert sim.entries["taro"] == before
    sim.settle(3, Outcome("accepted", ACCEPTED, update_seq=3))
    assert sim.entries["taro"]["address"] == "青森県弘前市大字土手町12番地3"


# --- results and errors ---------------------------------------------------------------------


def test_a_refusal_status_becomes_a_refused_outcome() -> None:
    err = _FakeRpcError.from_status(violation_status(violation("ALREADY_RESIDENT", "juminhyo_code", detail_ja="転入")))
    outcome = outcome_from_rpc_error(err)
    assert outcome.kind == "refused" and outcome.code == "ALREADY_RESIDENT"
    assert outcome.field == "juminhyo_code"
    assert outcome.message_ja == "現存する住民に対する転入はできません"
    assert outcome.message_en == "this change is not allowed for a current resident"
    line = format_result_line(
        4, ChangeReason.TENNYU, {"name_kanji": "山田 太郎", "juminhyo_code": "39201748562"}, outcome, "ALREADY_RESIDENT"
    )
    assert line.startswith(
        "#4 転入 TENNYU  山田 太郎 (*******8562)  -> 拒否 refused ALREADY_RESIDENT (juminhyo_code): "
    )
    assert line.endswith("[OK]")


def test_a_transport_error_stops_the_run_and_counts_as_unexpected(demo) -> None:
    class Down:
        calls = 0

        def Apply(self, request, timeout=None):  # noqa: N802
            Down.calls += 1
            raise _FakeRpcError(grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses")

    out = io.StringIO()
    summary = run_scenario(Down(), demo, out=out)
    assert Down.calls == 1
    assert summary.outcomes[0].kind == "error" and summary.outcomes[0].code == "UNAVAILABLE"
    assert summary.unexpected == 11 and summary.not_sent == 10
    assert "UNEXPECTED" in out.getvalue()
    assert out.getvalue().splitlines()[-1] == "11 steps: 0 accepted, 0 refused, 11 unexpected"


def test_an_accepted_line_shows_seq_and_status() -> None:
    outcome = Outcome("accepted", ACCEPTED, update_seq=4, record_status=identity_pb2.RECORD_STATUS_CURRENT)
    line = format_result_line(
        3,
        ChangeReason.TENKYO,
        {"name_kanji": "山田　太郎", "juminhyo_code": "39201748562"},
        outcome,
        "ALREADY_RESIDENT",
    )
    assert "-> 受理 accepted  更新順番号=4 状況=現存者 CURRENT" in line
    assert line.endswith("[UNEXPECTED (expected ALREADY_RESIDENT)]")


def test_main_reports_a_missing_scenario_or_tls_file(tmp_path, capsys) -> None:
    common = ["--target", "localhost:1", "--ca", str(tmp_path / "ca.crt")]
    common += ["--cert", str(tmp_path / "c.crt"), "--key", str(tmp_path / "c.key")]
    assert main([*common, str(tmp_path / "nope.json")]) == 2
    assert main([*common, str(DEMO_SCENARIO)]) == 2
    assert "cannot read TLS material" in capsys.readouterr().err


# --- masking ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, masked",
    [
        ("39201748562", "*******8562"),
        ("538172460917", "********0917"),
        ("12345", "*2345"),
        ("1234", "****"),
        ("", ""),
    ],
)
def test_mask_identifier_examples(value: str, masked: str) -> None:
    assert mask_identifier(value) == masked


@given(st.text(alphabet=st.sampled_from("0123456789０１２３- "), max_size=40))
def test_mask_identifier_never_shows_more_than_four_digits(value: str) -> None:
    masked = mask_identifier(value)
    assert len(masked) == len(value)
    assert sum(ch != "*" for ch in masked) <= 4
    assert sum(ch.isdigit() for ch in masked) <= 4
    if len(value) > 4:
        assert masked.endswith(value[-4:])


def test_main_never_prints_an_identifier_from_a_bad_scenario(tmp_path, capsys) -> None:
    """A scenario that gives a 個人番号 as a JSON number is refused; the message says where, and
    masks the value like every other output of the simulator."""
    data = json.loads(DEMO_SCENARIO.read_text(encoding="utf-8"))
    person = next(iter(data["people"].values()))
    number = person["individual_number"]
    person["individual_number"] = int(number)
    scenario = tmp_path / "bad.json"
    scenario.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    common = ["--target", "localhost:1", "--ca", "x", "--cert", "y", "--key", "z"]
    assert main([*common, str(scenario)]) == 2
    err = capsys.readouterr().err
    assert "individual_number: expected a string" in err
    assert number not in err and number[-4:] in err
