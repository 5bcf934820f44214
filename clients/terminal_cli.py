"""``cs-terminal``: the counter terminal (統合端末) against the 市町村CS, over mTLS.

One invocation is one operator session: log in (password + TOTP), run the chained steps (then,
with ``--interactive``, read commands line by line: clients/terminal_interactive.py, which locks
the screen after the idle timeout and asks for the password and a fresh code), log out::

    cs-terminal --target localhost:50051 --ca ca.crt --cert terminal.crt --key terminal.key \\
        --operator sato --password-stdin --totp 123456 \\
        lookup 39201748562 \\
        search --name "やまだ たろう" --birth 1985-05-14 \\
        verify-card taro.card

``verify-card [--pin-stdin] CARDFILE`` (options before the file: the steps are chained) asks for
the card's PIN (or reads it from the line after the password with
``--pin-stdin``), has the card sign the CS's nonce and shows the CS's field-by-field comparison of
the card face with the 本人確認情報 (一致 / 相違). Wrong PINs count in the card file and lock it.

Results are tables (rich). Identifiers are masked on screen (domain rule: only the last four
digits); ``--unmask`` shows a 個人番号 in full where the CS disclosed it (role + purpose). Exit
codes: 0 every step answered; 1 a step was refused (its reason printed); 2 login failed, bad
input or the CS unreachable.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import click
import grpc
import pyotp
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from rich.console import Console
from rich.table import Table

from clients.card_client import card_request
from clients.masking import mask_identifier
from cs_gateway.gen.jukinet.cs.v1 import identity_pb2 as pb
from cs_gateway.gen.jukinet.cs.v1 import terminal_service_pb2 as tpb
from cs_gateway.gen.jukinet.cs.v1 import terminal_service_pb2_grpc as tgrpc
from pki.card import CardError

SESSION_METADATA = "x-cs-session"
PURPOSES = {
    "identity-check": tpb.PURPOSE_IDENTITY_CHECK,
    "certificate-issue": tpb.PURPOSE_CERTIFICATE_ISSUE,
    "record-correction": tpb.PURPOSE_RECORD_CORRECTION,
}
SEXES = {"male": pb.SEX_MALE, "female": pb.SEX_FEMALE}
EXIT_OK, EXIT_REFUSED, EXIT_FAILED = 0, 1, 2

Step = Callable[["Session"], bool]  # True: answered; False: refused


def reason_of(err: grpc.RpcError) -> str:
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return err.code().name


class Session:
    def __init__(self, stub: tgrpc.TerminalServiceStub, token: str, console: Console, *, unmask: bool) -> None:
        self.stub = stub
        self.token = token
        self.console = console
        self.unmask = unmask

    @property
    def metadata(self) -> tuple[tuple[str, str]]:
        return ((SESSION_METADATA, self.token),)

    def show(self, title: str, records: Sequence[pb.IdentityRecord], note: str = "") -> None:
        table = Table(title=title, caption=note or None)
        for column in ("住民票コード", "氏名", "ふりがな", "生年月日", "性別", "住所", "個人番号"):
            table.add_column(column)
        for r in records:
            number = r.individual_number
            shown = number if self.unmask and "*" not in number else mask_identifier(number)
            table.add_row(
                mask_identifier(r.juminhyo_code),
                r.name_kanji,
                r.name_kana,
                f"{r.birth_date.year:04d}-{r.birth_date.month:02d}-{r.birth_date.day:02d}",
                {pb.SEX_MALE: "男", pb.SEX_FEMALE: "女"}.get(r.sex, "-"),
                r.address,
                shown,
            )
        self.console.print(table)

    def refused(self, what: str, err: grpc.RpcError) -> bool:
        self.console.print(f"[bold red]refused[/]: {what}: {reason_of(err)} ({err.details()})")
        return False


def _date(value: str | None) -> pb.Date | None:
    if value is None:
        return None
    d = date.fromisoformat(value)
    return pb.Date(year=d.year, month=d.month, day=d.day)


@click.group(chain=True, invoke_without_command=True, help="counter terminal: log in, look up, search")
@click.option("--target", required=True, help="HOST:PORT of the CS")
@click.option("--ca", type=click.Path(path_type=Path, exists=True), required=True)
@click.option("--cert", type=click.Path(path_type=Path, exists=True), required=True, help="terminal certificate")
@click.option("--key", type=click.Path(path_type=Path, exists=True), required=True)
@click.option("--server-name", default="localhost", show_default=True)
@click.option("--operator", "operator_id", required=True)
@click.option("--password-stdin", is_flag=True, help="read the password from stdin")
@click.option("--totp", "totp", default=None, help="the authenticator's 6-digit code")
@click.option("--totp-secret-file", type=click.Path(path_type=Path, exists=True), default=None, help="compute it")
@click.option("--unmask", is_flag=True, help="show a disclosed 個人番号 in full")
@click.option("--timeout", type=float, default=30.0, show_default=True)
@click.option("--interactive", is_flag=True, help="then read commands line by line; locks when idle")
@click.option("--lock-after", type=float, default=None, help="seconds idle before the screen locks (default: the CS's)")
def cli(**_options: Any) -> None:
    pass


def _login(stub: tgrpc.TerminalServiceStub, o: dict[str, Any], password: str, code: str) -> tpb.LoginResponse:
    request = tpb.LoginRequest(operator_id=o["operator_id"], password=password, totp_code=code)
    return stub.Login(request, timeout=o["timeout"])


def _computed_code(o: dict[str, Any]) -> str | None:
    if o["totp_secret_file"] is None:
        return None
    return str(pyotp.TOTP(o["totp_secret_file"].read_text().strip()).at(int(time.time())))


def _logout(stub: tgrpc.TerminalServiceStub, session: Session, timeout: float) -> None:
    try:
        stub.Logout(tpb.LogoutRequest(), metadata=session.metadata, timeout=timeout)
    except grpc.RpcError:
        pass  # the session ended already (idle timeout): nothing to close


def _interactive(
    stub: tgrpc.TerminalServiceStub, session: Session, login: tpb.LoginResponse, o: dict[str, Any]
) -> tuple[Session | None, bool]:
    """The command loop of --interactive (clients/terminal_interactive.py) on this session."""
    from clients import terminal_interactive

    context = click.get_current_context()
    group = context.command
    assert isinstance(group, click.Group)

    def make_step(words: list[str]) -> Step:
        command = group.commands.get(words[0])
        if command is None:
            raise click.UsageError(f"no command {words[0]!r}")
        with command.make_context(words[0], words[1:], parent=context) as sub:
            return command.invoke(sub)  # type: ignore[no-any-return]

    def relogin(password: str, code: str) -> Session | None:
        try:
            answer = _login(stub, o, password, code)
        except grpc.RpcError:
            return None
        return Session(stub, answer.session_token, session.console, unmask=session.unmask)

    io = (context.find_root().obj or {}).get("io")
    lock_after = o["lock_after"] if o["lock_after"] is not None else float(login.idle_timeout_seconds)
    ended, answered = terminal_interactive.run(
        session,
        console=session.console,
        make_step=make_step,  # type: ignore[arg-type]
        relogin=relogin,
        logout=lambda s: _logout(stub, s, o["timeout"]),  # type: ignore[arg-type]
        lock_after_s=lock_after,
        io=io,
        code_source=lambda: _computed_code(o),
    )
    return ended, answered  # type: ignore[return-value]


@cli.result_callback()
def run(steps: list[Step], **o: Any) -> None:
    console = Console(width=None if sys.stdout.isatty() else 160)  # a log or a pipe: wide enough
    password = sys.stdin.readline().rstrip("\n") if o["password_stdin"] else click.prompt("password", hide_input=True)
    code = o["totp"] or _computed_code(o)
    if code is None:
        code = click.prompt("one-time code")
    credentials = grpc.ssl_channel_credentials(
        root_certificates=o["ca"].read_bytes(),
        private_key=o["key"].read_bytes(),
        certificate_chain=o["cert"].read_bytes(),
    )
    options = [("grpc.ssl_target_name_override", o["server_name"])] if o["server_name"] else []
    with grpc.secure_channel(o["target"], credentials, options=options) as channel:
        stub = tgrpc.TerminalServiceStub(channel)
        try:
            login = _login(stub, o, password, code)
        except grpc.RpcError as err:
            console.print(f"[bold red]login failed[/]: {reason_of(err)}")
            raise SystemExit(EXIT_FAILED) from None
        console.print(
            f"logged in as {o['operator_id']} ({login.operator_role}); the session ends after "
            f"{login.idle_timeout_seconds} s idle"
        )
        session: Session | None = Session(stub, login.session_token, console, unmask=o["unmask"])
        try:
            answered = [step(session) for step in steps]  # type: ignore[arg-type]
            if o["interactive"]:
                session, interactive_ok = _interactive(stub, session, login, o)  # type: ignore[arg-type]
                if session is None:
                    raise SystemExit(EXIT_FAILED)  # still locked: no session left
                answered.append(interactive_ok)
        except grpc.RpcError as err:
            console.print(f"[bold red]error[/]: {reason_of(err)}")
            raise SystemExit(EXIT_FAILED) from None
        finally:
            if session is not None:
                _logout(stub, session, o["timeout"])
    raise SystemExit(EXIT_OK if all(answered) else EXIT_REFUSED)


_PURPOSE = click.option("--purpose", type=click.Choice(sorted(PURPOSES)), default="identity-check", show_default=True)


@cli.command("lookup", help="look a person up by the 住民票コード read from the card")
@click.argument("juminhyo_code")
@_PURPOSE
def lookup(juminhyo_code: str, purpose: str) -> Step:
    def step(s: Session) -> bool:
        try:
            answer = s.stub.Lookup(
                tpb.LookupRequest(juminhyo_code=juminhyo_code, purpose=PURPOSES[purpose]), metadata=s.metadata
            )
        except grpc.RpcError as err:
            if err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED):
                raise
            return s.refused(f"lookup {mask_identifier(juminhyo_code)}", err)
        s.show(f"lookup {mask_identifier(juminhyo_code)} ({purpose})", [answer.record])
        return True

    return step


@cli.command("search", help="by 住民票コード, 個人番号, or 氏名 + 住所 / 氏名 + 生年月日 (性別 never counts)")
@click.option("--code", "juminhyo_code", default="")
@click.option("--number", "individual_number", default="")
@click.option("--name", default="")
@click.option("--address", default="")
@click.option("--birth", default=None, help="YYYY-MM-DD")
@click.option("--sex", type=click.Choice(sorted(SEXES)), default=None)
@_PURPOSE
def search(purpose: str, birth: str | None, sex: str | None, **criteria: str) -> Step:
    items = [k for k, v in {**criteria, "birth": birth, "sex": sex}.items() if v]

    def step(s: Session) -> bool:
        request = tpb.SearchRequest(purpose=PURPOSES[purpose], sex=SEXES.get(sex or "", 0), **criteria)
        born = _date(birth)
        if born is not None:
            request.birth_date.CopyFrom(born)
        try:
            answer = s.stub.Search(request, metadata=s.metadata)
        except grpc.RpcError as err:
            if err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED):
                raise
            return s.refused(f"search by {'+'.join(items) or 'nothing'}", err)
        note = "more found: narrow the search" if answer.more_found else f"{len(answer.results)} found"
        s.show(f"search by {'+'.join(items)} ({purpose})", [r.record for r in answer.results], note)
        return True

    return step


FIELD_LABELS = {"name": "氏名", "address": "住所", "birth_date": "生年月日", "sex": "性別"}
_SEX_LABELS = {"1": "男", "2": "女"}


@cli.command("verify-card", help="verify a マイナンバーカード file (PIN) and compare its face with the CS's record")
@click.argument("card_file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--pin-stdin", is_flag=True, help="read the PIN from stdin (the line after the password)")
@_PURPOSE
def verify_card(card_file: Path, pin_stdin: bool, purpose: str) -> Step:
    def step(s: Session) -> bool:
        pin = sys.stdin.readline().rstrip("\n") if pin_stdin else click.prompt("card PIN", hide_input=True)
        try:
            nonce = s.stub.BeginCardCheck(tpb.BeginCardCheckRequest(), metadata=s.metadata).nonce
            request = card_request(card_file, pin, nonce, PURPOSES[purpose])
            answer = s.stub.VerifyCard(request, metadata=s.metadata)
        except CardError as err:
            s.console.print(f"[bold red]card not usable[/]: {err}")
            return False
        except grpc.RpcError as err:
            if err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED):
                raise
            return s.refused(f"card {card_file.name}", err)
        table = Table(title=f"card check {card_file.name} ({purpose}): card face vs 本人確認情報")
        for column in ("項目", "券面", "本人確認情報", "照合"):
            table.add_column(column)
        for c in answer.comparison:
            card_value, cs_value = c.card_value, c.cs_value
            if c.field == "sex":
                card_value, cs_value = _SEX_LABELS.get(card_value, card_value), _SEX_LABELS.get(cs_value, cs_value)
            verdict = "[green]一致 match[/]" if c.match else "[bold red]相違 differs[/]"
            table.add_row(FIELD_LABELS.get(c.field, c.field), card_value, cs_value, verdict)
        s.console.print(table)
        differs = [FIELD_LABELS.get(c.field, c.field) for c in answer.comparison if not c.match]
        note = "card verified; " + ("相違: " + "、".join(differs) if differs else "all match")
        s.show("本人確認情報", [answer.record], note)
        return True

    return step


def main(argv: Sequence[str] | None = None, *, io: Any = None) -> int:
    """``io``: a clients.terminal_interactive.TerminalIO for --interactive (what it reads, asks and
    its clock; a test passes a scripted one with a fake clock), default the real terminal."""
    try:
        cli.main(args=argv, prog_name="cs-terminal", standalone_mode=False, obj={"io": io})
    except SystemExit as done:
        return int(done.code or 0)
    except click.ClickException as err:
        err.show()
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
