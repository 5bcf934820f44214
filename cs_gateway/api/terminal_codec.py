"""TerminalService's reply encoders, run where the store applies the batch (the writer process).

Lookup and Search are commands made on the gateway's side (api/terminal_servicer.py: the session,
the purpose, the rate limit and the two-item rule are checked there); their outcome (app/
terminal_lookup.py's Found: the versions as stored) is encoded here, after the handler and before
the batch's COMMIT, into the reply's bytes with the 個人番号 already masked unless disclosed. What goes
back to the gateway's one Python thread is those bytes: it returns them as they are.

No grpc here: the writer process imports this module.
"""

from __future__ import annotations

from ..app.terminal_lookup import Found, LookupPerson, SearchPersons
from ..domain.masking import mask_identifier
from ..domain.record import IdentityRecord
from ..domain.record_codec import StoredVersion
from ..domain.violations import violation
from ..gen.jukinet.cs.v1 import identity_pb2
from ..gen.jukinet.cs.v1 import terminal_service_pb2 as tpb
from ..store.commands import CommandRegistry
from ..store.interface import Encoded
from .convert import record_to_proto, stored_to_proto


def shown(record: IdentityRecord, disclose: bool) -> identity_pb2.IdentityRecord:
    """The record for the terminal: 個人番号 masked unless disclosed."""
    out = record_to_proto(record)
    if not disclose:
        out.individual_number = mask_identifier(record.individual_number)
    return out


def shown_stored(version: StoredVersion, disclose: bool) -> identity_pb2.IdentityRecord:
    """shown(record_from_dict(version.data), disclose), from the stored items (convert.stored_to_proto)."""
    out = stored_to_proto(version)
    if not disclose:
        out.individual_number = mask_identifier(version.individual_number)
    return out


def lookup_reply(command: LookupPerson, found: Found) -> Encoded:
    """A LookupResponse's bytes, or NOT_IN_FILE (the caller's status; audited by the handler)."""
    if not found.records:
        return Encoded(None, violation("NOT_IN_FILE", "juminhyo_code"))
    disclose = command.disclose_number
    reply = tpb.LookupResponse(record=shown_stored(found.records[0], disclose), individual_number_masked=not disclose)
    return Encoded(reply.SerializeToString(), None)


def search_reply(command: SearchPersons, found: Found) -> Encoded:
    """A SearchResponse's bytes: at most the cap of records, and whether more matched."""
    disclose = command.disclose_number
    reply = tpb.SearchResponse(
        results=[tpb.SearchResult(record=shown_stored(r, disclose)) for r in found.records],
        more_found=found.more_found,
        individual_number_masked=not disclose,
    )
    return Encoded(reply.SerializeToString(), None)


def register_terminal_replies(registry: CommandRegistry) -> CommandRegistry:
    """Lookup's and Search's outcomes are encoded in the writer (their handlers must be registered)."""
    registry.reply(LookupPerson, lookup_reply)
    registry.reply(SearchPersons, search_reply)
    return registry
