"""Use cases: the counter terminal's lookup (by the card's 住民票コード) and search (by 住民票コード,
個人番号 or 4情報), each a command whose handler reads and appends its audit entry in one writer
transaction: the answer exists only once the entry that records it is durable (seed III(2)-3:
every operation is logged; III(1)-3: who looked up what for whom).

The entry names the operator, the terminal (操作端末ID = the certificate's host), the purpose,
the subject (住民票コード / 個人番号, HMAC'd by the trail) and for a 4情報 search its criteria as
keyed HMACs (matchable by an auditor, unreadable in the file). Whether the 個人番号 is shown is
decided here from the operator's role and the stated purpose, and recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..audit.event import OK, REFUSED, Actor, AuditEvent
from ..domain.masking import mask_identifier
from ..domain.record_codec import StoredVersion
from ..domain.search_rule import BY_CODE, BY_NUMBER, FourItemKeys, SearchCriteria
from ..fast_pickle import pickled_by_fields
from ..store.search_port import TerminalTransaction

IDENTITY_CHECK = "identity-check"  # 本人確認 at the counter
CERTIFICATE_ISSUE = "certificate-issue"  # 証明書交付 (住民票の写し with 個人番号)
RECORD_CORRECTION = "record-correction"  # 職権修正の確認
PURPOSES = (IDENTITY_CHECK, CERTIFICATE_ISSUE, RECORD_CORRECTION)
# (operator role, purpose) that may see the 個人番号 unmasked; everything else sees it masked.
DISCLOSES_NUMBER: frozenset[tuple[str, str]] = frozenset(
    {
        ("shokai-shomei", CERTIFICATE_ISSUE),
        ("admin", CERTIFICATE_ISSUE),
        ("admin", RECORD_CORRECTION),
    }
)


def discloses_number(role: str, purpose: str) -> bool:
    return (role, purpose) in DISCLOSES_NUMBER


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class LookupPerson:
    juminhyo_code: str
    purpose: str
    disclose_number: bool
    actor: Actor  # terminal certificate + operator + terminal id
    action: str

    def __repr__(self) -> str:  # a log line or a traceback never shows the code in full
        return f"LookupPerson(juminhyo_code={mask_identifier(self.juminhyo_code)!r}, purpose={self.purpose!r})"


@dataclass(frozen=True, slots=True)
class SearchPersons:
    criteria: SearchCriteria
    keys: FourItemKeys  # what search_way counted: searched and audited as they are
    way: str  # domain.search_rule.search_way's answer (checked before the command is made)
    purpose: str
    disclose_number: bool
    actor: Actor
    action: str
    limit: int


@dataclass(frozen=True, slots=True)
class Found:
    records: list[StoredVersion] = field(default_factory=list)  # as stored: encoded for the reply as they are
    more_found: bool = False  # more matched than the cap: narrow the search
    audit_seq: int = 0


def _shown(disclose: bool) -> str:
    return "individual_number=shown" if disclose else "individual_number=masked"


def lookup_person(tx: TerminalTransaction, command: LookupPerson) -> Found:
    """Handler of LookupPerson: the person currently holding this code, or nobody (audited both)."""
    person = tx.find_version(command.juminhyo_code)
    detail = f"purpose={command.purpose}; {_shown(command.disclose_number)}"
    if person is None or person.retired:
        tx.append_audit(
            AuditEvent(
                command.action,
                REFUSED,
                command.actor,
                reason="NOT_IN_FILE",
                subject_juminhyo_code=command.juminhyo_code,
                detail=f"purpose={command.purpose}",
            )
        )
        return Found()
    seq = tx.append_audit(
        AuditEvent(
            command.action,
            OK,
            command.actor,
            subject_juminhyo_code=person.juminhyo_code,
            subject_individual_number=person.individual_number,
            update_seq=person.update_seq,
            detail=detail,
        )
    )
    return Found([person], False, seq)


def _find(tx: TerminalTransaction, command: SearchPersons, keys: FourItemKeys) -> list[StoredVersion]:
    c = command.criteria
    if command.way == BY_CODE:
        person = tx.find_version(c.juminhyo_code)
        return [person] if person is not None and not person.retired else []
    if command.way == BY_NUMBER:
        key = tx.individual_number_holder(c.individual_number)
        person = tx.person_version(key) if key is not None else None
        return [person] if person is not None and person.individual_number == c.individual_number else []
    return tx.search(  # search_way made sure of a name key and one more
        name=keys.name,
        address_prefix=keys.address,
        birth_date=keys.birth_date,
        sex=keys.sex,
        limit=command.limit + 1,
    )


def _criteria(tx: TerminalTransaction, keys: FourItemKeys) -> str:
    """The keys the search ran on, as keyed HMACs."""
    keyed = []
    if keys.name is not None:
        keyed.append(f"name={tx.criteria_hmac('search_name', keys.name[1])}")
    if keys.address:
        keyed.append(f"address={tx.criteria_hmac('search_address', keys.address)}")
    if keys.birth_date is not None:
        keyed.append(f"birth_date={tx.criteria_hmac('search_birth_date', keys.birth_date.isoformat())}")
    if keys.sex is not None:
        keyed.append(f"sex={int(keys.sex)}")
    return " ".join(keyed)


def search_persons(tx: TerminalTransaction, command: SearchPersons) -> Found:
    """Handler of SearchPersons: at most ``limit`` current records, and whether more matched."""
    keys = command.keys
    found = _find(tx, command, keys)
    more = len(found) > command.limit
    found = found[: command.limit]
    c = command.criteria
    detail = (
        f"purpose={command.purpose}; way={command.way}; {_shown(command.disclose_number)}; "
        f"results={len(found)}{'+' if more else ''}"
    )
    if command.way not in (BY_CODE, BY_NUMBER):
        detail += f"; criteria {_criteria(tx, keys)}"
    if found:  # whom the operator saw: the same HMAC as an entry's subject_code_hmac
        detail += "; shown " + ",".join(tx.criteria_hmac("juminhyo_code", p.juminhyo_code) for p in found)
    seq = tx.append_audit(
        AuditEvent(
            command.action,
            OK,
            command.actor,
            subject_juminhyo_code=c.juminhyo_code,
            subject_individual_number=c.individual_number,
            detail=detail,
        )
    )
    return Found(found, more, seq)


TERMINAL_HANDLERS = {LookupPerson: lookup_person, SearchPersons: search_persons}
