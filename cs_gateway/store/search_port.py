"""The counter terminal's part of the transaction port: searches by the index, and keyed hashes
of search criteria for the audit entry (the same key as the trail's subject HMACs)."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from ..domain.enums import Sex
from ..domain.record_codec import StoredVersion
from .operator_port import OperatorTransaction


class TerminalTransaction(OperatorTransaction, Protocol):
    def find_version(self, juminhyo_code: str) -> StoredVersion | None:
        """The current version of the person holding (or having held: ``retired``) this code,
        in its stored form: for a read that only shows it."""
        ...

    def person_version(self, person_key: int) -> StoredVersion | None:
        """The current version of this person (the store's key), in its stored form."""
        ...

    def search(
        self,
        *,
        name: tuple[str, str] | None,
        address_prefix: str,
        birth_date: date | None,
        sex: Sex | None,
        limit: int,
    ) -> list[StoredVersion]:
        """The current versions (stored form) of the persons whose current version matches every
        given key (name = (kind, key) of domain.search_keys.name_key; the address as a prefix of
        its key), at most ``limit``, by the index only."""
        ...

    def criteria_hmac(self, kind: str, value: str) -> str:
        """The audit trail's keyed HMAC of a search criterion (an auditor can match it, nobody
        can read it back)."""
        ...
