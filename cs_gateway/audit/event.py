"""What happened, as the code that saw it describes it (before anything is hashed)."""

from __future__ import annotations

from dataclasses import dataclass

from ..fast_pickle import pickled_by_fields


@pickled_by_fields  # every command carries one to the writer process
@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: the certificate identity and, for counter terminals, the operator."""

    spiffe_id: str = ""
    cert_fingerprint: str = ""
    peer: str = ""  # the network address the call came from
    operator_id: str = ""
    terminal_id: str = ""


SYSTEM = Actor(spiffe_id="local:cs-gateway")


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One operation. Subject identifiers are plaintext here and only here: the trail stores
    them as keyed HMACs."""

    action: str  # the RPC's full method name, or a command such as "audit.export"
    outcome: str  # ok | refused | denied | error
    actor: Actor = SYSTEM
    reason: str = ""  # the machine code of a refusal, or the rule of a denial
    subject_juminhyo_code: str = ""
    subject_individual_number: str = ""
    request_id: str = ""
    update_seq: int | None = None
    detail: str = ""  # free text without identifiers (e.g. where an export went)

    def with_outcome(
        self,
        outcome: str,
        *,
        reason: str = "",
        update_seq: int | None = None,
        detail: str = "",
        subject_juminhyo_code: str | None = None,
        subject_individual_number: str | None = None,
    ) -> AuditEvent:
        """This event with its outcome (built directly: it runs for every operation)."""
        return AuditEvent(
            self.action,
            outcome,
            self.actor,
            reason or self.reason,
            self.subject_juminhyo_code if subject_juminhyo_code is None else subject_juminhyo_code,
            self.subject_individual_number if subject_individual_number is None else subject_individual_number,
            self.request_id,
            self.update_seq if update_seq is None else update_seq,
            detail or self.detail,
        )


OK = "ok"
REFUSED = "refused"  # the request was understood and refused by a rule of the domain
DENIED = "denied"  # the caller was not allowed (identity, revocation, network, policy)
ERROR = "error"  # the gateway failed; nothing was performed
REPLAYED = "replayed"  # detail of an ok entry answering a resent request from its stored result
