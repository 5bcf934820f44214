"""The writer's command registry: which handler runs a command, which codec decodes wire bytes.

A command is a small picklable value; its kind is its class. A handler (app/) is a function
``handle(tx, command) -> outcome`` that runs inside the writer's transaction (port.Transaction)
together with its audit entries. A wire codec (api/) turns the bytes of one RPC method (an
EncodedWrite's ``action``) into a command where the batch is applied, and the outcome into the
reply's bytes: the gateway's event loop only moves bytes. A command made on the gateway's side
may have its outcome encoded there too (a reply encoder): what crosses back is the reply's bytes.

The registry is plain data (classes, module-level functions, codec values): it is pickled into
the writer process, which runs whatever it holds. A new kind of durable work is a new command and
handler registered here by the composition root (server.py), never an edit of the writer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from .interface import Encoded, EncodedWrite
from .port import Transaction

Handler = Callable[[Transaction, Any], object]
# encode(command, outcome) -> what the caller gets instead of the outcome (picklable: bytes).
ReplyEncoder = Callable[[Any, Any], object]


class WireCodec(Protocol):
    """Decodes one RPC method's requests into commands, and their outcomes into replies.
    Must be picklable: the writer process gets its own copy."""

    def decode(self, job: EncodedWrite) -> object:
        """The command for this request (a refusal is a command too: it is audited)."""
        ...

    def encode(self, job: EncodedWrite, outcome: object) -> Encoded: ...


class CommandRegistry:
    def __init__(self) -> None:
        self.handlers: dict[type, Handler] = {}
        self.codecs: dict[str, WireCodec] = {}
        self.replies: dict[type, ReplyEncoder] = {}

    def handle(self, kind: type, handler: Handler) -> None:
        """Run ``handler(tx, command)`` for every command of this class."""
        if kind in self.handlers:
            raise ValueError(f"a handler for {kind.__qualname__} is already registered")
        self.handlers[kind] = handler

    def decode(self, action: str, codec: WireCodec) -> None:
        """Decode the EncodedWrites of this RPC method (e.g. "/pkg.Service/Method") with ``codec``."""
        if action in self.codecs:
            raise ValueError(f"a codec for {action} is already registered")
        self.codecs[action] = codec

    def reply(self, kind: type, encoder: ReplyEncoder) -> None:
        """Encode the outcome of every command of this class where the batch is applied (after its
        handler, in the writer process): its caller gets ``encoder(command, outcome)``."""
        if kind not in self.handlers:
            raise ValueError(f"no handler for {kind.__qualname__}: register it before its reply encoder")
        if kind in self.replies:
            raise ValueError(f"a reply encoder for {kind.__qualname__} is already registered")
        self.replies[kind] = encoder
