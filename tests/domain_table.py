"""The table of docs/domain-rules.md, computed from the rules themselves: each 異動事由 applied to a
person in each prior state (a plausible command, as the 既存住基 would send it), accepted or the
refusal code. ``python -m tests.domain_table`` prints the markdown; a test keeps the doc equal."""

from __future__ import annotations

from collections.abc import Callable

from cs_gateway.domain.enums import ChangeReason, ResidentClass
from cs_gateway.domain.logic_checks import Accepted
from cs_gateway.domain.record import IdentityRecord
from tests.strategies import REASONS, InMemoryRegistry
from tests.unit.test_logic_checks import accept, plausible, register, run

R = ChangeReason
C = ResidentClass
ACCEPTED = "受理 accepted"


def _none(reg: InMemoryRegistry) -> IdentityRecord:
    return register(InMemoryRegistry(), 3)  # stored elsewhere: unknown to reg


def _current_japanese(reg: InMemoryRegistry) -> IdentityRecord:
    return register(reg)


def _current_foreign(reg: InMemoryRegistry) -> IdentityRecord:
    return register(reg, resident_class=C.FOREIGN)


def _then(reason: R, **kwargs: int) -> Callable[[InMemoryRegistry], IdentityRecord]:
    def build(reg: InMemoryRegistry) -> IdentityRecord:
        return accept(reg, plausible(register(reg), reason, **kwargs))

    return build


def _retired(reg: InMemoryRegistry) -> IdentityRecord:
    person = register(reg)
    accept(reg, plausible(person, R.JUMINHYO_CODE_HENKO, n=90))
    return person  # the version under the now retired code


# (column heading, how to get there)
STATES: list[tuple[str, Callable[[InMemoryRegistry], IdentityRecord]]] = [
    ("記録なし none", _none),
    ("現存者・日本人住民 current, 日本人", _current_japanese),
    ("現存者・外国人住民 current, 外国人", _current_foreign),
    ("転出予定者 planned departure", _then(R.TENSHUTSU, ahead=30)),
    ("消除者(転出) moved out", _then(R.TENSHUTSU)),
    ("消除者(死亡・失踪宣告) deceased", _then(R.SHIBO)),
    ("消除者(職権消除) removed", _then(R.SHOKKEN_SHOJO)),
    ("廃止された住民票コード retired code", _retired),
]


def outcome(reason: R, state: Callable[[InMemoryRegistry], IdentityRecord]) -> str:
    reg = InMemoryRegistry()
    record = state(reg)
    result = run(reg, plausible(record, reason, n=7))
    return ACCEPTED if isinstance(result, Accepted) else result.code


def rules_table() -> list[list[str]]:
    rows = [["異動事由", *[name for name, _ in STATES]]]
    for reason in REASONS:
        rows.append([f"{reason.label_ja} {reason.name}", *[outcome(reason, build) for _, build in STATES]])
    return rows


def markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(rules_table()))
