"""``cs-gateway pki card-ca | card-issue | card-revoke | card-crl | card-unlock``: the card CA
(standing for the 機構's card issuance) and its cards (pki/card.py), on the ``pki`` click group.
Each returns an exit code: 0 done, 1 refused with a one-line message on stderr."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from pki.card import CARD_CA_CERT, CARD_CRL, CardError, CardFace, init_card_ca, issue_card, revoke_card, unlock_card
from pki.card import write_card_crl as _write_card_crl

_ERRORS = (ValueError, OSError, CardError)
_SEXES = {"male": 1, "female": 2}
_DIRECTORY = click.argument("directory", type=click.Path(path_type=Path))
_CARD = click.argument("card_file", type=click.Path(path_type=Path))


def _fail(err: Exception) -> int:
    print(f"cs-gateway: {err}", file=sys.stderr)
    return 1


def add_card_commands(pki_group: click.Group) -> None:
    @pki_group.command("card-ca", help="make the card CA (card-ca.crt/.key) and an empty card CRL in DIRECTORY")
    @_DIRECTORY
    def card_ca(directory: Path) -> int:
        try:
            init_card_ca(directory)
        except _ERRORS as err:
            return _fail(err)
        print(f"card CA {directory / CARD_CA_CERT}; card CRL {directory / CARD_CRL} ([card] ca / crl)")
        return 0

    @pki_group.command("card-issue", help="issue a card file (住民票コード, card-face 4情報, PIN-sealed key)")
    @_DIRECTORY
    @_CARD
    @click.option("--code", "juminhyo_code", required=True, help="the holder's 住民票コード")
    @click.option("--name", required=True)
    @click.option("--address", required=True)
    @click.option("--birth", required=True, help="YYYY-MM-DD")
    @click.option("--sex", type=click.Choice(sorted(_SEXES)), required=True)
    @click.option("--pin-stdin", is_flag=True, help="read the PIN from stdin (else a prompt)")
    @click.option("--days", type=int, default=None, help="certificate validity in days (default about 10 years)")
    def card_issue(
        directory: Path, card_file: Path, juminhyo_code: str, name: str, address: str, birth: str, sex: str,
        pin_stdin: bool, days: int | None,
    ) -> int:  # fmt: skip
        if pin_stdin:
            pin = sys.stdin.readline().strip()
        else:
            pin = click.prompt("PIN", hide_input=True, confirmation_prompt=True)
        try:
            face = CardFace(name, address, date.fromisoformat(birth), _SEXES[sex])
            serial = issue_card(directory, card_file, juminhyo_code, face, pin, **({"days": days} if days else {}))
        except _ERRORS as err:
            return _fail(err)
        print(f"issued card {card_file} (0600), certificate serial {serial:x}")
        return 0

    @pki_group.command("card-revoke", help="revoke a card (lost, returned) and re-sign the card CRL")
    @_DIRECTORY
    @_CARD
    def card_revoke(directory: Path, card_file: Path) -> int:
        try:
            serial = revoke_card(directory, card_file)
        except _ERRORS as err:
            return _fail(err)
        print(f"revoked card serial {serial:x}; card CRL re-signed")
        return 0

    @pki_group.command("card-crl", help="re-sign DIRECTORY/card-crl.pem (do it before next_update)")
    @_DIRECTORY
    def card_crl(directory: Path) -> int:
        try:
            path = _write_card_crl(directory)
        except _ERRORS as err:
            return _fail(err)
        print(f"{path} re-signed")
        return 0

    @pki_group.command("card-unlock", help="reset a card file's PIN counter (after the holder proved who they are)")
    @_CARD
    def card_unlock(card_file: Path) -> int:
        try:
            unlock_card(card_file)
        except _ERRORS as err:
            return _fail(err)
        print(f"{card_file}: PIN counter reset")
        return 0
