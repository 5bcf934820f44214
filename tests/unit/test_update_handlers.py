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


def test_each_apply_stream_call_numbers_its_updates_for_the_store() -> None:
    """The store stops a stream after its first update that was not stored (order): for that it
    must tell streams apart. Unary Apply calls are no stream (0)."""
    import asyncio

    from cs_gateway.store.interface import Encoded

    class RecordingStore:
        def __init__(self) -> None:
            self.jobs: list = []

        def submit(self, job, answer):  # noqa: ANN001, ANN202
            self.jobs.append(job)
            answer.set_result(Encoded(b"reply", None))
            return answer

    class Context:
        def peer(self) -> str:
            return "ipv4:127.0.0.1:1"

    async def requests(n: int):  # noqa: ANN202
        for _ in range(n):
            yield b"\x0a\x00"

    async def run(store: RecordingStore) -> None:
        servicer = UpdateServicer(store=store)  # type: ignore[arg-type]
        for n in (2, 3):
            replies = [r async for r in servicer.ApplyStream(requests(n), Context())]  # type: ignore[arg-type]
            assert replies == [b"reply"] * n
        assert await servicer.Apply(b"\x0a\x00", Context()) == b"reply"  # type: ignore[arg-type]

    store = RecordingStore()
    asyncio.run(run(store))
    assert [job.stream for job in store.jobs] == [1, 1, 2, 2, 2, 0]


def test_a_stream_ended_by_a_store_failure_leaves_no_unread_failure_behind() -> None:
    """After the first update that was not stored the call ends (UNAVAILABLE); the answers of the
    updates queued behind it fail too. Nobody reads them: they must not each make asyncio log
    'exception was never retrieved' (a full disk flooded the log with hundreds)."""
    import asyncio
    import gc

    from cs_gateway.store.interface import StoreError

    class FailingStore:
        def submit(self, job, answer):  # noqa: ANN001, ANN202
            asyncio.get_running_loop().call_later(0.01, answer.set_exception, StoreError("commit failed: disk full"))
            return answer

    class Aborted(Exception):  # noqa: N818 - stands for grpc's AbortError
        pass

    class Context:
        def peer(self) -> str:
            return "ipv4:127.0.0.1:1"

        async def abort_with_status(self, _status: object) -> None:
            raise Aborted

    async def requests():  # noqa: ANN202
        for _ in range(20):
            yield b"\x0a\x00"

    reported: list[str] = []

    async def run() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: reported.append(ctx["message"]))
        servicer = UpdateServicer(store=FailingStore())  # type: ignore[arg-type]
        try:
            async for _ in servicer.ApplyStream(requests(), Context()):  # type: ignore[arg-type]
                raise AssertionError("nothing was stored, nothing may be answered")
        except Aborted:
            pass
        await asyncio.sleep(0.05)  # every queued answer has failed by now
        gc.collect()
        await asyncio.sleep(0)

    asyncio.run(run())
    gc.collect()
    assert not [m for m in reported if "never retrieved" in m], reported
