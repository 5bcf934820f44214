"""What crosses the pipe to the writer process comes out whole: every field of the commands and
audit entries that pickle by their fields (fast_pickle.pickled_by_fields), a field added later
included."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from cs_gateway.app.terminal_lookup import LookupPerson
from cs_gateway.audit.event import Actor, AuditEvent
from cs_gateway.fast_pickle import pickled_by_fields

ACTOR = Actor("spiffe://hirosaki.jukinet.test/terminal/t1", "ab" * 32, "ipv4:127.0.0.1:5", "op-1", "terminal-01")


@pytest.mark.parametrize(
    "value",
    [
        ACTOR,
        AuditEvent("/x/Lookup", "ok", ACTOR, "R", "12345678901", "123456789012", "req-1", 42, "d"),
        LookupPerson("12345678901", "identity-check", True, ACTOR, "/jukinet.cs.v1.TerminalService/Lookup"),
    ],
)
def test_every_field_crosses(value: object) -> None:
    assert all(getattr(value, f.name) not in ("", None) for f in dataclasses.fields(value))  # type: ignore[arg-type]
    back = pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))  # noqa: S301 - our own bytes
    assert back == value and type(back) is type(value)


@pickled_by_fields
@dataclasses.dataclass(frozen=True, slots=True)
class _Later:
    first: str
    added_later: int = 0


@pickled_by_fields
@dataclasses.dataclass(frozen=True, slots=True)
class _One:
    only: str


def test_a_field_added_later_and_a_single_field_cross_too() -> None:
    assert pickle.loads(pickle.dumps(_Later("x", 7))) == _Later("x", 7)  # noqa: S301
    assert pickle.loads(pickle.dumps(_One("y"))) == _One("y")  # noqa: S301
