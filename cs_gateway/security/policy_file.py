"""The gateway's access policy as data: one TOML file, validated at load, deny by default.

The file holds four tables (see policy/default.toml):

* ``[roles.<role>]``: ``kind`` (what the peer is, see KINDS), ``segment`` (where it sits) and
  optionally ``issuers``: the issuing CAs that may certify the role, each the SHA-256 of the CA's
  SubjectPublicKeyInfo (64 hex digits) or ``"default"`` (the CA of the gateway's
  ``tls.crl_issuer``, which is what a role without ``issuers`` gets);
* ``[segments.<name>]``: ``cidrs``, ``reaches_cs`` (may this segment reach the CS at all) and
  ``mac_check`` (``"required"``, or ``"waived-loopback"`` for a segment that is only loopback);
* ``[hosts.<host>]``: the <host> label of a certificate's SPIFFE ID -> ``role`` and ``macs``;
* ``[rpc."<full method>"]``: ``roles`` that may call it (``[]`` = explicitly nobody), and for a
  method a terminal may call, ``operator_roles``: the operator roles whose session it needs
  (every terminal RPC but Login and the health service must say so);
* ``[operator_roles.<name>]``: the counter operators' roles (照会 only; 照会 and 証明; admin).

A method without a rule is refused to everyone. Every problem is reported as
``<rule>: <message naming the entry>``; RULES lists the rule names. ``load_policy`` raises
PolicyError on the first problem, ``lint`` returns all of them, ``policy_check_main`` prints them.

Rule 7 of the domain brief (seed III(2)-3): no link with the 宛名管理システム, only 既存住基 may
reach the CS; rule 1: only 既存住基 writes. Those are checked here, not left to review.
"""

from __future__ import annotations

import importlib
import ipaddress
import pkgutil
import re
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, get_args

Kind = Literal["kizon-juki", "terminal", "peer-server", "self", "in-house"]
MacCheck = Literal["required", "waived-loopback"]
KINDS: frozenset[str] = frozenset(get_args(Kind))
MAC_CHECKS: frozenset[str] = frozenset(get_args(MacCheck))

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

GENERATED_PACKAGE = "cs_gateway.gen.jukinet.cs.v1"
UPDATE_SERVICE = "/jukinet.cs.v1.UpdateService/"
WRITE_METHODS: frozenset[str] = frozenset({UPDATE_SERVICE + "Apply", UPDATE_SERVICE + "ApplyStream"})
WRITE_VERBS: tuple[str, ...] = ("Apply", "Submit", "Update", "Delete", "Create")
# Standard services the gateway serves beside its own (not in the generated descriptors): a rule
# may name them; without one they are denied like any method without a rule.
STANDARD_METHODS: frozenset[str] = frozenset({"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"})

# The policy shipped with the gateway: in a source checkout or editable install, policy/ next to
# cs_gateway/; in an installed wheel, <prefix>/share/cs-gateway/policy/ (when packaged as data files).
DEFAULT_POLICY_FILE = Path(__file__).resolve().parents[2] / "policy" / "default.toml"
INSTALLED_POLICY_FILE = Path(sys.prefix) / "share" / "cs-gateway" / "policy" / "default.toml"

RULES: dict[str, str] = {
    "unreadable": "the policy file cannot be read",
    "toml-syntax": "the file is not valid TOML",
    "schema": "a table or key is missing, unknown or of the wrong type",
    "role-without-segment": "a role has no segment",
    "unknown-segment": "a role names a segment that is not defined",
    "unknown-role": "an RPC rule or a host names a role that is not defined",
    "in-house-reaches-cs": "an in-house role (宛名管理システム etc.) sits on a segment with reaches_cs = true",
    "in-house-rpc-right": "an in-house role is listed on an RPC",
    "terminal-write-right": "a terminal-kind role is listed on a write RPC",
    "write-right-not-kizon-juki": "a role other than kizon-juki/terminal kind is listed on a write RPC",
    "bad-cidr": "a segment CIDR is not a network address (or the segment has none)",
    "segment-overlap": "two segments share addresses, so an address does not tell the segment",
    "mac-waiver-outside-loopback": "mac_check is waived on a segment that has a non-loopback CIDR",
    "bad-issuer-pin": 'a role\'s issuers entry is neither "default" nor a 64-hex-digit SPKI SHA-256',
    "bad-mac": "a host MAC is not a lowercase unicast aa:bb:cc:dd:ee:ff",
    "rpc-not-mentioned": "a method the gateway serves has no rule (decide it explicitly, [] = nobody)",
    "unknown-method": "a rule names a method the gateway does not serve",
    "terminal-rpc-without-operator-rule": "a terminal may call an RPC whose rule has no operator_roles",
    "unknown-operator-role": "an RPC rule names an operator role that is not under [operator_roles]",
}
# Terminal RPCs that need no operator session: Login opens one; the health service is standard.
SESSIONLESS_METHODS: frozenset[str] = frozenset({"/jukinet.cs.v1.TerminalService/Login"}) | STANDARD_METHODS

_LABEL = re.compile(r"[a-z0-9-]{1,63}")  # a SPIFFE path segment (security/identity.py)
_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
_METHOD = re.compile(r"/[A-Za-z_][A-Za-z0-9_.]*/[A-Za-z_][A-Za-z0-9_]*")

_TOP_KEYS = frozenset({"description", "roles", "segments", "hosts", "rpc", "operator_roles"})
_ROLE_KEYS = frozenset({"description", "kind", "segment", "issuers"})
_PIN = re.compile(r"[0-9a-f]{64}")
DEFAULT_ISSUER = "default"
_SEGMENT_KEYS = frozenset({"description", "cidrs", "reaches_cs", "mac_check"})
_HOST_KEYS = frozenset({"description", "role", "macs"})
_RULE_KEYS = frozenset({"description", "roles", "operator_roles"})


class PolicyError(Exception):
    """The policy file is unusable; the message starts with the rule name and names the entry."""

    def __init__(self, message: str, *, rule: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.rule = rule
        self.problems = problems or (message,)


@dataclass(frozen=True)
class Role:
    name: str
    kind: Kind
    segment: str
    issuers: frozenset[str] = frozenset({DEFAULT_ISSUER})  # SPKI SHA-256 pins, or "default"


@dataclass(frozen=True)
class Segment:
    name: str
    networks: tuple[IPNetwork, ...]
    reaches_cs: bool
    mac_check: MacCheck

    def contains(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.networks)


@dataclass(frozen=True)
class Host:
    name: str
    role: str
    macs: frozenset[str]


@dataclass(frozen=True)
class Policy:
    """Immutable, validated policy. ``allows`` has the contract of security.policy.RpcPolicy."""

    roles: Mapping[str, Role]
    segments: Mapping[str, Segment]
    hosts: Mapping[str, Host]
    rules: Mapping[str, frozenset[str]]
    source: str = field(default="<policy>", compare=False)
    # method -> the operator roles whose session it needs (methods absent: no session needed)
    operator_rules: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    operator_roles: frozenset[str] = frozenset()

    def operator_roles_for(self, method: str) -> frozenset[str] | None:
        """The operator roles whose session ``method`` needs; None: it needs no session."""
        return self.operator_rules.get(method)

    def allows(self, role: str, method: str) -> bool:
        return role in self.rules.get(method, frozenset())

    def segment_of(self, role: str) -> Segment | None:
        entry = self.roles.get(role)
        return None if entry is None else self.segments.get(entry.segment)

    def host(self, name: str) -> Host | None:
        return self.hosts.get(name)

    def issuer_pins(self) -> dict[str, frozenset[str]]:
        """role -> the issuing CAs that may certify it (SPKI SHA-256 hex, or "default")."""
        return {name: role.issuers for name, role in self.roles.items()}

    def kind_of(self, role: str) -> Kind | None:
        entry = self.roles.get(role)
        return None if entry is None else entry.kind


def is_write_method(method: str) -> bool:
    """Apply/ApplyStream of UpdateService, and any method named Apply*/Submit*/Update*/Delete*/Create*."""
    return method in WRITE_METHODS or method.rpartition("/")[2].startswith(WRITE_VERBS)


def default_policy_file() -> Path:
    """The packaged default policy: the source tree's, else the installed one. When neither
    exists the source-tree path is returned, so that loading it fails naming that path."""
    for candidate in (DEFAULT_POLICY_FILE, INSTALLED_POLICY_FILE):
        if candidate.is_file():
            return candidate
    return DEFAULT_POLICY_FILE


# Services of the peers that the CS calls as a client and never serves (the 都道府県サーバー's
# receiving side): not methods of the gateway, so the policy neither needs nor accepts them.
PEER_SERVICES = frozenset({"jukinet.cs.v1.PrefectureService", "jukinet.cs.v1.CardManagementService"})


def known_methods() -> frozenset[str]:
    """Every RPC of every service the gateway serves, from the generated *_pb2 modules (full gRPC
    method names); the peers' services (PEER_SERVICES) excepted."""
    package = importlib.import_module(GENERATED_PACKAGE)
    methods: set[str] = set()
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(f"{GENERATED_PACKAGE}.{info.name}")
        for service in module.DESCRIPTOR.services_by_name.values():
            if service.full_name in PEER_SERVICES:
                continue
            methods.update(f"/{service.full_name}/{m.name}" for m in service.methods)
    return frozenset(methods)


_generated_methods = known_methods  # the parameters below are named known_methods too


# ---------------------------------------------------------------- loading


def load_policy(path: Path | str, known_methods: frozenset[str] | None = None) -> Policy:
    """Read and validate one policy file. With ``known_methods`` (see known_methods()) the rules
    must also cover exactly the served methods. Raises PolicyError on the first problem."""
    path = Path(path)
    draft, problems = _read(path)
    return _finish(draft, problems, known_methods, str(path))


def parse_policy(text: str, known_methods: frozenset[str] | None = None, *, source: str = "<policy>") -> Policy:
    """Like load_policy, from TOML text."""
    draft, problems = _parse_text(text)
    return _finish(draft, problems, known_methods, source)


def lint(policy_or_path: Policy | Path | str, known_methods: frozenset[str] | None = None) -> list[str]:
    """All problems (``"<rule>: <message>"``), in file order; [] when the policy is clean.
    ``known_methods`` defaults to the methods of the generated descriptors."""
    known = _generated_methods() if known_methods is None else known_methods
    if isinstance(policy_or_path, Policy):
        draft, problems = _draft_of(policy_or_path), []
    else:
        draft, problems = _read(Path(policy_or_path))
    if draft is None:  # unreadable: nothing more to check
        return [str(p) for p in problems]
    return [str(p) for p in problems + _check(draft, known)]


def policy_check_main(path: Path) -> int:
    """``cs-gateway policy check FILE``: one ``policy: <rule>: <message>`` line per problem."""
    problems = lint(path)
    for problem in problems:
        print(f"policy: {problem}")
    if problems:
        return 1
    print("OK")
    return 0


# ---------------------------------------------------------------- internals


@dataclass(frozen=True)
class _Problem:
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


@dataclass
class _Draft:
    """The file's content with every well-typed value kept (None where a value was unusable)."""

    roles: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # kind, segment
    segments: dict[str, tuple[list[str], bool | None, str | None]] = field(default_factory=dict)
    hosts: dict[str, tuple[str | None, list[str]]] = field(default_factory=dict)  # role, macs
    rules: dict[str, list[str]] = field(default_factory=dict)
    issuers: dict[str, list[str]] = field(default_factory=dict)  # role -> pins, when the file gives them
    operator_rules: dict[str, list[str]] = field(default_factory=dict)  # method -> operator roles
    operator_roles: list[str] = field(default_factory=list)


def _finish(draft: _Draft | None, problems: list[_Problem], known: frozenset[str] | None, source: str) -> Policy:
    if draft is not None:
        problems = problems + _check(draft, known)
    if problems:
        first = problems[0]
        message = str(first)
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more; run: cs-gateway policy check {source})"
        raise PolicyError(f"{message} [{source}]", rule=first.rule, problems=tuple(str(p) for p in problems))
    assert draft is not None
    return _build(draft, source)


def _read(path: Path) -> tuple[_Draft | None, list[_Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        return None, [_Problem("unreadable", f"{path}: cannot read the policy file ({err.strerror or err})")]
    except UnicodeDecodeError:
        return None, [_Problem("toml-syntax", f"{path}: not UTF-8")]
    return _parse_text(text)


def _parse_text(text: str) -> tuple[_Draft | None, list[_Problem]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        return None, [_Problem("toml-syntax", f"not valid TOML: {err}")]
    return _parse(data)


def _parse(data: dict[str, Any]) -> tuple[_Draft, list[_Problem]]:
    draft, problems = _Draft(), []
    bad = problems.append
    for key in data:
        if key not in _TOP_KEYS:
            bad(_Problem("schema", f"{key}: unknown top-level key (expected {', '.join(sorted(_TOP_KEYS))})"))
    if not isinstance(data.get("description", ""), str):
        bad(_Problem("schema", "description: must be a string"))

    for name, entry in _tables(data, "roles", _ROLE_KEYS, problems):
        where = f"roles.{name}"
        if not _LABEL.fullmatch(name):
            bad(_Problem("schema", f"{where}: a role name must be 1-63 chars of [a-z0-9-] (as in a SPIFFE ID)"))
        kind = entry.get("kind")
        if kind not in KINDS:
            bad(_Problem("schema", f"{where}.kind: {kind!r} must be one of {', '.join(sorted(KINDS))}"))
            kind = None
        segment = entry.get("segment")
        if segment is not None and not isinstance(segment, str):
            bad(_Problem("schema", f"{where}.segment: must be a string"))
            segment = None
        draft.roles[name] = (kind, segment or None)
        if "issuers" in entry:
            pins = _string_list(entry, "issuers", where, problems)
            if pins is not None:
                draft.issuers[name] = pins

    for name, entry in _tables(data, "segments", _SEGMENT_KEYS, problems):
        where = f"segments.{name}"
        cidrs = _string_list(entry, "cidrs", where, problems)
        reaches = entry.get("reaches_cs")
        if not isinstance(reaches, bool):
            bad(_Problem("schema", f"{where}.reaches_cs: required, must be true or false"))
            reaches = None
        mac_check = entry.get("mac_check")
        if mac_check not in MAC_CHECKS:
            bad(_Problem("schema", f"{where}.mac_check: {mac_check!r} must be one of {', '.join(sorted(MAC_CHECKS))}"))
            mac_check = None
        draft.segments[name] = (cidrs if cidrs is not None else [], reaches, mac_check)

    for name, entry in _tables(data, "hosts", _HOST_KEYS, problems):
        where = f"hosts.{name}"
        if not _LABEL.fullmatch(name):
            bad(_Problem("schema", f"{where}: a host name must be 1-63 chars of [a-z0-9-] (as in a SPIFFE ID)"))
        role = entry.get("role")
        if not isinstance(role, str) or not role:
            bad(_Problem("schema", f"{where}.role: required, must be a role name"))
            role = None
        macs = _string_list(entry, "macs", where, problems, required=False)
        draft.hosts[name] = (role, macs or [])

    for method, entry in _tables(data, "rpc", _RULE_KEYS, problems):
        roles = _string_list(entry, "roles", f'rpc."{method}"', problems)
        draft.rules[method] = roles if roles is not None else []
        if "operator_roles" in entry:
            operator_roles = _string_list(entry, "operator_roles", f'rpc."{method}"', problems)
            draft.operator_rules[method] = operator_roles if operator_roles is not None else []
    draft.operator_roles = [name for name, _ in _tables(data, "operator_roles", frozenset({"description"}), problems)]
    return draft, problems


def _tables(
    data: dict[str, Any], section: str, allowed: frozenset[str], problems: list[_Problem]
) -> Iterable[tuple[str, dict[str, Any]]]:
    value = data.get(section, {})
    if not isinstance(value, dict):
        problems.append(_Problem("schema", f"{section}: must be a table"))
        return
    for name, entry in value.items():
        where = f'{section}."{name}"' if section == "rpc" else f"{section}.{name}"
        if not isinstance(entry, dict):
            problems.append(_Problem("schema", f"{where}: must be a table"))
            continue
        for key in entry:
            if key not in allowed:
                problems.append(_Problem("schema", f"{where}.{key}: unknown key"))
        if not isinstance(entry.get("description", ""), str):
            problems.append(_Problem("schema", f"{where}.description: must be a string"))
        yield name, entry


def _string_list(
    entry: dict[str, Any], key: str, where: str, problems: list[_Problem], *, required: bool = True
) -> list[str] | None:
    value = entry.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        need = "required, must" if required else "must"
        problems.append(_Problem("schema", f"{where}.{key}: {need} be a list of strings"))
        return None
    return value


def _check(draft: _Draft, known: frozenset[str] | None) -> list[_Problem]:
    out: list[_Problem] = []
    bad = out.append

    networks: dict[str, list[IPNetwork]] = {}
    for name, (cidrs, _reaches, mac_check) in draft.segments.items():
        nets = networks.setdefault(name, [])
        if not cidrs:
            bad(_Problem("bad-cidr", f"segments.{name}.cidrs: a segment needs at least one CIDR"))
        for i, cidr in enumerate(cidrs):
            try:
                nets.append(ipaddress.ip_network(cidr, strict=True))
            except ValueError as err:
                bad(_Problem("bad-cidr", f"segments.{name}.cidrs[{i}]: {cidr!r} is not a network address ({err})"))
        if mac_check == "waived-loopback":
            outside = [str(n) for n in nets if not n.is_loopback]
            if outside:
                bad(
                    _Problem(
                        "mac-waiver-outside-loopback",
                        f"segments.{name}: mac_check is waived but {', '.join(outside)} is not loopback",
                    )
                )
    names = list(networks)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            for a in networks[first]:
                for b in networks[second]:
                    if a.version == b.version and a.overlaps(b):
                        bad(_Problem("segment-overlap", f"segments.{first} ({a}) and segments.{second} ({b}) overlap"))

    for name, (kind, segment) in draft.roles.items():
        if segment is None:
            bad(_Problem("role-without-segment", f"roles.{name} has no segment"))
        elif segment not in draft.segments:
            bad(_Problem("unknown-segment", f"roles.{name}.segment: {segment!r} is not defined under [segments]"))
        elif kind == "in-house" and draft.segments[segment][1] is True:
            bad(
                _Problem(
                    "in-house-reaches-cs",
                    f"roles.{name} is an in-house system but its segment {segment!r} has reaches_cs = true "
                    "(no link with the 宛名管理システム; only 既存住基 may reach the CS)",
                )
            )

    for name, pins in draft.issuers.items():
        if not pins:
            bad(_Problem("bad-issuer-pin", f"roles.{name}.issuers: empty (leave it out for the default issuer)"))
        for i, pin in enumerate(pins):
            if pin != DEFAULT_ISSUER and not _PIN.fullmatch(pin):
                bad(
                    _Problem(
                        "bad-issuer-pin",
                        f"roles.{name}.issuers[{i}]: {pin!r} is neither {DEFAULT_ISSUER!r} "
                        "nor the SPKI SHA-256 of a CA (64 lowercase hex digits)",
                    )
                )

    for name, (role, macs) in draft.hosts.items():
        if role is not None and role not in draft.roles:
            bad(_Problem("unknown-role", f"hosts.{name}.role: {role!r} is not defined under [roles]"))
        for i, mac in enumerate(macs):
            if not _MAC.fullmatch(mac) or mac == "00:00:00:00:00:00" or int(mac[:2], 16) & 1:
                bad(_Problem("bad-mac", f"hosts.{name}.macs[{i}]: {mac!r} is not lowercase unicast aa:bb:cc:dd:ee:ff"))

    for method, roles in draft.rules.items():
        where = f'rpc."{method}"'
        if not _METHOD.fullmatch(method):
            bad(_Problem("unknown-method", f"{where}: not a full gRPC method name /package.Service/Method"))
        elif known is not None and method not in known and method not in STANDARD_METHODS:
            bad(_Problem("unknown-method", f"{where}: the gateway serves no such method"))
        write = is_write_method(method)
        for role in roles:
            if role not in draft.roles:
                bad(_Problem("unknown-role", f"{where}.roles: {role!r} is not defined under [roles]"))
                continue
            kind = draft.roles[role][0]
            if kind == "in-house":
                bad(_Problem("in-house-rpc-right", f"{where}.roles: {role!r} is an in-house system; it gets no RPC"))
            elif write and kind == "terminal":
                bad(_Problem("terminal-write-right", f"{where}.roles: {role!r} is a terminal; terminals never write"))
            elif write and kind not in ("kizon-juki", None):
                bad(
                    _Problem(
                        "write-right-not-kizon-juki",
                        f"{where}.roles: {role!r} is {kind}; only 既存住基 (kind kizon-juki) writes",
                    )
                )

        terminal = any(draft.roles.get(role, (None, None))[0] == "terminal" for role in roles)
        if terminal and not write and method not in SESSIONLESS_METHODS and not draft.operator_rules.get(method):
            bad(
                _Problem(
                    "terminal-rpc-without-operator-rule",
                    f"{where}: a terminal may call it but operator_roles is missing or empty",
                )
            )
        for operator_role in draft.operator_rules.get(method, []):
            if operator_role not in draft.operator_roles:
                bad(
                    _Problem(
                        "unknown-operator-role",
                        f"{where}.operator_roles: {operator_role!r} is not defined under [operator_roles]",
                    )
                )

    if known is not None:
        for method in sorted(known - draft.rules.keys()):
            bad(_Problem("rpc-not-mentioned", f'rpc."{method}": no rule; add one (roles = [] to deny it to everyone)'))
    return out


def _build(draft: _Draft, source: str) -> Policy:
    roles = {
        name: Role(name, kind, segment, frozenset(draft.issuers.get(name, (DEFAULT_ISSUER,))))  # type: ignore[arg-type]
        for name, (kind, segment) in draft.roles.items()
    }
    segments = {
        name: Segment(name, tuple(ipaddress.ip_network(c) for c in cidrs), bool(reaches), mac_check)  # type: ignore[arg-type]
        for name, (cidrs, reaches, mac_check) in draft.segments.items()
    }
    hosts = {name: Host(name, role, frozenset(macs)) for name, (role, macs) in draft.hosts.items()}  # type: ignore[arg-type]
    rules = {method: frozenset(roles_) for method, roles_ in draft.rules.items()}
    return Policy(
        roles=MappingProxyType(roles),
        segments=MappingProxyType(segments),
        hosts=MappingProxyType(hosts),
        rules=MappingProxyType(rules),
        source=source,
        operator_rules=MappingProxyType({m: frozenset(r) for m, r in draft.operator_rules.items()}),
        operator_roles=frozenset(draft.operator_roles),
    )


def _draft_of(policy: Policy) -> _Draft:
    return _Draft(
        roles={r.name: (r.kind, r.segment) for r in policy.roles.values()},
        segments={s.name: ([str(n) for n in s.networks], s.reaches_cs, s.mac_check) for s in policy.segments.values()},
        hosts={h.name: (h.role, sorted(h.macs)) for h in policy.hosts.values()},
        rules={method: sorted(roles) for method, roles in policy.rules.items()},
        issuers={r.name: sorted(r.issuers) for r in policy.roles.values() if r.issuers != {DEFAULT_ISSUER}},
        operator_rules={method: sorted(r) for method, r in policy.operator_rules.items()},
        operator_roles=sorted(policy.operator_roles),
    )
