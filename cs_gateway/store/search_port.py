"""The counter terminal's part of the transaction port: searches by the index, and keyed hashes
of search criteria for the audit entry (the same key as the trail's subject HMACs)."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from ..domain.enums import Sex
from ..domain.registry import StoredPerson
from .operator_port import OperatorTransaction


class TerminalTransaction(OperatorTransaction, Protocol):
    def search(
        self,
        *,
        name: tuple[str, str] | None,
        address_prefix: str,
        birth_date: date | None,
        sex: Sex | None,
        limit: int,
    ) -> list[StoredPerson]:
        """Persons whose current version matches every given key (name = (kind, key) of
        domain.search_keys.name_key; the address as a prefix of its key), at most ``limit``,
        by the index only."""
        ...

    def criteria_hmac(self, kind: str, value: str) -> str:
        """The audit trail's keyed HMAC of a search criterion (an auditor can match it, nobody
        can read it back)."""
        ...
