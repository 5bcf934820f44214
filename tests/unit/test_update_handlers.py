"""UpdateService's handlers are registered by hand (Apply and ApplyStream take bytes): they must
be exactly the methods of the service in the proto, with the proto's streaming shapes."""

from __future__ import annotations

from cs_gateway.api.update_servicer import SERVICE_NAME, UpdateServicer
from cs_gateway.gen.jukinet.cs.v1 import update_service_pb2


def test_handlers_are_the_services_methods_with_their_shapes() -> None:
    service = update_service_pb2.DESCRIPTOR.services_by_name["UpdateService"]
    assert service.full_name == SERVICE_NAME
    handlers = UpdateServicer(store=None).method_handlers()  # type: ignore[arg-type]
    assert set(handlers) == {m.name for m in service.methods}
    for method in service.methods:
        handler = handlers[method.name]
        assert handler.request_streaming == method.client_streaming, method.name
        assert handler.response_streaming == method.server_streaming, method.name


def test_only_apply_and_apply_stream_skip_protobuf_parsing_in_grpc() -> None:
    handlers = UpdateServicer(store=None).method_handlers()  # type: ignore[arg-type]
    raw = {name for name, h in handlers.items() if h.request_deserializer is None}
    assert raw == {"Apply", "ApplyStream"}  # parsed (and refused when malformed) by UpdateCodec
