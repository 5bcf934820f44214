"""What the logic checks may ask of the stored file, as a small read-only interface.

The store implements it inside its write transaction, so a decision sees exactly the state it
will be applied to. The domain never learns how the file is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Protocol

from .enums import RecordStatus
from .record import IdentityRecord


@dataclass(frozen=True, slots=True)
class StoredPerson:
    person_key: int  # the store's own key for the person; stable across 住民票コード変更
    record: IdentityRecord  # the current version
    retired: bool  # True when looked up by a code retired by 住民票コード変更

    def state(self, today: date) -> RecordStatus:
        return effective_status(self.record, today)


class RegistryView(Protocol):
    def find(self, juminhyo_code: str) -> StoredPerson | None:
        """The person holding (or having held, then retired) this 住民票コード."""
        ...

    def individual_number_holder(self, individual_number: str) -> int | None:
        """The person_key to whom this 個人番号 was ever assigned, if any."""
        ...

    def person(self, person_key: int) -> StoredPerson | None:
        """The person's current record, under the code they hold now (retired = False)."""
        ...


def effective_status(record: IdentityRecord, today: date) -> RecordStatus:
    """A planned departure (転出予定) whose date has come counts as removed by 転出."""
    if record.record_status is RecordStatus.PLANNED_DEPARTURE and record.change_date <= today:
        return RecordStatus.REMOVED_MOVED_OUT
    return record.record_status


def as_of(record: IdentityRecord, today: date) -> IdentityRecord:
    """The current version as read on ``today``: a 転出予定者 whose 転出予定日 has come reads as
    消除者 (転出), 予定者フラグ off (#32, #35). The stored version is not rewritten: the change
    happens by the passing of the date, not by an update, so it gets no 更新順番号 and no notice."""
    status = effective_status(record, today)
    if status is record.record_status:
        return record
    return replace(record, record_status=status, prospective=False)
