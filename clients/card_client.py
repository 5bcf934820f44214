"""The terminal's side of a card check: ask the CS for a nonce, have the card sign it (the PIN
opens the card's key: pki/card.py), send certificate, signature and card face to VerifyCard."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from cs_gateway.gen.jukinet.cs.v1 import identity_pb2 as pb
from cs_gateway.gen.jukinet.cs.v1 import terminal_service_pb2 as tpb
from cs_gateway.gen.jukinet.cs.v1 import terminal_service_pb2_grpc as tgrpc
from cs_gateway.security.sessions import METADATA_KEY
from pki.card import read_card, sign_nonce


def card_request(card_path: Path, pin: str, nonce: bytes, purpose: int) -> tpb.VerifyCardRequest:
    """The VerifyCardRequest the card makes for this nonce (raises pki.card.CardError on a wrong PIN
    or a locked card)."""
    card = read_card(card_path)
    signature = sign_nonce(card_path, pin, nonce)
    der = x509.load_pem_x509_certificate(card.certificate_pem).public_bytes(serialization.Encoding.DER)
    birth = card.face.birth_date
    face = tpb.CardFace(
        name=card.face.name,
        address=card.face.address,
        birth_date=pb.Date(year=birth.year, month=birth.month, day=birth.day),
        sex=card.face.sex,
    )
    return tpb.VerifyCardRequest(purpose=purpose, nonce=nonce, certificate=der, signature=signature, face=face)


def verify_card(
    stub: tgrpc.TerminalServiceStub,
    token: str,
    card_path: Path,
    pin: str,
    *,
    purpose: int = tpb.PURPOSE_IDENTITY_CHECK,
    timeout: float = 30.0,
) -> tpb.VerifyCardResponse:
    metadata = ((METADATA_KEY, token),)
    nonce = stub.BeginCardCheck(tpb.BeginCardCheckRequest(), metadata=metadata, timeout=timeout).nonce
    request = card_request(card_path, pin, nonce, purpose)
    return stub.VerifyCard(request, metadata=metadata, timeout=timeout)
