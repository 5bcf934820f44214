"""Use case: the counter's マイナンバーカード check, after the CS verified the card itself
(security/card_check.py): is the card's 住民票コード a current record, and how does the card face
compare with what the 本人確認情報ファイル holds? One writer transaction reads the person and
appends the audit entry (operator, terminal, purpose, subject, the card's serial and the
comparison, never a value): the answer exists only once that entry is durable.

A code that is not a current record (never in the file, retired by 住民票コード変更, or the
person removed: 転出, 死亡, 職権消除) is refused as CARD_HOLDER_NOT_CURRENT, audited with the
code as subject. Only an operator in a live session reaches this, and that operator may know.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ..audit.event import OK, REFUSED, Actor, AuditEvent
from ..domain.enums import RecordStatus
from ..domain.masking import mask_identifier
from ..domain.record import IdentityRecord
from ..domain.registry import effective_status
from ..domain.search_keys import KANA, address_key, name_key
from ..store.search_port import TerminalTransaction

NOT_CURRENT = "CARD_HOLDER_NOT_CURRENT"
_CURRENT = (RecordStatus.CURRENT, RecordStatus.PLANNED_DEPARTURE)


@dataclass(frozen=True, slots=True)
class FaceItems:
    """The card face's 4情報 as the terminal read them."""

    name: str
    address: str
    birth_date: date | None
    sex: int


@dataclass(frozen=True, slots=True)
class VerifyCardHolder:
    juminhyo_code: str  # from the card certificate the CS verified
    card_serial: int
    face: FaceItems
    purpose: str
    disclose_number: bool
    today: date
    actor: Actor
    action: str
    nonce_ref: str = ""  # security/card_check.nonce_ref: ties the entry to its BeginCardCheck

    def __repr__(self) -> str:  # a log line or a traceback never shows the code in full
        return f"VerifyCardHolder(juminhyo_code={mask_identifier(self.juminhyo_code)!r}, purpose={self.purpose!r})"


@dataclass(frozen=True, slots=True)
class Compared:
    field: str
    card_value: str
    cs_value: str
    match: bool


@dataclass(frozen=True, slots=True)
class CardChecked:
    record: IdentityRecord | None = None  # None: refused (reason)
    comparison: list[Compared] = field(default_factory=list)
    reason: str = ""
    audit_seq: int = 0


def _same_name(card: str, record: IdentityRecord) -> bool:
    kind, key = name_key(card)
    if kind == KANA:
        return key == name_key(record.name_kana)[1]
    return key == name_key(record.name_kanji)[1]


def compare_face(face: FaceItems, record: IdentityRecord) -> list[Compared]:
    """Field by field: 氏名 (kanji, or kana on 清音化かな), 住所 (normalised), 生年月日, 性別."""
    birth = face.birth_date.isoformat() if face.birth_date is not None else ""
    return [
        Compared("name", face.name, record.name_kanji, _same_name(face.name, record)),
        Compared("address", face.address, record.address, address_key(face.address) == address_key(record.address)),
        Compared("birth_date", birth, record.birth_date.isoformat(), face.birth_date == record.birth_date),
        Compared("sex", str(face.sex), str(int(record.sex)), face.sex == int(record.sex)),
    ]


def verify_card_holder(tx: TerminalTransaction, command: VerifyCardHolder) -> CardChecked:
    """Handler of VerifyCardHolder: the holder's current record and the comparison (audited)."""
    person = tx.find(command.juminhyo_code)
    base = f"purpose={command.purpose}; card_serial={command.card_serial:x}"
    if command.nonce_ref:
        base += f"; nonce={command.nonce_ref}"
    if person is None or person.retired or effective_status(person.record, command.today) not in _CURRENT:
        seq = tx.append_audit(
            AuditEvent(
                command.action,
                REFUSED,
                command.actor,
                reason=NOT_CURRENT,
                subject_juminhyo_code=command.juminhyo_code,
                detail=base,
            )
        )
        return CardChecked(reason=NOT_CURRENT, audit_seq=seq)
    comparison = compare_face(command.face, person.record)
    shown = "individual_number=shown" if command.disclose_number else "individual_number=masked"
    summary = " ".join(f"{c.field}={'match' if c.match else 'differs'}" for c in comparison)
    seq = tx.append_audit(
        AuditEvent(
            command.action,
            OK,
            command.actor,
            subject_juminhyo_code=person.record.juminhyo_code,
            subject_individual_number=person.record.individual_number,
            update_seq=person.record.update_seq,
            detail=f"{base}; {shown}; {summary}",
        )
    )
    return CardChecked(person.record, comparison, "", seq)


CARD_HANDLERS = {VerifyCardHolder: verify_card_holder}
