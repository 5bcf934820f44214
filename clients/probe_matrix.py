"""The whole attack matrix of ``cs-gateway-probe``, in the order it runs: the transport, identity
and policy attacks (clients/probe_attacks.py) with the counter-terminal attacks
(clients/probe_terminal.py) after the terminal's login rows, and audit-flood last."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from clients.probe_attacks import BASE_ATTACKS, Attack
from clients.probe_terminal import TERMINAL_ATTACKS


def _matrix() -> tuple[Attack, ...]:
    names = [a.name for a in BASE_ATTACKS]
    at = names.index("login-brute-force") + 1
    return (*BASE_ATTACKS[:at], *TERMINAL_ATTACKS, *BASE_ATTACKS[at:])


ATTACKS: tuple[Attack, ...] = _matrix()
BY_NAME = {a.name: a for a in ATTACKS}


def iter_selected(names: Sequence[str] | None) -> Iterator[Attack]:
    wanted = set(names) if names else None
    for attack in ATTACKS:
        if wanted is None or attack.name in wanted:
            yield attack
