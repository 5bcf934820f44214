"""UpdateService's wire codec, run where the store applies the batch (the writer process).

The gateway's event loop receives Apply/ApplyStream requests as bytes and queues them as
EncodedWrite jobs; this codec (registered for Apply and ApplyStream) parses them, runs the format
checks (prepare_update: a StoreUpdate or RefuseUpdate command for the app's handlers), and turns
the handler's outcome into the reply's bytes. The same functions as a servicer that parsed the request
itself would call, in another process: the gateway's one Python thread is left to gRPC.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from ..app.apply_update import RefuseUpdate, StoreUpdate, UpdateOutcome, prepare_update, with_operator
from ..audit.event import REFUSED, AuditEvent
from ..domain.rules_config import DEFAULT_RULES, RulesConfig
from ..domain.violations import Violation, violation
from ..gen.jukinet.cs.v1 import update_service_pb2 as upb
from ..store.commands import CommandRegistry
from ..store.interface import Encoded, EncodedWrite
from .convert import record_to_proto, refusal_to_proto, update_from_proto

FINGERPRINT_PREFIX = "pb1:"  # sha256 of the request's deterministic wire form


def request_fingerprint(request: upb.UpdateRequest) -> str:
    """The content digest for idempotency: the same request re-sent (even re-encoded in another
    field order) has the same fingerprint."""
    return FINGERPRINT_PREFIX + hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()


def result_to_proto(result: UpdateOutcome) -> upb.UpdateResult:
    if result.violation is not None:
        return upb.UpdateResult(request_id=result.request_id, refusal=refusal_to_proto(result.violation))
    assert result.record is not None
    return upb.UpdateResult(
        request_id=result.request_id, record=record_to_proto(result.record), replayed=result.replayed
    )


@dataclass(frozen=True)
class UpdateCodec:
    """WireCodec for UpdateRequest / UpdateResult (picklable: plain data)."""

    municipality_code: str
    rules: RulesConfig = DEFAULT_RULES

    def decode(self, job: EncodedWrite) -> StoreUpdate | RefuseUpdate:
        try:
            request = upb.UpdateRequest.FromString(job.payload)
        except DecodeError:
            refused = violation("MALFORMED_REQUEST", "request")
            return RefuseUpdate(AuditEvent(job.action, REFUSED, job.actor, reason=refused.code), refused)
        command = update_from_proto(request)
        if isinstance(command, Violation):
            audit = AuditEvent(
                job.action,
                REFUSED,
                with_operator(job.actor, request.operator_id, request.terminal_id),
                reason=command.code,
                subject_juminhyo_code=request.entry.juminhyo_code,
                request_id=request.request_id,
            )
            return RefuseUpdate(audit, command)
        return prepare_update(
            command,
            actor=job.actor,
            action=job.action,
            today=job.today,
            municipality_code=self.municipality_code,
            fingerprint=request_fingerprint(request),
            rules=self.rules,
        )

    def encode(self, job: EncodedWrite, outcome: UpdateOutcome) -> Encoded:
        if outcome.violation is not None and not job.in_band:
            return Encoded(None, outcome.violation)  # the call's status carries the refusal
        return Encoded(result_to_proto(outcome).SerializeToString(), outcome.violation)


def register_codecs(
    registry: CommandRegistry, *, municipality_code: str, rules: RulesConfig = DEFAULT_RULES
) -> CommandRegistry:
    """The codec of UpdateService's byte-moving methods, Apply and ApplyStream."""
    from .update_servicer import SERVICE  # the gateway's side only: the writer needs no grpc

    codec = UpdateCodec(municipality_code=municipality_code, rules=rules)
    registry.decode(SERVICE + "Apply", codec)
    registry.decode(SERVICE + "ApplyStream", codec)
    return registry
