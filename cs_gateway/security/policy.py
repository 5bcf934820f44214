"""Role x RPC policy, as data: deny by default.

Each RPC (full method name) lists the roles that may call it; a method not listed is refused
for everyone. Roles come from the caller's certificate (security/identity.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

UPDATE_SERVICE = "/jukinet.cs.v1.UpdateService/"
KIZON_JUKI = "kizon-juki"

DEFAULT_RULES: dict[str, frozenset[str]] = {
    UPDATE_SERVICE + "Apply": frozenset({KIZON_JUKI}),
    UPDATE_SERVICE + "ApplyStream": frozenset({KIZON_JUKI}),
    UPDATE_SERVICE + "GetRecord": frozenset({KIZON_JUKI}),
    UPDATE_SERVICE + "GetHistory": frozenset({KIZON_JUKI}),
}


@dataclass(frozen=True)
class RpcPolicy:
    rules: Mapping[str, frozenset[str]]

    def allows(self, role: str, method: str) -> bool:
        return role in self.rules.get(method, frozenset())


DEFAULT_POLICY = RpcPolicy(DEFAULT_RULES)
