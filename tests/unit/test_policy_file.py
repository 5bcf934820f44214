"""The access policy as data: default.toml is clean, every bad example fails with its rule."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from cs_gateway.security.policy_file import (
    RULES,
    Policy,
    PolicyError,
    default_policy_file,
    is_write_method,
    known_methods,
    lint,
    load_policy,
    parse_policy,
    policy_check_main,
)

REPO = Path(__file__).resolve().parents[2]
DEFAULT = REPO / "policy" / "default.toml"
EXAMPLES = sorted((REPO / "policy" / "examples").glob("bad-*.toml"))
ROLES = ("cs", "kizon-juki", "terminal", "prefecture", "jlis", "atena")
NO_EXAMPLE_FILE = {"unreadable"}  # a file that cannot be read cannot be shipped as an example


def _rule_of(example: Path) -> str:
    return example.name.removeprefix("bad-").removesuffix(".toml")


def _methods_of_services_named_in(example: Path) -> frozenset[str]:
    """The served methods of the services an example names: each example is a minimal policy for
    the services it is about (a new service elsewhere does not make every example incomplete)."""
    lines = example.read_text(encoding="utf-8").splitlines()
    services = {line.split('"')[1].rsplit("/", 1)[0] + "/" for line in lines if line.startswith('[rpc."')}
    return frozenset(m for m in known_methods() if any(m.startswith(s) for s in services))


def test_known_methods_come_from_the_generated_descriptors() -> None:
    assert known_methods() == {
        "/jukinet.cs.v1.UpdateService/Apply",
        "/jukinet.cs.v1.UpdateService/ApplyStream",
        "/jukinet.cs.v1.UpdateService/GetRecord",
        "/jukinet.cs.v1.UpdateService/GetHistory",
        "/jukinet.cs.v1.TerminalService/Login",
        "/jukinet.cs.v1.TerminalService/Logout",
        "/jukinet.cs.v1.TerminalService/Lookup",
        "/jukinet.cs.v1.TerminalService/Search",
        "/jukinet.cs.v1.TerminalService/BeginCardCheck",
        "/jukinet.cs.v1.TerminalService/VerifyCard",
        "/jukinet.cs.v1.SofusakiService/Submit",
    }


def test_default_policy_file_is_found() -> None:
    assert default_policy_file() == DEFAULT


def test_default_policy_loads_and_lints_clean() -> None:
    policy = load_policy(DEFAULT, known_methods())
    assert lint(DEFAULT, known_methods()) == []
    assert lint(policy, known_methods()) == []


def test_default_policy_lets_only_kizon_juki_call_update_service() -> None:
    policy = load_policy(DEFAULT, known_methods())
    update_service = {m for m in known_methods() if m.startswith("/jukinet.cs.v1.UpdateService/")}
    assert update_service == {
        "/jukinet.cs.v1.UpdateService/" + name for name in ("Apply", "ApplyStream", "GetRecord", "GetHistory")
    }
    for method in update_service:
        for role in ROLES:
            assert policy.allows(role, method) is (role == "kizon-juki"), (role, method)


def test_default_policy_keeps_atena_off_the_cs() -> None:
    policy = load_policy(DEFAULT)
    segment = policy.segment_of("atena")
    assert segment is not None and not segment.reaches_cs
    assert policy.kind_of("atena") == "in-house"
    assert not any(policy.allows("atena", m) for m in known_methods())
    loopback = policy.segment_of("kizon-juki")
    assert loopback is not None and loopback.reaches_cs and loopback.mac_check == "waived-loopback"


def test_deny_by_default() -> None:
    policy = load_policy(DEFAULT)
    assert not policy.allows("kizon-juki", "/jukinet.cs.v1.UpdateService/Purge")
    assert not policy.allows("kizon-juki", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
    assert not policy.allows("atena", "/grpc.health.v1.Health/Check")
    assert not policy.allows("nobody", "/jukinet.cs.v1.UpdateService/Apply")
    assert not policy.allows("", "")


def test_empty_role_list_denies_everyone() -> None:
    text = DEFAULT.read_text(encoding="utf-8").replace(
        '[rpc."/jukinet.cs.v1.UpdateService/GetHistory"]\nroles = ["kizon-juki"]',
        '[rpc."/jukinet.cs.v1.UpdateService/GetHistory"]\nroles = []',
    )
    policy = parse_policy(text, known_methods())
    assert "/jukinet.cs.v1.UpdateService/GetHistory" in policy.rules
    assert not any(policy.allows(role, "/jukinet.cs.v1.UpdateService/GetHistory") for role in ROLES)


def test_policy_is_immutable() -> None:
    policy = load_policy(DEFAULT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.rules = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.rules["/jukinet.cs.v1.UpdateService/Apply"] = frozenset({"atena"})  # type: ignore[index]
    with pytest.raises(TypeError):
        policy.hosts["evil"] = None  # type: ignore[index]
    assert isinstance(policy.rules["/jukinet.cs.v1.UpdateService/Apply"], frozenset)


def test_lookups() -> None:
    policy = load_policy(DEFAULT)
    host = policy.host("kizon-juki-01")
    assert host is not None and host.role == "kizon-juki"
    assert policy.host("nobody-01") is None
    assert policy.segment_of("nobody") is None


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_each_bad_example_fails_with_its_rule(example: Path) -> None:
    rule = _rule_of(example)
    assert rule in RULES
    known = _methods_of_services_named_in(example)
    problems = lint(example, known)
    assert len(problems) == 1, problems  # each example shows exactly one mistake
    assert problems[0].startswith(f"{rule}: ")
    with pytest.raises(PolicyError) as caught:
        load_policy(example, known)
    assert str(caught.value).startswith(f"{rule}: ")
    assert caught.value.rule == rule


def test_every_rule_has_an_example() -> None:
    assert {_rule_of(p) for p in EXAMPLES} == set(RULES) - NO_EXAMPLE_FILE


def test_error_names_the_offending_entry() -> None:
    with pytest.raises(PolicyError, match=r"^in-house-reaches-cs: roles\.atena .*'office-lan'"):
        load_policy(REPO / "policy" / "examples" / "bad-in-house-reaches-cs.toml")
    with pytest.raises(PolicyError, match=r'^terminal-write-right: rpc\."/jukinet\.cs\.v1\.UpdateService/Apply"'):
        load_policy(REPO / "policy" / "examples" / "bad-terminal-write-right.toml")


def test_method_rules_need_known_methods_only_for_coverage() -> None:
    # Without the served methods, load cannot tell a missing or unknown rule ...
    load_policy(REPO / "policy" / "examples" / "bad-rpc-not-mentioned.toml")
    # ... but a name that is not a gRPC method at all is always wrong.
    text = DEFAULT.read_text(encoding="utf-8") + '\n[rpc."UpdateService.Apply"]\nroles = []\n'
    with pytest.raises(PolicyError, match="^unknown-method: "):
        parse_policy(text)


def test_lint_reports_all_problems(tmp_path: Path) -> None:
    text = (
        DEFAULT.read_text(encoding="utf-8")
        .replace('segment = "atena-lan"', 'segment = "loopback"')  # in-house-reaches-cs
        .replace('cidrs = ["192.0.2.0/24"]', 'cidrs = ["192.0.2.0/33"]')  # bad-cidr
        .replace('[hosts.cs-01]\nrole = "cs"\nmacs = []', '[hosts.cs-01]\nrole = "cs"\nmacs = ["AA:BB:CC:DD:EE:FF"]')
        .replace('GetRecord"]\nroles = ["kizon-juki"]', 'GetRecord"]\nroles = ["kizon-juki", "terminal", "ghost"]')
        .replace('[rpc."/jukinet.cs.v1.UpdateService/Apply"]\nroles = ["kizon-juki"]', "")  # rpc-not-mentioned
    )
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    rules = [p.split(":", 1)[0] for p in lint(path, known_methods())]
    assert sorted(rules) == sorted(
        ["bad-cidr", "in-house-reaches-cs", "bad-mac", "unknown-role", "rpc-not-mentioned"]
        + ["terminal-rpc-without-operator-rule"]  # the terminal on GetRecord, without an operator session
    )
    with pytest.raises(PolicyError) as caught:
        load_policy(path, known_methods())
    assert len(caught.value.problems) == 6
    assert "and 5 more" in str(caught.value)


def test_terminal_may_read_but_not_write() -> None:
    text = DEFAULT.read_text(encoding="utf-8").replace(
        'GetRecord"]\nroles = ["kizon-juki"]',
        'GetRecord"]\nroles = ["kizon-juki", "terminal"]\noperator_roles = ["shokai"]',
    )
    policy = parse_policy(text, known_methods())
    assert policy.allows("terminal", "/jukinet.cs.v1.UpdateService/GetRecord")


@pytest.mark.parametrize(
    ("method", "write"),
    [
        ("/jukinet.cs.v1.UpdateService/Apply", True),
        ("/jukinet.cs.v1.UpdateService/ApplyStream", True),
        ("/jukinet.cs.v1.UpdateService/GetRecord", False),
        ("/jukinet.cs.v1.UpdateService/GetHistory", False),
        ("/jukinet.cs.v1.NoticeService/SubmitNotice", True),
        ("/jukinet.cs.v1.X/DeleteRecord", True),
        ("/jukinet.cs.v1.X/CreateCopy", True),
        ("/jukinet.cs.v1.X/UpdateFlag", True),
        ("/jukinet.cs.v1.UpdateService/Search", False),
    ],
)
def test_write_methods(method: str, write: bool) -> None:
    assert is_write_method(method) is write


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ('kind = "in-house"', 'kind = "inhouse"', "schema"),
        ('mac_check = "waived-loopback"', 'mac_check = "off"', "schema"),
        ("reaches_cs = false", 'reaches_cs = "no"', "schema"),
        ('description = "cs-gateway development policy (loopback only)"', "rpcs = 1", "schema"),
        ('cidrs = ["192.0.2.0/24"]', "cidrs = []", "bad-cidr"),
        ('cidrs = ["192.0.2.0/24"]', 'cidrs = ["atena.example"]', "bad-cidr"),
        ('cidrs = ["127.0.0.0/8", "::1/128"]', 'cidrs = ["127.0.0.0/8", "::/0"]', "mac-waiver-outside-loopback"),
        ('[hosts.cs-01]\nrole = "cs"', '[hosts.cs-01]\nrole = "kizon"', "unknown-role"),
        ("[hosts.cs-01]", "[hosts.CS_01]", "schema"),
        ('role = "cs"\nmacs = []', 'role = "cs"\nmacs = ["01:00:5e:00:00:01"]', "bad-mac"),  # multicast
        ('role = "cs"\nmacs = []', 'role = "cs"\nmacs = ["00:00:00:00:00:00"]', "bad-mac"),
        ('segment = "atena-lan"', 'segment = ""', "role-without-segment"),
    ],
)
def test_variations_of_default(old: str, new: str, rule: str) -> None:
    text = DEFAULT.read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(PolicyError) as caught:
        parse_policy(text.replace(old, new, 1), known_methods())
    assert caught.value.rule == rule, caught.value.problems


def test_unreadable_file(tmp_path: Path) -> None:
    problems = lint(tmp_path / "missing.toml", known_methods())
    assert len(problems) == 1 and problems[0].startswith("unreadable: ")
    with pytest.raises(PolicyError, match="^unreadable: "):
        load_policy(tmp_path / "missing.toml")


def test_policy_check_main(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert policy_check_main(DEFAULT) == 0
    assert capsys.readouterr().out == "OK\n"
    bad = tmp_path / "bad.toml"  # the default with one mistake (it covers every served method)
    bad.write_text(DEFAULT.read_text(encoding="utf-8").replace('segment = "atena-lan"', 'segment = "loopback"'))
    assert policy_check_main(bad) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("policy: in-house-reaches-cs: roles.atena")


def test_lint_accepts_a_policy_object() -> None:
    policy: Policy = load_policy(DEFAULT)
    assert lint(policy, known_methods() | {"/jukinet.cs.v1.UpdateService/Search"}) == [
        'rpc-not-mentioned: rpc."/jukinet.cs.v1.UpdateService/Search": no rule; add one (roles = [] to deny it to '
        "everyone)"
    ]


def test_default_policy_lets_every_role_that_reaches_the_cs_call_health() -> None:
    policy = load_policy(DEFAULT, known_methods())
    for method in ("/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"):
        for role in ROLES:
            assert policy.allows(role, method) is (policy.kind_of(role) != "in-house"), (role, method)


def test_health_rules_are_accepted_but_not_required() -> None:
    text = DEFAULT.read_text(encoding="utf-8")
    start = text.index('[rpc."/grpc.health.v1.Health/Check"]')
    without = text[:start]
    policy = parse_policy(without, known_methods())  # no rpc-not-mentioned for the standard methods
    assert not policy.allows("kizon-juki", "/grpc.health.v1.Health/Check")
    misspelt = text + '\n[rpc."/grpc.health.v1.Health/Chek"]\nroles = []\n'
    with pytest.raises(PolicyError, match="^unknown-method: "):
        parse_policy(misspelt, known_methods())
