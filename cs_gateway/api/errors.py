"""The one mapping from a domain Violation to a gRPC status with machine-readable details.

The status carries a google.rpc.ErrorInfo (reason = the violation code, metadata.field) and a
google.rpc.LocalizedMessage in Japanese, so that a client reads the reason without parsing text.
Messages never echo input values.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from ..domain.violations import Kind, Violation

ERROR_DOMAIN = "jukinet.cs.v1"
STATUS_BY_KIND: dict[Kind, grpc.StatusCode] = {
    Kind.FORMAT: grpc.StatusCode.INVALID_ARGUMENT,
    Kind.STATE: grpc.StatusCode.FAILED_PRECONDITION,
    Kind.CONFLICT: grpc.StatusCode.ALREADY_EXISTS,
    Kind.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    Kind.TOO_LARGE: grpc.StatusCode.RESOURCE_EXHAUSTED,
}


def _packed(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def rich_status(
    code: grpc.StatusCode, reason: str, message_en: str, *, message_ja: str = "", field: str = ""
) -> grpc.Status:
    metadata = {"field": field} if field else {}
    details = [_packed(error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata))]
    if message_ja:
        details.append(_packed(error_details_pb2.LocalizedMessage(locale="ja-JP", message=message_ja)))
    status = status_pb2.Status(code=code.value[0], message=message_en, details=details)
    return rpc_status.to_status(status)


def violation_status(v: Violation) -> grpc.Status:
    return rich_status(STATUS_BY_KIND[v.kind], v.code, v.message_en, message_ja=v.message_ja, field=v.field)


async def abort_with_violation(context: grpc.aio.ServicerContext, v: Violation) -> None:
    await context.abort_with_status(violation_status(v))


# Uniform refusals that reveal nothing about records.
ACCESS_DENIED = "ACCESS_DENIED"
STORE_UNAVAILABLE = "STORE_UNAVAILABLE"


def access_denied_status() -> grpc.Status:
    return rich_status(
        grpc.StatusCode.PERMISSION_DENIED, ACCESS_DENIED, "access denied", message_ja="アクセスは許可されていません"
    )


SESSION_REQUIRED = "SESSION_REQUIRED"


def session_required_status() -> grpc.Status:
    """One answer for every session failure (none, unknown, expired, over another certificate)."""
    return rich_status(
        grpc.StatusCode.UNAUTHENTICATED,
        SESSION_REQUIRED,
        "an operator session is required: log in",
        message_ja="操作者のログインが必要です",
    )


def store_unavailable_status() -> grpc.Status:
    return rich_status(
        grpc.StatusCode.UNAVAILABLE,
        STORE_UNAVAILABLE,
        "the operation was not performed (store or audit trail unavailable); retry, with the same request id",
        message_ja="処理は行われていません(記録装置または監査証跡が利用できません)。同じ依頼管理番号で再送してください",
    )
