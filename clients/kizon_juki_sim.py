"""既存住基システム simulator: plays a scenario of 異動 against the 市町村CS over mTLS gRPC.

The simulator keeps each person's entry the way the 既存住基システム would: a step's field
overrides become part of the person's entry only if the CS accepted the step. Each step is
sent with UpdateService.Apply, or, with ``--stream``, all steps over one ApplyStream (still one
at a time: the next request is built only after the previous result has arrived, because it
depends on whether that result was an acceptance).

Scenario file (JSON)::

    {"people": {"<alias>": {<ResidentEntry fields; dates "YYYY-MM-DD";
                            enums by name, e.g. "SEX_MALE", "RELATIONSHIP_HEAD">}},
     "steps": [{"person": "<alias>", "reason": "TENNYU", "change_date": "YYYY-MM-DD",
                "set": {<overrides for this step>}, "expect": "ACCEPTED" | "<REASON_CODE>",
                "note": "text", "detail": "<異動事由詳細, optional>"}]}

A full 住民票コード or 個人番号 is never printed (see clients.masking).

Usage::

    python -m clients.kizon_juki_sim --target localhost:50051 --ca pki/dev/ca.crt \\
        --cert pki/dev/kizon-juki.crt --key pki/dev/kizon-juki.key \\
        clients/scenarios/demo.json [--stream]
"""

from __future__ import annotations

import argparse
import json
import queue
import re
import secrets
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TextIO

import grpc
from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from clients.masking import mask_identifier
from cs_gateway.gen.jukinet.cs.v1 import identity_pb2, update_service_pb2, update_service_pb2_grpc
from cs_gateway.logging_setup import mask_text

__all__ = [
    "DEMO_SCENARIO",
    "OPERATOR_ID",
    "TERMINAL_ID",
    "KizonJuki",
    "Outcome",
    "RunSummary",
    "Scenario",
    "ScenarioError",
    "change_reason_number",
    "date_from_iso",
    "entry_from_dict",
    "format_result_line",
    "load_scenario",
    "main",
    "make_request_id",
    "merged_entry",
    "new_nonce",
    "outcome_from_result",
    "outcome_from_rpc_error",
    "parse_scenario",
    "request_from_step",
    "run_scenario",
]

OPERATOR_ID = "kizon-op01"
TERMINAL_ID = "kizon-t01"
ACCEPTED = "ACCEPTED"
DEMO_SCENARIO = Path(__file__).resolve().parent / "scenarios" / "demo.json"
DEFAULT_TIMEOUT = 10.0

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_EXPECT = re.compile(r"[A-Z][A-Z0-9_]*")
_NONCE = re.compile(r"[A-Za-z0-9_.-]{1,16}")
_ALIAS_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_STEP_KEYS = frozenset({"person", "reason", "change_date", "set", "expect", "note", "detail"})
_SCENARIO_KEYS = frozenset({"people", "steps", "description"})
_ENTRY_FIELDS: Mapping[str, FieldDescriptor] = identity_pb2.ResidentEntry.DESCRIPTOR.fields_by_name
_INT_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
    }
)

_REASON_JA: dict[int, str] = {
    identity_pb2.CHANGE_REASON_UNSPECIFIED: "未設定",
    identity_pb2.CHANGE_REASON_TENNYU: "転入",
    identity_pb2.CHANGE_REASON_TENKYO: "転居",
    identity_pb2.CHANGE_REASON_TENSHUTSU: "転出",
    identity_pb2.CHANGE_REASON_TENSHUTSU_TORIKESHI: "転出取消",
    identity_pb2.CHANGE_REASON_SHUSSEI: "出生",
    identity_pb2.CHANGE_REASON_SHIBO: "死亡",
    identity_pb2.CHANGE_REASON_SHISSO_SENKOKU: "失踪宣告",
    identity_pb2.CHANGE_REASON_SHOKKEN_KISAI: "職権記載",
    identity_pb2.CHANGE_REASON_SHOKKEN_SHUSEI: "職権修正",
    identity_pb2.CHANGE_REASON_SHOKKEN_SHOJO: "職権消除",
    identity_pb2.CHANGE_REASON_KOKUSEKI_SHUTOKU: "国籍取得",
    identity_pb2.CHANGE_REASON_KOKUSEKI_SOSHITSU: "国籍喪失",
    identity_pb2.CHANGE_REASON_KIKA: "帰化",
    identity_pb2.CHANGE_REASON_JUMINHYO_CODE_HENKO: "住民票コード変更",
    identity_pb2.CHANGE_REASON_KOJIN_BANGO_HENKO: "個人番号変更",
    identity_pb2.CHANGE_REASON_JUSHO_SETTEI: "住所設定",
    identity_pb2.CHANGE_REASON_ZAIRYU_SHIKAKU_SHUTOKU: "在留資格取得",
    identity_pb2.CHANGE_REASON_SETAI_HENKO: "世帯変更",
}
# 住民の区分 (住基法30条の45), shown after the name when the entry carries it.
_CLASS_JA: dict[str, str] = {
    "RESIDENT_CLASS_JAPANESE": "日本人住民",
    "RESIDENT_CLASS_FOREIGN": "外国人住民",
}
_STATUS_JA: dict[int, str] = {
    identity_pb2.RECORD_STATUS_UNSPECIFIED: "未設定",
    identity_pb2.RECORD_STATUS_CURRENT: "現存者",
    identity_pb2.RECORD_STATUS_PLANNED_DEPARTURE: "転出予定者",
    identity_pb2.RECORD_STATUS_REMOVED_MOVED_OUT: "消除者(転出)",
    identity_pb2.RECORD_STATUS_REMOVED_DECEASED: "消除者(死亡)",
    identity_pb2.RECORD_STATUS_REMOVED_OTHER: "消除者(その他)",
}

Entry = dict[str, Any]
"""A person's ResidentEntry in its JSON form (dates "YYYY-MM-DD", enums by name)."""

Step = Mapping[str, Any]
"""One scenario step in its JSON form."""


class ScenarioError(ValueError):
    """The scenario file is malformed; the message says where."""


# --- JSON -> proto ----------------------------------------------------------------------


def date_from_iso(text: object, where: str = "date") -> identity_pb2.Date:
    """``"YYYY-MM-DD"`` as a proto Date.

    Only the shape is checked, not the calendar, so that a scenario can send an impossible
    date (``2025-02-30``) on purpose and watch the CS refuse it.
    """
    match = _DATE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{where}: expected a date 'YYYY-MM-DD', got {text!r}")
    year, month, day = (int(g) for g in match.groups())
    return identity_pb2.Date(year=year, month=month, day=day)


def _enum_prefix(enum: EnumDescriptor) -> str:
    """ChangeReason -> CHANGE_REASON_."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"


def _enum_number(enum: EnumDescriptor, value: object, where: str) -> int:
    """An enum value given by full name (SEX_MALE), short name (MALE) or raw number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        for candidate in (value, _enum_prefix(enum) + value):
            found = enum.values_by_name.get(candidate)
            if found is not None:
                return int(found.number)
    names = ", ".join(enum.values_by_name)
    raise ValueError(f"{where}: unknown {enum.name} {value!r} (one of {names})")


def change_reason_number(value: object, where: str = "reason") -> int:
    """異動事由 by name: ``"TENNYU"`` or ``"CHANGE_REASON_TENNYU"`` (or its number)."""
    return _enum_number(identity_pb2.ChangeReason.DESCRIPTOR, value, where)


def entry_from_dict(data: Mapping[str, Any], where: str = "entry") -> identity_pb2.ResidentEntry:
    """A ResidentEntry from its JSON form. ``None`` leaves a field at its default (absent)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
    entry = identity_pb2.ResidentEntry()
    for name, value in data.items():
        fd = _ENTRY_FIELDS.get(name)
        at = f"{where}.{name}"
        if fd is None:
            raise ValueError(f"{at}: not a ResidentEntry field")
        if value is None:
            continue
        if fd.message_type is not None:
            getattr(entry, name).CopyFrom(date_from_iso(value, at))
        elif fd.enum_type is not None:
            setattr(entry, name, _enum_number(fd.enum_type, value, at))
        elif fd.type == FieldDescriptor.TYPE_BOOL:
            if not isinstance(value, bool):
                raise ValueError(f"{at}: expected true/false, got {value!r}")
            setattr(entry, name, value)
        elif fd.type in _INT_TYPES:
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{at}: expected an integer, got {value!r}")
            try:
                setattr(entry, name, value)
            except ValueError as exc:
                raise ValueError(f"{at}: {exc}") from None
        else:
            if not isinstance(value, str):
                raise ValueError(f"{at}: expected a string, got {value!r}")
            setattr(entry, name, value)
    return entry


def merged_entry(entry: Mapping[str, Any], step: Step) -> Entry:
    """The person's entry with the step's ``set`` overrides applied (a new dict)."""
    overrides = step.get("set") or {}
    return {**entry, **overrides}


def request_from_step(
    entry: Mapping[str, Any],
    step: Step,
    *,
    request_id: str,
    operator_id: str = OPERATOR_ID,
    terminal_id: str = TERMINAL_ID,
) -> update_service_pb2.UpdateRequest:
    """The UpdateRequest for one step, given the person's entry as kept before the step."""
    return update_service_pb2.UpdateRequest(
        request_id=request_id,
        change_reason=change_reason_number(step.get("reason"), "reason"),
        change_date=date_from_iso(step.get("change_date"), "change_date"),
        change_reason_detail=str(step.get("detail", "")),
        operator_id=operator_id,
        terminal_id=terminal_id,
        entry=entry_from_dict(merged_entry(entry, step), "entry"),
    )


def new_nonce() -> str:
    """A fresh run nonce (8 hex digits), so that a rerun uses new 依頼管理番号."""
    return secrets.token_hex(4)


def make_request_id(alias: str, number: int, nonce: str) -> str:
    """依頼管理番号 ``sim-<alias>-<step no>-<nonce>`` (printable ASCII, at most 64 chars)."""
    safe = _ALIAS_UNSAFE.sub("", alias)[:24] or "person"
    return f"sim-{safe}-{number}-{nonce}"[:64]


# --- scenario -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    people: dict[str, Entry]
    steps: list[dict[str, Any]]
    description: str = ""


def parse_scenario(data: object) -> Scenario:
    """Check a scenario's shape and every value it would put on the wire."""
    if not isinstance(data, dict):
        raise ScenarioError("scenario: expected a JSON object")
    unknown = set(data) - _SCENARIO_KEYS
    if unknown:
        raise ScenarioError(f"scenario: unknown keys {sorted(unknown)}")
    people = data.get("people")
    steps = data.get("steps")
    if not isinstance(people, dict) or not people:
        raise ScenarioError("people: expected a non-empty object of alias -> entry")
    if not isinstance(steps, list) or not steps:
        raise ScenarioError("steps: expected a non-empty list")
    try:
        for alias, entry in people.items():
            entry_from_dict(entry, f"people.{alias}")
        for index, step in enumerate(steps, start=1):
            _check_step(step, people, f"steps[#{index}]")
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ScenarioError("description: expected a string")
    return Scenario(
        people={a: dict(e) for a, e in people.items()}, steps=[dict(s) for s in steps], description=description
    )


def _check_step(step: object, people: Mapping[str, Any], where: str) -> None:
    if not isinstance(step, dict):
        raise ValueError(f"{where}: expected an object")
    unknown = set(step) - _STEP_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    person = step.get("person")
    if person not in people:
        raise ValueError(f"{where}.person: {person!r} is not in people")
    change_reason_number(step.get("reason"), f"{where}.reason")
    date_from_iso(step.get("change_date"), f"{where}.change_date")
    overrides = step.get("set", {})
    if not isinstance(overrides, dict):
        raise ValueError(f"{where}.set: expected an object")
    entry_from_dict(overrides, f"{where}.set")
    expect = step.get("expect", ACCEPTED)
    if not isinstance(expect, str) or not _EXPECT.fullmatch(expect):
        raise ValueError(f"{where}.expect: expected ACCEPTED or a reason code, got {expect!r}")
    for key in ("note", "detail"):
        if not isinstance(step.get(key, ""), str):
            raise ValueError(f"{where}.{key}: expected a string")


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file (ScenarioError if malformed, OSError if unreadable)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{path}: not valid JSON: {exc}") from None
    return parse_scenario(data)


# --- results -------------------------------------------------------------------------------

OutcomeKind = Literal["accepted", "refused", "error"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one step: accepted, refused (with a reason code) or a transport error."""

    kind: OutcomeKind
    code: str  # ACCEPTED, the refusal reason, or the gRPC status name of an error
    field: str = ""
    message_ja: str = ""
    message_en: str = ""
    update_seq: int = 0
    record_status: int = 0
    replayed: bool = False

    @property
    def accepted(self) -> bool:
        return self.kind == "accepted"

    def matches(self, expect: str) -> bool:
        return self.kind != "error" and self.code == expect


def outcome_from_result(result: update_service_pb2.UpdateResult, request_id: str) -> Outcome:
    """The outcome carried by an UpdateResult (from Apply or ApplyStream)."""
    if result.request_id != request_id:
        return Outcome("error", "REQUEST_ID_MISMATCH", message_en="the result is for another request")
    which = result.WhichOneof("outcome")
    if which == "record":
        record = result.record
        return Outcome(
            "accepted",
            ACCEPTED,
            update_seq=record.update_seq,
            record_status=record.record_status,
            replayed=result.replayed,
        )
    if which == "refusal":
        r = result.refusal
        return Outcome(
            "refused",
            r.reason,
            field=r.field,
            message_ja=r.message_ja,
            message_en=r.message_en,
            replayed=result.replayed,
        )
    return Outcome("error", "EMPTY_RESULT", message_en="the result has neither record nor refusal")


def outcome_from_rpc_error(err: grpc.RpcError) -> Outcome:
    """A refusal if the error status carries a google.rpc.ErrorInfo, else a transport error."""
    code = err.code() if isinstance(err, grpc.Call) else None
    code_name = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
    try:
        status = rpc_status.from_call(err) if isinstance(err, grpc.Call) else None
    except ValueError:  # details inconsistent with the status line
        status = None
    info: error_details_pb2.ErrorInfo | None = None
    message_ja = ""
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR) and info is None:
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
            elif detail.Is(error_details_pb2.LocalizedMessage.DESCRIPTOR):
                localized = error_details_pb2.LocalizedMessage()
                detail.Unpack(localized)
                if localized.locale.lower().startswith("ja") and not message_ja:
                    message_ja = localized.message
    if status is None or info is None:
        details = err.details() if isinstance(err, grpc.Call) else str(err)
        return Outcome("error", code_name, message_en=mask_text(str(details or "")))
    return Outcome(
        "refused",
        info.reason,
        field=info.metadata.get("field", ""),
        message_ja=message_ja,
        message_en=status.message,
    )


def _reason_label(number: int) -> str:
    ja = _REASON_JA.get(number, "?")
    try:
        name = identity_pb2.ChangeReason.Name(number).removeprefix("CHANGE_REASON_")
    except ValueError:
        name = str(number)
    return f"{ja} {name}"


def _status_label(number: int) -> str:
    ja = _STATUS_JA.get(number, "?")
    try:
        name = identity_pb2.RecordStatus.Name(number).removeprefix("RECORD_STATUS_")
    except ValueError:
        name = str(number)
    return f"{ja} {name}"


def format_result_line(number: int, reason: int, entry: Mapping[str, Any], outcome: Outcome, expect: str) -> str:
    """One readable line (Japanese and English) for a step's result; identifiers are masked."""
    name = str(entry.get("name_kanji", "")) or "?"
    code = mask_identifier(str(entry.get("juminhyo_code", "")))
    resident_class = _CLASS_JA.get(str(entry.get("resident_class", "")))
    shown = f"{name} [{resident_class}]" if resident_class else name
    head = f"#{number} {_reason_label(reason)}  {shown} ({code})"
    if outcome.kind == "accepted":
        body = f"受理 accepted  更新順番号={outcome.update_seq} 状況={_status_label(outcome.record_status)}"
    elif outcome.kind == "refused":
        where = f" ({outcome.field})" if outcome.field else ""
        messages = " / ".join(m for m in (outcome.message_ja, outcome.message_en) if m)
        body = f"拒否 refused {outcome.code}{where}: {messages}"
    else:
        body = f"エラー error {outcome.code}: {outcome.message_en}"
    if outcome.replayed:
        body += "  (再送結果 replayed)"
    mark = "OK" if outcome.matches(expect) else f"UNEXPECTED (expected {expect})"
    return f"{head}  -> {body}  [{mark}]"


# --- running -------------------------------------------------------------------------------


class UpdateStub(Protocol):
    """The two UpdateService methods the simulator calls (the generated stub has them)."""

    def Apply(  # noqa: N802 - gRPC method name
        self, request: update_service_pb2.UpdateRequest, timeout: float | None = ...
    ) -> update_service_pb2.UpdateResult: ...

    def ApplyStream(  # noqa: N802 - gRPC method name
        self, request_iterator: Iterator[update_service_pb2.UpdateRequest], timeout: float | None = ...
    ) -> Iterator[update_service_pb2.UpdateResult]: ...


class KizonJuki:
    """The 既存住基 side of a scenario: each person's entry as last accepted by the CS."""

    def __init__(
        self,
        scenario: Scenario,
        nonce: str,
        *,
        operator_id: str = OPERATOR_ID,
        terminal_id: str = TERMINAL_ID,
    ) -> None:
        self.scenario = scenario
        self.nonce = nonce
        self.operator_id = operator_id
        self.terminal_id = terminal_id
        self.entries: dict[str, Entry] = {alias: dict(e) for alias, e in scenario.people.items()}

    def request(self, number: int) -> update_service_pb2.UpdateRequest:
        """The request for step ``number`` (1-based), from the entries kept so far."""
        step = self.scenario.steps[number - 1]
        alias = step["person"]
        return request_from_step(
            self.entries[alias],
            step,
            request_id=make_request_id(alias, number, self.nonce),
            operator_id=self.operator_id,
            terminal_id=self.terminal_id,
        )

    def settle(self, number: int, outcome: Outcome) -> None:
        """Keep the step's overrides if, and only if, the CS accepted the step."""
        if outcome.accepted:
            step = self.scenario.steps[number - 1]
            alias = step["person"]
            self.entries[alias] = merged_entry(self.entries[alias], step)


@dataclass
class RunSummary:
    total: int
    accepted: int = 0
    refused: int = 0
    errors: int = 0
    unexpected: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def not_sent(self) -> int:
        return self.total - len(self.outcomes)

    def line(self) -> str:
        return f"{self.total} steps: {self.accepted} accepted, {self.refused} refused, {self.unexpected} unexpected"


class _Printer:
    def __init__(self, sim: KizonJuki, summary: RunSummary, out: TextIO, verbose: bool) -> None:
        self.sim = sim
        self.summary = summary
        self.out = out
        self.verbose = verbose

    def report(self, number: int, request: update_service_pb2.UpdateRequest, outcome: Outcome) -> None:
        step = self.sim.scenario.steps[number - 1]
        expect = str(step.get("expect", ACCEPTED))
        entry = self.sim.entries[step["person"]]  # as known before the step
        if outcome.accepted:  # shown as stored: a 国籍取得's new name and 区分, not the old ones
            entry = merged_entry(entry, step)
        print(format_result_line(number, request.change_reason, entry, outcome, expect), file=self.out)
        if self.verbose and step.get("note"):
            print(f"    {mask_text(str(step['note']))}", file=self.out)
        s = self.summary
        s.outcomes.append(outcome)
        s.accepted += outcome.kind == "accepted"
        s.refused += outcome.kind == "refused"
        s.errors += outcome.kind == "error"
        s.unexpected += not outcome.matches(expect)
        self.sim.settle(number, outcome)


def run_scenario(
    stub: UpdateStub,
    scenario: Scenario,
    *,
    stream: bool = False,
    nonce: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    verbose: bool = False,
    out: TextIO | None = None,
) -> RunSummary:
    """Send every step, print one line per result and the summary; steps not sent count as
    unexpected (a transport error stops the run, since later steps depend on earlier ones)."""
    out = out if out is not None else sys.stdout
    sim = KizonJuki(scenario, nonce or new_nonce())
    summary = RunSummary(total=len(scenario.steps))
    printer = _Printer(sim, summary, out, verbose)
    mode = "ApplyStream" if stream else "Apply"
    print(
        f"シナリオ scenario: {len(scenario.people)} 人 people, {summary.total} 件 steps, {mode}, run nonce {sim.nonce}",
        file=out,
    )
    if stream:
        _run_stream(stub, sim, printer, timeout)
    else:
        _run_unary(stub, sim, printer, timeout)
    if summary.not_sent:
        summary.unexpected += summary.not_sent
        print(f"中断 aborted: {summary.not_sent} 件 steps not sent", file=out)
    print(summary.line(), file=out)
    return summary


def _run_unary(stub: UpdateStub, sim: KizonJuki, printer: _Printer, timeout: float) -> None:
    for number in range(1, len(sim.scenario.steps) + 1):
        request = sim.request(number)
        try:
            outcome = outcome_from_result(stub.Apply(request, timeout=timeout), request.request_id)
        except grpc.RpcError as err:
            outcome = outcome_from_rpc_error(err)
        printer.report(number, request, outcome)
        if outcome.kind == "error":
            return


def _run_stream(stub: UpdateStub, sim: KizonJuki, printer: _Printer, timeout: float) -> None:
    """One ApplyStream, in lock step: request n+1 is built once result n is known."""
    pending: queue.Queue[update_service_pb2.UpdateRequest | None] = queue.Queue()

    def requests() -> Iterator[update_service_pb2.UpdateRequest]:
        while (item := pending.get()) is not None:
            yield item

    total = len(sim.scenario.steps)
    responses = stub.ApplyStream(requests(), timeout=timeout * max(1, total))
    try:
        for number in range(1, total + 1):
            request = sim.request(number)
            pending.put(request)
            try:
                outcome = outcome_from_result(next(responses), request.request_id)
            except StopIteration:
                outcome = Outcome("error", "STREAM_ENDED", message_en="the stream ended before this result")
            except grpc.RpcError as err:
                outcome = outcome_from_rpc_error(err)
                printer.report(number, request, outcome)
                return  # the stream is over
            printer.report(number, request, outcome)
            if outcome.kind == "error":
                return
        pending.put(None)
        for _extra in responses:  # let the server close the stream
            pass
    except grpc.RpcError:
        pass  # every step has its result; a failure while closing changes none of them
    finally:
        pending.put(None)
        cancel = getattr(responses, "cancel", None)
        if callable(cancel):
            cancel()


# --- CLI -----------------------------------------------------------------------------------


def _channel(args: argparse.Namespace) -> grpc.Channel:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=Path(args.ca).read_bytes(),
        private_key=Path(args.key).read_bytes(),
        certificate_chain=Path(args.cert).read_bytes(),
    )
    options = [("grpc.ssl_target_name_override", args.server_name)] if args.server_name else []
    return grpc.secure_channel(args.target, credentials, options=options)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kizon-juki-sim",
        description="既存住基システム simulator: sends a scenario of 異動 to the 市町村CS (mTLS gRPC).",
    )
    parser.add_argument("--target", required=True, help="HOST:PORT of the CS UpdateService")
    parser.add_argument("--ca", required=True, help="PEM file of the CA that signed the server certificate")
    parser.add_argument("--cert", required=True, help="PEM client certificate (kizon-juki role)")
    parser.add_argument("--key", required=True, help="PEM private key of the client certificate")
    parser.add_argument(
        "--server-name", default="localhost", help="name expected in the server certificate (default: localhost)"
    )
    parser.add_argument("--stream", action="store_true", help="send all steps over one ApplyStream")
    parser.add_argument(
        "--nonce", help="run nonce in every 依頼管理番号 (default: random); reuse one to replay a run idempotently"
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per request (default: %(default)s)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="also print each step's note")
    parser.add_argument("scenario", type=Path, help="scenario JSON file, e.g. clients/scenarios/demo.json")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point. Exit 0 only if every step ended as expected; 1 otherwise; 2 on bad input."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.nonce is not None and not _NONCE.fullmatch(args.nonce):
        parser.error("--nonce must be 1-16 characters of [A-Za-z0-9_.-]")
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    try:
        scenario = load_scenario(args.scenario)
    except (OSError, ScenarioError) as exc:
        print(f"error: {mask_text(str(exc))}", file=sys.stderr)
        return 2
    try:
        channel = _channel(args)
    except OSError as exc:
        print(f"error: cannot read TLS material: {exc}", file=sys.stderr)
        return 2
    with channel:
        stub = update_service_pb2_grpc.UpdateServiceStub(channel)
        summary = run_scenario(
            stub, scenario, stream=args.stream, nonce=args.nonce, timeout=args.timeout, verbose=args.verbose
        )
    return 0 if summary.unexpected == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
